"""ZVT's units (PA00P016 §5.2, PA00P015 §3, §12): device code, no I/O.

    encode(0x0601, data)          # one APDU: control field, length (FF lo hi above 254 bytes), data
    stream = Stream()             # TCP: APDUs out of any segmentation of the byte stream
    stream.feed(chunk)            # [(0x8000, b""), (0x040F, b"'..."), ...] whole APDUs, in order
    bmps(data)                    # [(0x04, b"..."), (0x06, b"<TLV>"), ...]: every BMP in order
    bmp(0x04, bcd(314, 6))        # one BMP: its number, LLVAR/LLLVAR prefix or BER length, value
    bcd(314, 6), unbcd(b"\\x03\\x14")   # packed BCD, most significant digit first
    text(b"\\x84\\x94\\x81\\xe1")      # "äöüß": ZVT's 8-bit character set is code page 437
    cp437("Grüße")                # and back; a character CP437 lacks is "?"

An APDU is a 2-byte control field (CLASS INSTR of a command, CCRC APRC of an answer) and a
length: one byte 0..254, or ``FF`` and two bytes **low byte first** (0..65535). BMPs are not
self-delimiting: each has a fixed length, an LLVAR (``Fx Fy``) or LLLVAR (``Fx Fy Fz``) prefix,
or (``06``, the TLV container) a BER length, big-endian in its long forms ``81 LL`` and
``82 HH LL``. So a BMP this table does not know ends the parse with a ``ProtocolError`` that
names it; inside a TLV container an unknown data object is simply not looked at
(``payment.emv.tlv`` reads the container: ZVT's tags are BER tags).
"""

from core.errors import ProtocolError
from payment.emv import tlv

MAX_DATA = 65535

FIXED, LLVAR, LLLVAR, CONTAINER = 0, 2, 3, 6

# BMP -> (kind, fixed length): PA00P015 rev. 13.08 chapter 12, the BMPs a PT or ECR sends
BMP = {
    0x01: (FIXED, 1),  # time-out (s)
    0x02: (FIXED, 1),  # max. status infos
    0x03: (FIXED, 1),  # service byte
    0x04: (FIXED, 6),  # amount, BCD minor units
    0x05: (FIXED, 1),  # pump number
    0x06: (CONTAINER, 0),  # TLV container
    0x0B: (FIXED, 3),  # trace number, BCD
    0x0C: (FIXED, 3),  # time HHMMSS, BCD
    0x0D: (FIXED, 2),  # date MMDD, BCD
    0x0E: (FIXED, 2),  # expiry YYMM, BCD
    0x17: (FIXED, 2),  # card sequence number, BCD
    0x19: (FIXED, 1),  # status byte / payment type / card type
    0x22: (LLVAR, 0),  # PAN / EF_ID, BCD, E masks a digit
    0x23: (LLVAR, 0),  # track 2
    0x24: (LLLVAR, 0),  # track 3
    0x27: (FIXED, 1),  # result code
    0x29: (FIXED, 4),  # terminal id, BCD
    0x2A: (FIXED, 15),  # VU number, ASCII
    0x2D: (LLVAR, 0),  # track 1
    0x2E: (LLLVAR, 0),  # synchronous chip data
    0x37: (FIXED, 3),  # trace number of the original (reversal), BCD
    0x3A: (FIXED, 2),  # CVV/CVC (mail order), BCD
    0x3B: (FIXED, 8),  # "AID": the authorisation attribute (approval code), ASCII, NUL padded
    0x3C: (LLLVAR, 0),  # additional data / text
    0x3D: (FIXED, 3),  # password, BCD
    0x49: (FIXED, 2),  # currency code, BCD (0978 EUR)
    0x60: (LLLVAR, 0),  # individual totals (end of day)
    0x87: (FIXED, 2),  # receipt number, BCD
    0x88: (FIXED, 3),  # turnover record number, BCD
    0x8A: (FIXED, 1),  # ZVT card type
    0x8B: (LLVAR, 0),  # card name, NUL terminated
    0x8C: (FIXED, 1),  # card type id of the network operator
    0x92: (LLLVAR, 0),  # additional data ec-Cash with chip offline
    0x9A: (LLLVAR, 0),  # GeldKarte records
    0xA0: (FIXED, 1),  # result code AS
    0xA7: (LLVAR, 0),  # chip data EF_ID
    0xAA: (FIXED, 3),  # date YYMMDD, BCD
    0xAF: (LLLVAR, 0),  # EF_Info
    0xBA: (FIXED, 5),  # AID parameter
    0xD0: (FIXED, 1),  # algorithm key
    0xD1: (LLVAR, 0),  # card offset / PIN data
    0xD2: (FIXED, 1),  # direction
    0xD3: (FIXED, 1),  # key position
    0xE0: (FIXED, 1),  # min. length of the input
    0xE9: (FIXED, 1),  # max. length of the input
    0xEA: (FIXED, 1),  # echo the input
    0xEB: (FIXED, 8),  # MAC over text 1 and text 2
    0xF0: (FIXED, 1),  # display duration
    0xF9: (FIXED, 1),  # number of beep tones
    0xFA: (FIXED, 1),  # status
    0xFB: (FIXED, 1),  # confirmation with <OK> required
    0xFC: (FIXED, 1),  # dialog control
}
for _n in range(8):  # text lines: E1..E8 text 2, F1..F8 text 1
    BMP[0xE1 + _n] = BMP[0xF1 + _n] = (LLVAR, 0)

