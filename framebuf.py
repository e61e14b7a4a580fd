"""CPython stand-in for MicroPython's built-in ``framebuf`` module, the part the screens use.

On MicroPython the built-in module always wins over this file (built-ins are found before
``sys.path``); on CPython, which has no ``framebuf``, this file is found and draws the same
bytes: ``tests/host/test_framebuf.py`` runs the same drawing on both runtimes and compares the
buffers byte for byte.

    fb = FrameBuffer(bytearray(w * h * 2), w, h, RGB565)
    fb.fill(0); fb.fill_rect(x, y, w, h, c); fb.rect(x, y, w, h, c, fill=False)
    fb.hline(x, y, w, c); fb.vline(x, y, h, c); fb.pixel(x, y[, c])
    fb.blit(glyph, x, y, key=-1, palette=None)   # a MONO_HLSB glyph through a 2-entry palette

Formats: ``RGB565`` (two bytes a pixel, little-endian as on the boards and the unix port) and
``MONO_HLSB`` (a byte holds 8 pixels side by side, the leftmost in bit 7; rows start on a
byte). Drawing outside the buffer is clipped; ``pixel`` outside it reads as None. Not here:
the other formats, ``text`` (its 8x8 font is ASCII only: the screens use their own,
``hal/font.py``), ``line``, ``ellipse``, ``poly``, ``scroll``.
"""

MONO_HLSB = 3
RGB565 = 1


class FrameBuffer:
    def __init__(self, buf, width, height, format, stride=None):  # noqa: A002 (MicroPython's name)
        if format not in (MONO_HLSB, RGB565):
            raise ValueError("invalid format")
        self.buf = buf
        self.width = width
        self.height = height
        self.format = format
        self.stride = width if stride is None else stride
        if format == MONO_HLSB:
            self.stride = (self.stride + 7) & ~7

    # --- one pixel ---------------------------------------------------------------------------

    def _get(self, x, y):
        if self.format == RGB565:
            i = 2 * (y * self.stride + x)
            return self.buf[i] | (self.buf[i + 1] << 8)
        i = (y * self.stride + x) >> 3
        return (self.buf[i] >> (7 - (x & 7))) & 1

    def _set(self, x, y, c):
        if self.format == RGB565:
            i = 2 * (y * self.stride + x)
            self.buf[i] = c & 0xFF
            self.buf[i + 1] = (c >> 8) & 0xFF
            return
        i = (y * self.stride + x) >> 3
        bit = 0x80 >> (x & 7)
        self.buf[i] = (self.buf[i] | bit) if c & 1 else (self.buf[i] & ~bit)

    def pixel(self, x, y, c=None):
        if not (0 <= x < self.width and 0 <= y < self.height):
            return None
        if c is None:
            return self._get(x, y)
        self._set(x, y, c)
        return None

    # --- areas -------------------------------------------------------------------------------

    def fill_rect(self, x, y, w, h, c):
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, self.width), min(y + h, self.height)
        if x0 >= x1 or y0 >= y1:
            return
        if self.format == RGB565:
            run = bytes((c & 0xFF, (c >> 8) & 0xFF)) * (x1 - x0)
            for row in range(y0, y1):
                i = 2 * (row * self.stride + x0)
                self.buf[i : i + len(run)] = run
            return
        for row in range(y0, y1):
            for col in range(x0, x1):
                self._set(col, row, c)

    def fill(self, c):
        self.fill_rect(0, 0, self.width, self.height, c)

    def hline(self, x, y, w, c):
        self.fill_rect(x, y, w, 1, c)

    def vline(self, x, y, h, c):
        self.fill_rect(x, y, 1, h, c)

    def rect(self, x, y, w, h, c, fill=False):
        if fill:
            self.fill_rect(x, y, w, h, c)
            return
        self.fill_rect(x, y, w, 1, c)
        self.fill_rect(x, y + h - 1, w, 1, c)
        self.fill_rect(x, y, 1, h, c)
        self.fill_rect(x + w - 1, y, 1, h, c)

    def blit(self, fbuf, x, y, key=-1, palette=None):
        """Copy ``fbuf`` with its top left at (x, y); a source pixel is looked up in
        ``palette`` (pixel (value, 0)) first, and not drawn when it equals ``key``."""
        if fbuf.format == MONO_HLSB and palette is not None and self.format == RGB565:
            self._blit_mono(fbuf, x, y, key, (palette._get(0, 0), palette._get(1, 0)))
            return
        for sy in range(max(0, -y), min(fbuf.height, self.height - y)):
            for sx in range(max(0, -x), min(fbuf.width, self.width - x)):
                c = fbuf._get(sx, sy)
                if palette is not None:
                    c = palette._get(c, 0)
                if c != key:
                    self._set(x + sx, y + sy, c)

    def _blit_mono(self, fbuf, x, y, key, colours):
        """``blit`` of a one-bit source through a two-colour palette onto RGB565 (a glyph):
        the same pixels, a row's bits at a time."""
        pairs = [None if c == key else bytes((c & 0xFF, (c >> 8) & 0xFF)) for c in colours]
        src, sstride, buf = fbuf.buf, fbuf.stride >> 3, self.buf
        x0, x1 = max(0, -x), min(fbuf.width, self.width - x)
        for sy in range(max(0, -y), min(fbuf.height, self.height - y)):
            row = 2 * ((y + sy) * self.stride + x)
            at = sy * sstride
            for sx in range(x0, x1):
                pair = pairs[(src[at + (sx >> 3)] >> (7 - (sx & 7))) & 1]
                if pair is not None:
                    i = row + 2 * sx
                    buf[i : i + 2] = pair
