"""Data Object Lists (EMV Book 3 §5.4): PDOL, CDOL1, CDOL2, DDOL, TDOL. Device code, no I/O.

    dol = parse(card["9F38"])                    # [(0x9F66, 4), (0x9F02, 6), ...]
    data = build(dol, {0x9F02: bcd(1250, 6), 0x9F1A: b"\\x02\\x76"})   # the values, in order

A DOL is a list of tags with the length the card wants; the terminal answers with the values
only, concatenated in the list's order, each fitted to its length by its format:

- shorter than asked: numeric (``n``) gets leading zero bytes, compressed numeric (``cn``)
  trailing ``FF`` bytes, anything else trailing zero bytes;
- longer than asked: ``n`` loses its leftmost bytes, anything else its rightmost bytes;
- a tag the terminal does not know, or a constructed one, is that many zero bytes.

``FORMATS`` names the ``n`` and ``cn`` objects a terminal fills (Book 3 Annex A); every other
tag is fitted as binary.
"""

import binascii

from core.errors import ProtocolError
from payment.emv.tlv import constructed, read_length, read_tag

NUMERIC = "n"
COMPRESSED = "cn"

# Annex A data elements whose format is n or cn (the rest a terminal sends are b, an or ans,
# which are all fitted alike).
FORMATS = {
    0x5A: COMPRESSED,  # PAN
    0x5F24: NUMERIC,  # application expiration date YYMMDD
    0x5F25: NUMERIC,  # application effective date
    0x5F28: NUMERIC,  # issuer country code
    0x5F2A: NUMERIC,  # transaction currency code
    0x5F34: NUMERIC,  # PAN sequence number
    0x5F36: NUMERIC,  # transaction currency exponent
    0x9A: NUMERIC,  # transaction date YYMMDD
    0x9C: NUMERIC,  # transaction type
    0x9F01: NUMERIC,  # acquirer identifier
    0x9F02: NUMERIC,  # amount, authorised
    0x9F03: NUMERIC,  # amount, other
    0x9F11: NUMERIC,  # issuer code table index
    0x9F15: NUMERIC,  # merchant category code
    0x9F1A: NUMERIC,  # terminal country code
    0x9F20: COMPRESSED,  # track 2 discretionary data
    0x9F21: NUMERIC,  # transaction time HHMMSS
    0x9F35: NUMERIC,  # terminal type
    0x9F3C: NUMERIC,  # transaction reference currency code
    0x9F3D: NUMERIC,  # transaction reference currency exponent
    0x9F41: NUMERIC,  # transaction sequence counter
    0x9F42: NUMERIC,  # application currency code
    0x9F44: NUMERIC,  # application currency exponent
}


def parse(data):
    """The (tag, length) entries of a DOL; a DOL that does not parse is ``ProtocolError``."""
    out = []
    i, n = 0, len(data)
    while i < n:
        tag, i = read_tag(data, i, n)
        length, i = read_length(data, i, n, tag)
        out.append((tag, length))
    return out


def fit(tag, value, length, formats=FORMATS):
    """``value`` (bytes) made ``length`` bytes long by the rules of its format."""
    have = len(value)
    kind = formats.get(tag)
    if have == length:
        return bytes(value)
    if have > length:
        return bytes(value[have - length :]) if kind == NUMERIC else bytes(value[:length])
    pad = length - have
    if kind == NUMERIC:
        return bytes(pad) + bytes(value)
    if kind == COMPRESSED:
        return bytes(value) + b"\xff" * pad
    return bytes(value) + bytes(pad)


def build(dol, values, formats=FORMATS):
    """The DOL's answer: each entry's value from ``values`` ({tag: bytes}) fitted to its length."""
    out = bytearray()
    for tag, length in dol:
        value = values.get(tag)
        if value is None or constructed(tag):
            out += bytes(length)
        else:
            out += fit(tag, value, length, formats)
    return bytes(out)


def bcd(number, nbytes):
    """A whole number as ``n`` format: BCD, right-aligned in ``nbytes`` (``bcd(1250, 6)`` is
    ``00 00 00 00 12 50``)."""
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise ValueError("BCD takes a whole number >= 0, got %r" % (number,))
    digits = "%d" % number
    if len(digits) > 2 * nbytes:
        raise ValueError("%d does not fit in %d BCD bytes" % (number, nbytes))
    digits = "0" * (2 * nbytes - len(digits)) + digits
    return bytes(int(digits[i : i + 2], 16) for i in range(0, len(digits), 2))


def from_bcd(data):
    """The number of an ``n`` value; a nibble above 9 is ``ProtocolError``."""
    number = 0
    for b in data:
        hi, lo = b >> 4, b & 0x0F
        if hi > 9 or lo > 9:
            raise ProtocolError("not a BCD number: %s" % binascii.hexlify(data).decode())
        number = number * 100 + hi * 10 + lo
    return number