# CP437 0x80..0xFF (0x00..0x7F are ASCII)
_HIGH = (
    "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐"
    "└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\xa0"
)
_CODE = {}
for _n, _c in enumerate(_HIGH):
    _CODE[_c] = 0x80 + _n


def text(data):
    """CP437 bytes as a str."""
    out = []
    for b in data:
        out.append(chr(b) if b < 0x80 else _HIGH[b - 0x80])
    return "".join(out)


def cp437(s):
    """A str as CP437 bytes; what CP437 cannot write becomes ``?``."""
    out = bytearray()
    for c in s:
        n = ord(c)
        out.append(n if n < 0x80 else _CODE.get(c, 0x3F))
    return bytes(out)


def bcd(number, size):
    """``number`` (>= 0) as ``size`` bytes of packed BCD; ``ValueError`` if it does not fit."""
    if number < 0 or number >= 10 ** (2 * size):
        raise ValueError("%d does not fit %d BCD bytes" % (number, size))
    out = bytearray(size)
    for i in range(size - 1, -1, -1):
        number, low = divmod(number, 10)
        number, high = divmod(number, 10)
        out[i] = (high << 4) | low
    return bytes(out)


def unbcd(data, what="BCD"):
    """Packed BCD as an int; a nibble above 9 is a ``ProtocolError`` naming ``what``."""
    n = 0
    for b in data:
        high, low = b >> 4, b & 0x0F
        if high > 9 or low > 9:
            raise ProtocolError("%s is not BCD: %02X" % (what, b))
        n = n * 100 + high * 10 + low
    return n


def digits(data):
    """BCD digits as text, ``E`` (a masked digit) as ``*``, up to the ``F`` padding: a PAN."""
    out = []
    for b in data:
        for nibble in (b >> 4, b & 0x0F):
            if nibble == 0x0F:
                return "".join(out)
            if nibble == 0x0E:
                out.append("*")
            elif nibble <= 9:
                out.append(chr(0x30 + nibble))
            else:
                raise ProtocolError("PAN digit %X is not BCD" % nibble)
    return "".join(out)


# --- APDUs -------------------------------------------------------------------------------------


