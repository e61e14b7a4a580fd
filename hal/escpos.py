"""ESC/POS command encoder: receipt layout in, printer bytes out (device code, no I/O).

    out = EscPos()
    out.init(); out.codepage(); out.align(CENTER); out.bold(True)
    out.text("Brötchen 0,45 €\\n"); out.qr("V0;..."); out.cut()
    printer.write(out.take())

Every command goes through one ``raw()`` (python-escpos' ``_raw`` idea): into a buffer for
``take()``, or straight to a sink; a driver only moves bytes. Where python-escpos has the same
command the bytes are the same
(tests/host/test_escpos.py): ``ESC @``, ``ESC t 19`` (code page PC858, which has the euro
sign and the German umlauts), ``ESC E``, ``ESC a``, ``ESC !``, the native QR code
``GS ( k`` (model 2), barcodes (``GS h``, ``GS w``, ``GS f``, ``GS H``, ``GS k``: EAN-13 and
Code 128), ``ESC d 6 GS V 0`` (feed and cut), ``ESC p`` (drawer kick).
MicroPython has no code-page codecs, so PC858 is a table here; characters it lacks print as
``?`` rather than as garbage.
"""

from core.gtin import valid as gtin_valid
from micropython import const

LEFT = const(0)
CENTER = const(1)
RIGHT = const(2)

CODEPAGE_PC858 = const(19)  # Epson's number for PC858 ("Multilingual Latin I + Euro")

# Unicode -> PC858 for everything above ASCII that a German receipt may hold.
PC858 = {
    "Ç": 0x80,
    "ü": 0x81,
    "é": 0x82,
    "â": 0x83,
    "ä": 0x84,
    "à": 0x85,
    "å": 0x86,
    "ç": 0x87,
    "ê": 0x88,
    "ë": 0x89,
    "è": 0x8A,
    "ï": 0x8B,
    "î": 0x8C,
    "ì": 0x8D,
    "Ä": 0x8E,
    "Å": 0x8F,
    "É": 0x90,
    "æ": 0x91,
    "Æ": 0x92,
    "ô": 0x93,
    "ö": 0x94,
    "ò": 0x95,
    "û": 0x96,
    "ù": 0x97,
    "ÿ": 0x98,
    "Ö": 0x99,
    "Ü": 0x9A,
    "ø": 0x9B,
    "£": 0x9C,
    "Ø": 0x9D,
    "×": 0x9E,
    "á": 0xA0,
    "í": 0xA1,
    "ó": 0xA2,
    "ú": 0xA3,
    "ñ": 0xA4,
    "Ñ": 0xA5,
    "ª": 0xA6,
    "º": 0xA7,
    "¿": 0xA8,
    "®": 0xA9,
    "¬": 0xAA,
    "½": 0xAB,
    "¼": 0xAC,
    "¡": 0xAD,
    "«": 0xAE,
    "»": 0xAF,
    "Á": 0xB5,
    "Â": 0xB6,
    "À": 0xB7,
    "©": 0xB8,
    "¢": 0xBD,
    "¥": 0xBE,
    "ã": 0xC6,
    "Ã": 0xC7,
    "¤": 0xCF,
    "ð": 0xD0,
    "Ð": 0xD1,
    "Ê": 0xD2,
    "Ë": 0xD3,
    "È": 0xD4,
    "€": 0xD5,
    "Í": 0xD6,
    "Î": 0xD7,
    "Ï": 0xD8,
    "¦": 0xDD,
    "Ì": 0xDE,
    "Ó": 0xE0,
    "ß": 0xE1,
    "Ô": 0xE2,
    "Ò": 0xE3,
    "õ": 0xE4,
    "Õ": 0xE5,
    "µ": 0xE6,
    "þ": 0xE7,
    "Þ": 0xE8,
    "Ú": 0xE9,
    "Û": 0xEA,
    "Ù": 0xEB,
    "ý": 0xEC,
    "Ý": 0xED,
    "¯": 0xEE,
    "´": 0xEF,
    "±": 0xF1,
    "¾": 0xF3,
    "¶": 0xF4,
    "§": 0xF5,
    "÷": 0xF6,
    "¸": 0xF7,
    "°": 0xF8,
    "¨": 0xF9,
    "·": 0xFA,
    "¹": 0xFB,
    "³": 0xFC,
    "²": 0xFD,
}
_QR_EC = {"L": 48, "M": 49, "Q": 50, "H": 51}


# The non-ASCII letters of German text, replaced in the UTF-8 bytes at C speed.
_COMMON = [(ch.encode(), bytes((PC858[ch],))) for ch in "äöüÄÖÜß€°é"]


def encode_pc858(text):
    data = text.encode()
    if len(data) == len(text):  # plain ASCII: the same bytes in PC858
        return data
    for utf8, byte in _COMMON:
        if utf8 in data:
            data = data.replace(utf8, byte)
    if len(data) == len(text):  # every character is one byte now
        return data
    out = bytearray()
    for ch in text:
        o = ord(ch)
        out.append(o if o < 0x80 else PC858.get(ch, 0x3F))
    return bytes(out)


_HRI = {"NONE": 0, "ABOVE": 1, "BELOW": 2, "BOTH": 3}


