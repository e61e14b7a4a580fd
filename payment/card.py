"""Reading a payment card: the first steps of every EMV transaction (device code, sans-I/O).

    info = await run(read(terminal.aids, contactless=True), reader)   # payment.emv.runner
    # {"aid": "A0000000041010", "label": "MASTERCARD", "scheme": "mastercard",
    #  "pan": "************0434", "expiry": "2912"}

Steps: application selection (``payment.emv.selection``: the PPSE on the contactless slot, the
PSE or the terminal's AID list on the chip), GET PROCESSING OPTIONS with the PDOL's values
(``payment.emv.dol``), READ RECORD of every record the AFL names, and from the records the PAN
(``5A``, or the track 2 equivalent ``57``) and the expiry date (``5F24``). The PAN leaves this
module masked (last four digits only): the full number is never stored or logged. A card
answer that is not BER-TLV, lacks what it must hold or refuses a command is ``ProtocolError``;
a card pulled in between is the reader's ``CardRemoved``.
"""

import binascii

from core.errors import ProtocolError
from payment.emv import dol, selection
from payment.emv.apdu import command, get_processing_options, read_record
from payment.emv.tlv import find, flatten

# What the terminal puts in a PDOL before an amount is known (Germany, EUR, purchase).
TERMINAL_DATA = {0x9F1A: b"\x02\x76", 0x5F2A: b"\x09\x78", 0x9C: b"\x00"}


def mask_pan(pan):
    return "*" * (len(pan) - 4) + pan[-4:]


def afl_entries(afl):
    """(SFI, first record, last record) of each 4-byte AFL entry; a malformed AFL is an error."""
    if not afl or len(afl) % 4:
        raise ProtocolError("AFL of %d bytes is not a list of 4-byte entries" % len(afl or b""))
    out = []
    for i in range(0, len(afl), 4):
        sfi, first, last, oda = afl[i] >> 3, afl[i + 1], afl[i + 2], afl[i + 3]
        if not 1 <= sfi <= 30 or first < 1 or last < first or oda > last - first + 1:
            raise ProtocolError("AFL entry %s is not valid" % binascii.hexlify(afl[i : i + 4]).decode())
        out.append((sfi, first, last))
    return out


def processing_options(answer):
    """(AIP, AFL) from a GPO answer: format 1 (``80``) or format 2 (``77``)."""
    body = find(answer, (0x80,))
    if body is not None:
        if len(body) < 6:
            raise ProtocolError("GPO answer (format 1) too short")
        return body[:2], body[2:]
    template = find(answer, (0x77,))
    if template is None:
        raise ProtocolError("GPO answer is neither format 1 (80) nor format 2 (77)")
    data = flatten(template)
    if 0x82 not in data or 0x94 not in data:
        raise ProtocolError("GPO answer lacks the AIP (82) or the AFL (94)")
    return data[0x82], data[0x94]


def _pan(records):
    pan = records.get(0x5A)
    if pan is not None:
        digits = binascii.hexlify(pan).decode().upper().rstrip("F")
    else:
        track2 = records.get(0x57)
        if track2 is None:
            raise ProtocolError("card records have no PAN (5A) and no track 2 (57)")
        digits = binascii.hexlify(track2).decode().upper().split("D")[0]
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise ProtocolError("card PAN is not 12..19 digits")
    return digits


def read(terminal_aids, contactless=False, values=None):
    """The step: select, GPO, read the records; returns the card's masked summary."""
    chosen = yield from (selection.contactless if contactless else selection.contact)(terminal_aids)
    pdol = dol.parse(chosen.pdol) if chosen.pdol else []
    data = dol.build(pdol, values if values is not None else TERMINAL_DATA)
    answer = yield from command(get_processing_options(data), "GET PROCESSING OPTIONS")
    _, afl = processing_options(answer)
    records = {}
    for sfi, first, last in afl_entries(afl):
        for number in range(first, last + 1):
            rec = yield from command(read_record(sfi, number), "READ RECORD")
            body = find(rec, (0x70,))
            if body is None:
                raise ProtocolError("record %d of SFI %d is not a 70 template" % (number, sfi))
            flatten(body, records)
    expiry = records.get(0x5F24)
    if not expiry or len(expiry) != 3:
        raise ProtocolError("card records have no expiry date (5F24)")
    return {
        "aid": binascii.hexlify(chosen.aid).decode().upper(),
        "label": chosen.label,
        "scheme": chosen.terminal_aid.scheme,
        "pan": mask_pan(_pan(records)),
        "expiry": binascii.hexlify(expiry).decode()[:4],
    }


async def read_card(reader, terminal_aids):
    """Power the card in ``reader`` on, read it (``read``) and power it off again."""
    from payment.emv.runner import run

    await reader.power_on()
    try:
        return await run(read(terminal_aids, reader.caps.contactless), reader)
    finally:
        await reader.power_off()
