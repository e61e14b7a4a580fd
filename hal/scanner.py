"""The barcode scanner: decoded symbols, from a scan engine's serial line (device code).

    decoder = ScanDecoder()
    for item in decoder.feed(data):         # bytes as they arrive from the engine
        if isinstance(item, Symbol): item.symbology, item.text   # "EAN13", "4006381333931"
        else: item                            # ScanError: shown to the cashier, nothing rung up

Scan engines (and emupos' serial scanner) send each code as its text followed by CR (LF and
CR LF are accepted too). Configured to, they prefix the AIM symbology identifier (ISO/IEC
15424): ``]E0`` EAN-13/UPC-A, ``]E4`` EAN-8, ``]Q1`` QR code, ``]C0`` Code 128, ``]A0`` Code 39.
Without one, 8 or 13 digits with a valid check digit are taken as EAN; anything else as
Code 128. Rejected: control bytes or undecodable bytes (line noise), a wrong check digit or an
EAN of the wrong length (a partial read), an unknown identifier, an over-long line (no
terminator: an engine sending garbage), and an empty line.
"""

from core.gtin import valid as gtin_valid

AIM = {"]E0": "EAN13", "]E4": "EAN8", "]Q1": "QR", "]C0": "CODE128", "]A0": "CODE39"}
MAX_LINE = 512


class Symbol:
    def __init__(self, symbology, text):
        self.symbology = symbology
        self.text = text

    def __repr__(self):
        return "Symbol(%r, %r)" % (self.symbology, self.text)


class ScanError(Exception):
    pass


def decode_line(line):
    """A ``Symbol`` from one line without its terminator, or ``ScanError``."""
    if not line:
        raise ScanError("empty scan")
    for b in line:
        if b < 0x20 or b == 0x7F:
            raise ScanError("scan has control byte 0x%02X: not a barcode" % b)
    try:
        text = bytes(line).decode()
    except UnicodeError:
        raise ScanError("scan is not valid text")
    symbology = None
    if text.startswith("]"):
        symbology = AIM.get(text[:3])
        if symbology is None:
            raise ScanError("unknown symbology identifier %r" % text[:3])
        text = text[3:]
    elif text.isdigit() and len(text) in (8, 13):
        symbology = "EAN8" if len(text) == 8 else "EAN13"
    else:
        symbology = "CODE128"
    if symbology in ("EAN13", "EAN8"):
        size = 13 if symbology == "EAN13" else 8
        if not text.isdigit() or len(text) != size:
            raise ScanError("%s needs %d digits, got %r (partial read?)" % (symbology, size, text))
        if not gtin_valid(text):
            raise ScanError("%s %s: wrong check digit (misread)" % (symbology, text))
    elif not text:
        raise ScanError("empty %s scan" % symbology)
    return Symbol(symbology, text)


class ScanDecoder:
    """Splits the byte stream into lines and decodes each (sans-I/O)."""

    def __init__(self, max_line=MAX_LINE):
        self.max_line = max_line
        self.buf = bytearray()
        self._skip = False  # inside an over-long line: drop it up to its terminator

    def feed(self, data):
        out = []
        for b in data:
            if b in (0x0D, 0x0A):
                if self._skip:
                    self._skip = False
                elif self.buf:
                    try:
                        out.append(decode_line(self.buf))
                    except ScanError as e:
                        out.append(e)
                self.buf = bytearray()
            elif not self._skip:
                self.buf.append(b)
                if len(self.buf) > self.max_line:
                    out.append(ScanError("scan longer than %d bytes: dropped" % self.max_line))
                    self.buf = bytearray()
                    self._skip = True
        return out


class Scanner:
    """The interface: ``await read()`` returns the next ``Symbol`` or ``ScanError``."""

    async def read(self):
        raise NotImplementedError

    def close(self):
        pass


class StreamScanner(Scanner):
    """A scan engine on an asyncio stream (TCP in the simulator, a UART stream on a board)."""

    def __init__(self, reader, writer=None):
        self.reader = reader
        self.writer = writer
        self.decoder = ScanDecoder()
        self._pending = []

    async def read(self):
        while not self._pending:
            data = await self.reader.read(256)
            if not data:
                raise OSError("scanner connection closed")
            self._pending = self.decoder.feed(data)
        return self._pending.pop(0)

    def close(self):
        if self.writer is not None:
            self.writer.close()


class LazyScanner(Scanner):
    """Connects on the first ``read()`` (inside the event loop), and again after a drop."""

    def __init__(self, settings):
        self.settings = settings
        self.stream = None

    async def read(self):
        from hal.link import open_reader

        if self.stream is None:
            reader, writer = await open_reader(self.settings)
            self.stream = StreamScanner(reader, writer)
        try:
            return await self.stream.read()
        except OSError:
            self.close()
            raise

    def close(self):
        if self.stream is not None:
            self.stream.close()
            self.stream = None


def create(s, board):
    """Board driver ``serial-scanner``: a scan engine on TCP (simulator) or a UART (board)."""
    return LazyScanner(s)