class EscPos:
    """``EscPos()`` collects the bytes for ``take()``; ``EscPos(sink)`` hands every command to
    ``sink(data)`` at once (a UART, a socket) and keeps nothing."""

    def __init__(self, sink=None):
        self.sink = sink
        self.buf = bytearray()

    def raw(self, data):
        if self.sink is not None:
            self.sink(data)
        else:
            self.buf += data
        return self

    def take(self):
        """The bytes collected so far (the buffer itself, not a copy); collecting starts anew."""
        data = self.buf
        self.buf = bytearray()
        return data

    def init(self):
        return self.raw(b"\x1b@")

    def codepage(self, page=CODEPAGE_PC858):
        return self.raw(b"\x1bt" + bytes((page,)))

    def text(self, text):
        return self.raw(encode_pc858(text))

    def bold(self, on):
        return self.raw(b"\x1bE" + (b"\x01" if on else b"\x00"))

    def align(self, where):
        return self.raw(b"\x1ba" + bytes((where,)))

    def size(self, double_height=False, double_width=False):
        return self.raw(b"\x1b!" + bytes(((0x10 if double_height else 0) | (0x20 if double_width else 0),)))

    def feed(self, lines):
        return self.raw(b"\x1bd" + bytes((lines,)))

    def qr(self, data, size=3, ec="M"):
        """Printer-native QR code, model 2 (``GS ( k`` functions 165, 167, 169, 180, 181)."""
        if not 1 <= size <= 16 or ec not in _QR_EC:
            raise ValueError("QR module size 1..16 and error correction L/M/Q/H")
        payload = data.encode() if isinstance(data, str) else bytes(data)
        n = len(payload) + 3
        if n > 7092:
            raise ValueError("QR data too long")
        self.raw(b"\x1d(k\x04\x001A2\x00")
        self.raw(b"\x1d(k\x03\x001C" + bytes((size,)))
        self.raw(b"\x1d(k\x03\x001E" + bytes((_QR_EC[ec],)))
        self.raw(b"\x1d(k" + bytes((n & 0xFF, n >> 8)) + b"1P0" + payload)
        return self.raw(b"\x1d(k\x03\x001Q0")

    def barcode(self, code, kind="EAN13", height=64, width=3, hri="BELOW"):
        """A printer-drawn barcode: ``EAN13`` (12 digits, or 13 with a correct check digit) or
        ``CODE128`` (printable ASCII, code set B). ``hri``: where the digits go (NONE, ABOVE,
        BELOW, BOTH)."""
        if not 1 <= height <= 255 or not 2 <= width <= 6 or hri not in _HRI:
            raise ValueError("barcode height 1..255, width 2..6, hri NONE/ABOVE/BELOW/BOTH")
        if kind == "EAN13":
            if not (code.isdigit() and len(code) == 12) and not (len(code) == 13 and gtin_valid(code)):
                raise ValueError("EAN-13 needs 12 digits or 13 with a valid check digit: %r" % (code,))
            body = bytes((2,)) + code.encode() + b"\x00"
        elif kind == "CODE128":
            data = b"{B" + code.encode()
            if not code or len(data) > 255 or any(b < 0x20 or b > 0x7E for b in data):
                raise ValueError("Code 128 takes 1..253 printable ASCII characters")
            body = bytes((73, len(data))) + data
        else:
            raise ValueError("barcode kind is EAN13 or CODE128, got %r" % (kind,))
        self.raw(b"\x1dh" + bytes((height,)) + b"\x1dw" + bytes((width,)))
        self.raw(b"\x1df\x00\x1dH" + bytes((_HRI[hri],)))
        return self.raw(b"\x1dk" + body)

    def raster(self, width, height, data, piece=960):
        """A raster bit image (``GS v 0``, normal density): ``height`` rows of ``width`` dots,
        each row ``(width + 7) // 8`` bytes, bit 7 the leftmost dot, 1 printed (framebuf's
        MONO_HLSB); in pieces of ``piece`` rows (a printer's buffer), as python-escpos sends."""
        row = (width + 7) // 8
        if not 1 <= row <= 0xFFFF or not 1 <= height <= 0xFFFF or len(data) != row * height:
            raise ValueError("a raster image needs (width + 7) // 8 * height bytes")
        view = memoryview(data)
        for top in range(0, height, piece):
            rows = min(piece, height - top)
            self.raw(b"\x1dv0\x00" + bytes((row & 0xFF, row >> 8, rows & 0xFF, rows >> 8)))
            self.raw(bytes(view[top * row : (top + rows) * row]))
        return self

    def cut(self, feed=True, partial=False):
        if feed:
            self.feed(6)
            return self.raw(b"\x1dV" + (b"\x01" if partial else b"\x00"))
        return self.raw(b"\x1dV" + (b"\x42\x00" if partial else b"\x41\x00"))

    def drawer(self, pin=2):
        """Kick the cash drawer on connector pin 2 or 5 (100 ms on, 100 ms off)."""
        if pin not in (2, 5):
            raise ValueError("drawer pin is 2 or 5")
        return self.raw(b"\x1bp" + (b"\x00" if pin == 2 else b"\x01") + b"\x32\x32")
