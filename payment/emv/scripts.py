"""Issuer scripts (device code, sans-I/O): EMV Book 3 §10.10, Book 4 §6.3.9 and Annex A5.

    results = yield from perform(scripts, 0x71, tvr, tsi)   # before the second GENERATE AC
    results += yield from perform(scripts, 0x72, tvr, tsi)  # after it

The issuer's answer may carry scripts: templates ``71`` (to run before the final GENERATE AC)
and ``72`` (after it), each with an optional script identifier (``9F18``, 4 bytes) and the
commands (``86``, each a whole C-APDU the issuer made and MACed; the terminal passes it on
unread). The commands of a script go to the card in order; an answer whose SW1 is not 90, 62
or 63 ends that script: "script processing failed before/after final GENERATE AC" in the TVR,
and the next script is run all the same. A template that does not parse is a failed script
too, none of its commands sent. Each script run leaves its Issuer Script Results entry (5
bytes: high nibble 2 successful, 1 failed; low nibble the failed command's number (1-14), 0
otherwise; then the script identifier, or zeros), and the TSI says "script processing
performed". The results (``9F5B``) go to the journal with the outcome.
"""

from core.errors import ProtocolError
from payment.emv import tvr as bits
from payment.emv.apdu import exchange
from payment.emv.tlv import items

FAILED_BIT = {0x71: bits.SCRIPT_FAILED_BEFORE, 0x72: bits.SCRIPT_FAILED_AFTER}
SUCCESSFUL, FAILED = 0x20, 0x10


def _script(body):
    """``(identifier, [command, ...])`` of one template's value."""
    ident, commands = bytes(4), []
    for tag, value in items(body):
        if tag == 0x9F18 and len(value) == 4:
            ident = value
        elif tag == 0x86 and len(value) >= 4:
            commands.append(value)
        else:
            raise ProtocolError("issuer script: unexpected %X of %d bytes" % (tag, len(value)))
    return ident, commands


def perform(scripts, template, tvr, tsi):
    """The step: run every script of ``template`` (0x71 or 0x72) in ``scripts`` (the
    templates as the host sent them); returns their results (bytes, 5 per script)."""
    try:
        found = [value for tag, value in items(scripts) if tag == template]
    except ProtocolError:
        found = [None]  # the host's field does not parse: one failed script, nothing sent
    results = b""
    for body in found:
        tsi.set(bits.SCRIPT_PERFORMED)
        try:
            if body is None:
                raise ProtocolError("issuer scripts do not parse")
            ident, commands = _script(body)
        except ProtocolError:
            tvr.set(FAILED_BIT[template])
            results += bytes((FAILED,)) + bytes(4)
            continue
        status = SUCCESSFUL
        for n, command in enumerate(commands):
            _, sw = yield from exchange(command)
            if sw >> 8 not in (0x90, 0x62, 0x63):
                tvr.set(FAILED_BIT[template])
                status = FAILED | min(n + 1, 0x0E)
                break
        results += bytes((status,)) + ident
    return results
