"""Scenes drawn on a framebuffer (device code): how a display driver paints what ``ui/``
describes. ``framebuf`` is MicroPython's built-in module; on CPython the stand-in of the same
name (``framebuf.py`` at the top of the tree) draws the same bytes.

    panel = Panel(480, 272)              # RGB565 (mono=True: one bit a pixel)
    panel.render([("fill", WHITE), ("text", 10, 10, "Summe 12,50 €", BLACK, 2)])
    panel.buf                            # what goes to the panel (or the browser)
    text_width("Rückgeld", 2)            # pixels: layout without drawing
    fit("Kaffee Crema 250 g", 96)        # cut to 96 pixels, ending in "…"

A scene is a list of widgets, each a tuple (``ui/`` builds them; this module knows no screen):

- ``("fill", color)``: the whole panel;
- ``("text", x, y, text, color, scale)``: the glyphs of ``hal/font.py`` (8 x 16 pixels, each
  drawn ``scale`` times as large; a character the font lacks is ``?``), transparent behind;
- ``("rect", x, y, w, h, color, filled)``;
- ``("button", x, y, w, h, label, fg, bg, scale)``: a filled box, a frame in ``fg``, the
  label centred;
- ``("qr", x, y, text, scale, dark, light)``: the QR code of ``text`` (UTF-8, level M,
  ``core.qr``), ``scale`` pixels a module, with its quiet zone of four modules in ``light``;
- ``("bars", x, y, w, h, title, bars, fg, bar, minus)``: a bar chart in (x, y, w, h): the
  title, then a row per ``(label, cents)`` of ``bars`` (those that fit) with the label, a bar
  whose length is its share of the largest, and the amount; negative amounts in ``minus``.

Colours are the framebuffer's: RGB565 values (``rgb(r, g, b)``), or 0/1 on a mono panel.
Anything else in a scene is a ``ValueError`` naming it: a scene is data another layer made.
"""

import framebuf
from core import qr
from core.money import format_cents
from hal import font


def rgb(r, g, b):
    """An RGB565 colour from 8-bit red, green and blue."""
    return ((r & 0xF8) << 8) | ((g & 0xFC) << 3) | (b >> 3)


BLACK, WHITE = rgb(0, 0, 0), rgb(255, 255, 255)


def text_width(text, scale=1):
    return len(text) * font.WIDTH * scale


def fit(text, width, scale=1):
    """``text`` cut to what fits in ``width`` pixels (the last character an ellipsis)."""
    room = max(1, width // (font.WIDTH * scale))
    return text if len(text) <= room else text[: room - 1] + "…"


class Panel:
    """A panel's framebuffer: ``width`` x ``height``, RGB565 or (``mono``) MONO_HLSB."""

    def __init__(self, width, height, mono=False):
        self.width, self.height, self.mono = width, height, mono
        if mono:
            self.buf = bytearray((width + 7) // 8 * height)
            self.fb = framebuf.FrameBuffer(self.buf, width, height, framebuf.MONO_HLSB)
        else:
            self.buf = bytearray(width * height * 2)
            self.fb = framebuf.FrameBuffer(self.buf, width, height, framebuf.RGB565)

    def _palette(self, color):
        """Two entries: 0 the key (never drawn), 1 the text colour."""
        if self.mono:
            pal, key = framebuf.FrameBuffer(bytearray(1), 2, 1, framebuf.MONO_HLSB), 1 - (color & 1)
        else:
            pal, key = framebuf.FrameBuffer(bytearray(4), 2, 1, framebuf.RGB565), color ^ 0xFFFF
        pal.pixel(0, 0, key)
        pal.pixel(1, 0, color)
        return pal, key

    def text(self, x, y, text, color, scale=1):
        fb = self.fb
        if scale == 1:
            pal, key = self._palette(color)
            for i, ch in enumerate(text):
                rows = bytearray(font.glyph(ch))
                glyph = framebuf.FrameBuffer(rows, font.WIDTH, font.HEIGHT, framebuf.MONO_HLSB)
                fb.blit(glyph, x + i * font.WIDTH, y, key, pal)
            return
        for i, ch in enumerate(text):
            rows = font.glyph(ch)
            left = x + i * font.WIDTH * scale
            for r in range(font.HEIGHT):
                bits, c = rows[r], 0
                while bits:
                    if bits & 0x80:
                        fb.fill_rect(left + c * scale, y + r * scale, scale, scale, color)
                    bits = (bits << 1) & 0xFF
                    c += 1

    def button(self, x, y, w, h, label, fg, bg, scale):
        self.fb.fill_rect(x, y, w, h, bg)
        self.fb.rect(x, y, w, h, fg)
        tx = x + (w - text_width(label, scale)) // 2
        self.text(tx, y + (h - font.HEIGHT * scale) // 2, label, fg, scale)

    def qr_code(self, x, y, text, scale, dark, light):
        code = qr.encode(text.encode(), "M")
        side = (code.size + 8) * scale
        self.fb.fill_rect(x, y, side, side, light)
        left, top = x + 4 * scale, y + 4 * scale
        for row in range(code.size):
            for col in range(code.size):
                if code.dark(col, row):
                    self.fb.fill_rect(left + col * scale, top + row * scale, scale, scale, dark)
        return side

    def bars(self, x, y, w, h, title, bars, fg, bar, minus):
        self.text(x, y, title, fg)
        if not bars:
            self.text(x, y + font.HEIGHT + 4, "keine Umsätze", fg)
            return
        rows = max(1, (h - font.HEIGHT - 4) // (font.HEIGHT + 2))
        bars = bars[:rows]
        top = max(abs(cents) for _, cents in bars) or 1
        label_w, value_w = 13 * font.WIDTH, 10 * font.WIDTH
        room = w - label_w - value_w - 8
        for i, (label, cents) in enumerate(bars):
            by = y + font.HEIGHT + 4 + i * (font.HEIGHT + 2)
            self.text(x, by, fit(label, label_w - 4), fg)
            self.fb.fill_rect(
                x + label_w,
                by + 2,
                max(1, room * abs(cents) // top),
                font.HEIGHT - 4,
                minus if cents < 0 else bar,
            )
            amount = format_cents(cents)
            self.text(x + w - text_width(amount), by, amount, fg)

    def render(self, scene):
        for widget in scene:
            kind = widget[0] if isinstance(widget, tuple) and widget else None
            if kind == "fill" and len(widget) == 2:
                self.fb.fill(widget[1])
            elif kind == "text" and len(widget) == 6:
                self.text(widget[1], widget[2], widget[3], widget[4], widget[5])
            elif kind == "rect" and len(widget) == 7:
                self.fb.rect(widget[1], widget[2], widget[3], widget[4], widget[5], widget[6])
            elif kind == "button" and len(widget) == 9:
                self.button(*widget[1:])
            elif kind == "qr" and len(widget) == 7:
                self.qr_code(*widget[1:])
            elif kind == "bars" and len(widget) == 10:
                self.bars(*widget[1:])
            else:
                raise ValueError("not a widget this panel draws: %r" % (widget,))
