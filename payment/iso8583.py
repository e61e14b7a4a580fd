"""ISO 8583 messages for the acquirer link (device code), encoded exactly as pyiso8583's
``specs.default`` describes them, so any ISO 8583 tool reads them: the MTI in ASCII, a binary
primary bitmap (and a secondary one when a field above 64 is present), then the fields in
order — numeric and text fields in ASCII, fixed length or with an ASCII length prefix (LL,
LLL), the PIN block (52), the ICC data (55) and the MACs (64, 128) binary.

    data = encode("0100", {2: "5413330089010434", 3: "000000", 4: "000000001250", 55: icc})
    mti, fields = decode(data)              # binary fields as bytes, the rest as str
    frame(data)                             # 2-byte big-endian length + message, for TCP

A field this table does not know, a value of the wrong length or with characters a numeric
field cannot have, or a message that does not parse is ``ProtocolError`` (decoding) or
``ValueError`` (encoding), naming the field.
"""

from core.errors import ProtocolError

FIXED, LLVAR, LLLVAR = 0, 2, 3

# field: (length kind, maximum length, binary, numeric) -- pyiso8583 specs.default
SPEC = {
    2: (LLVAR, 19, False, True),
    3: (FIXED, 6, False, True),
    4: (FIXED, 12, False, True),
    7: (FIXED, 10, False, True),
    11: (FIXED, 6, False, True),
    12: (FIXED, 6, False, True),
    13: (FIXED, 4, False, True),
    14: (FIXED, 4, False, True),
    22: (FIXED, 3, False, True),
    23: (FIXED, 3, False, True),
    24: (FIXED, 3, False, True),
    25: (FIXED, 2, False, True),
    32: (LLVAR, 11, False, True),
    37: (FIXED, 12, False, False),
    38: (FIXED, 6, False, False),
    39: (FIXED, 2, False, False),
    41: (FIXED, 8, False, False),
    42: (FIXED, 15, False, False),
    43: (FIXED, 40, False, False),
    44: (LLVAR, 25, False, False),
    48: (LLLVAR, 999, False, False),
    49: (FIXED, 3, False, True),
    52: (FIXED, 8, True, False),
    54: (LLLVAR, 240, False, False),
    55: (LLLVAR, 255, True, False),
    60: (LLLVAR, 999, False, False),
    62: (LLLVAR, 999, False, False),
    63: (LLLVAR, 999, False, False),
    64: (FIXED, 8, True, False),
    70: (FIXED, 3, False, True),
    74: (FIXED, 10, False, True),
    76: (FIXED, 10, False, True),
    86: (FIXED, 16, False, True),
    88: (FIXED, 16, False, True),
    90: (FIXED, 42, False, True),
    128: (FIXED, 8, True, False),
}


def _field(n, value):
    spec = SPEC.get(n)
    if spec is None:
        raise ValueError("field %d is not in this terminal's ISO 8583 table" % n)
    kind, limit, binary, numeric = spec
    data = bytes(value) if binary else value.encode()
    if not binary and (numeric and not value.isdigit() or any(b < 0x20 or b > 0x7E for b in data)):
        raise ValueError("field %d: %r is not %s" % (n, value, "numeric" if numeric else "printable ASCII"))
    if kind == FIXED:
        if len(data) != limit:
            raise ValueError("field %d has %d bytes, not %d" % (n, len(data), limit))
        return data
    if len(data) > limit:
        raise ValueError("field %d has %d bytes, at most %d" % (n, len(data), limit))
    return (("%02d" if kind == LLVAR else "%03d") % len(data)).encode() + data


def encode(mti, fields):
    if len(mti) != 4 or not mti.isdigit():
        raise ValueError("an MTI is four digits, not %r" % (mti,))
    numbers = sorted(fields)
    if not numbers or numbers[0] < 2 or numbers[-1] > 128 or 65 in numbers:
        raise ValueError("fields are 2..128 (65 is the third bitmap's)")
    bitmap = bytearray(16 if numbers[-1] > 64 else 8)
    if numbers[-1] > 64:
        bitmap[0] |= 0x80
    body = bytearray()
    for n in numbers:
        bitmap[(n - 1) // 8] |= 0x80 >> ((n - 1) % 8)
        body += _field(n, fields[n])
    return mti.encode() + bytes(bitmap) + bytes(body)


def decode(data):
    """(MTI, {field: value}): binary fields as bytes, the others as str."""
    if len(data) < 12:
        raise ProtocolError("ISO 8583 message of %d bytes is too short" % len(data))
    mti = bytes(data[:4]).decode()
    if not mti.isdigit():
        raise ProtocolError("ISO 8583 MTI %r is not four digits" % mti)
    size = 16 if data[4] & 0x80 else 8
    if len(data) < 4 + size:
        raise ProtocolError("ISO 8583 bitmap cut off")
    bitmap = data[4 : 4 + size]
    i = 4 + size
    fields = {}
    for n in range(2, 8 * size + 1):
        if not bitmap[(n - 1) // 8] & (0x80 >> ((n - 1) % 8)):
            continue
        spec = SPEC.get(n)
        if spec is None or n == 65:
            raise ProtocolError("ISO 8583 field %d is not in this terminal's table" % n)
        kind, limit, binary, numeric = spec
        if kind == FIXED:
            length = limit
        else:
            head = bytes(data[i : i + kind])
            if len(head) != kind or not head.isdigit():
                raise ProtocolError("ISO 8583 field %d: length prefix %r" % (n, head))
            length = int(head.decode())
            i += kind
            if length > limit:
                raise ProtocolError("ISO 8583 field %d: %d bytes, at most %d" % (n, length, limit))
        value = bytes(data[i : i + length])
        if len(value) != length:
            raise ProtocolError("ISO 8583 field %d cut off" % n)
        i += length
        if binary:
            fields[n] = value
        else:
            try:
                fields[n] = value.decode()
            except UnicodeError:
                raise ProtocolError("ISO 8583 field %d is not text" % n)
            if numeric and not fields[n].isdigit():
                raise ProtocolError("ISO 8583 field %d is not numeric: %r" % (n, fields[n]))
    if i != len(data):
        raise ProtocolError("ISO 8583 message has %d bytes after its last field" % (len(data) - i))
    return mti, fields


def frame(message):
    """The message with its 2-byte big-endian length, as it goes over TCP."""
    if len(message) > 0xFFFF:
        raise ValueError("an ISO 8583 frame holds at most 65535 bytes")
    return bytes((len(message) >> 8, len(message) & 0xFF)) + bytes(message)