def encode(control, data=b""):
    """One APDU: ``control`` (e.g. 0x0601), the length, ``data``."""
    n = len(data)
    if n > MAX_DATA:
        raise ProtocolError("APDU data of %d bytes is over %d" % (n, MAX_DATA), by_peer=False)
    head = bytes((control >> 8, control & 0xFF))
    if n < 0xFF:
        return head + bytes((n,)) + bytes(data)
    return head + bytes((0xFF, n & 0xFF, n >> 8)) + bytes(data)


def split(buf):
    """``(control, data, used)`` of the first whole APDU in ``buf``, or None while it is short."""
    n = len(buf)
    if n < 3:
        return None
    length, start = buf[2], 3
    if length == 0xFF:
        if n < 5:
            return None
        length, start = buf[3] | (buf[4] << 8), 5
    if n < start + length:
        return None
    return (buf[0] << 8) | buf[1], bytes(buf[start : start + length]), start + length


def decode(raw):
    """``(control, data)`` of exactly one APDU; anything short or over is a ``ProtocolError``."""
    got = split(raw)
    if got is None or got[2] != len(raw):
        raise ProtocolError("not one ZVT APDU: %d bytes" % len(raw))
    return got[0], got[1]


class Stream:
    """TCP's byte stream to APDUs: ``feed`` any piece, get the APDUs it completes."""

    def __init__(self):
        self.buf = b""

    def feed(self, chunk):
        self.buf += chunk
        out = []
        while True:
            got = split(self.buf)
            if got is None:
                return out
            control, data, used = got
            self.buf = self.buf[used:]
            out.append((control, data))


# --- BMPs --------------------------------------------------------------------------------------


def var_length(data, i, count, number):
    """The LLVAR/LLLVAR length (``count`` bytes Fx) at ``data[i]``, and the index after it."""
    if i + count > len(data):
        raise ProtocolError("BMP %02X: its length is cut off" % number)
    n = 0
    for b in data[i : i + count]:
        if b >> 4 != 0x0F or b & 0x0F > 9:
            raise ProtocolError("BMP %02X: length byte %02X is not Fx" % (number, b))
        n = n * 10 + (b & 0x0F)
    return n, i + count


def bmps(data, i=0):
    """Every BMP of ``data`` from ``i`` on, in order, as ``(number, value)``: the value without its
    length prefix; the TLV container's is its data objects."""
    out = []
    n = len(data)
    while i < n:
        number = data[i]
        i += 1
        spec = BMP.get(number)
        if spec is None:
            raise ProtocolError("unknown BMP %02X at byte %d (BMPs cannot be skipped)" % (number, i - 1))
        kind, length = spec
        if kind == CONTAINER:
            length, i = tlv.read_length(data, i, n, number)
        elif kind != FIXED:
            length, i = var_length(data, i, kind, number)
        if i + length > n:
            raise ProtocolError("BMP %02X: %d bytes, %d left" % (number, length, n - i))
        out.append((number, bytes(data[i : i + length])))
        i += length
    return out


def bmp(number, value):
    """One BMP's bytes; a fixed-length value of the wrong size is a ``ValueError``."""
    kind, length = BMP[number]
    if kind == FIXED:
        if len(value) != length:
            raise ValueError("BMP %02X takes %d bytes, not %d" % (number, length, len(value)))
        return bytes((number,)) + value
    if kind == CONTAINER:
        return bytes((number,)) + tlv.length_bytes(len(value)) + value
    n = len(value)
    if n >= 10**kind:
        raise ValueError("BMP %02X: %d bytes do not fit its length prefix" % (number, n))
    return bytes((number,)) + var_prefix(len(value), kind) + value


def var_prefix(n, count):
    out = bytearray(count)
    for i in range(count - 1, -1, -1):
        n, d = divmod(n, 10)
        out[i] = 0xF0 | d
    return bytes(out)


def container(objects):
    """A TLV container's data objects: ``[(tag, value or [(tag, value)...]), ...]``."""
    return b"".join(tlv.encode(tag, value) for tag, value in objects)
