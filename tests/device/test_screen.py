"""The panel renderer on both runtimes (hal/screen.py on MicroPython's framebuf, and on CPython's
stand-in): the font's glyphs pixel for pixel, € and umlauts, scaling, transparency, buttons,
and scenes that are not widgets."""

from support import raises

from hal import font
from hal.screen import BLACK, WHITE, Panel, rgb, text_width

RED = rgb(255, 0, 0)


def _drawn(panel, x, y, ch, color, scale=1):
    """Whether each pixel of ``ch``'s cell at (x, y) has ``color``, as rows of 0/1."""
    out = []
    for r in range(font.HEIGHT * scale):
        out.append([1 if panel.fb.pixel(x + c, y + r) == color else 0 for c in range(font.WIDTH * scale)])
    return out


def _bits(ch, scale=1):
    rows = font.glyph(ch)
    return [
        [(rows[r // scale] >> (7 - c // scale)) & 1 for c in range(font.WIDTH * scale)]
        for r in range(font.HEIGHT * scale)
    ]


def test_every_glyph_the_font_has_is_drawn_pixel_for_pixel():
    panel = Panel(8 * len(font.CHARS), 16)
    panel.render([("fill", WHITE), ("text", 0, 0, font.CHARS, BLACK, 1)])
    for i, ch in enumerate(font.CHARS):
        assert _drawn(panel, i * 8, 0, ch, BLACK) == _bits(ch), ch
    # the German ones have their own shapes: no two alike, none empty
    shapes = [bytes(font.glyph(ch)) for ch in "ÄÖÜäöüß€"]
    assert len(set(shapes)) == 8 and all(any(s) for s in shapes)


def test_scaled_text_transparent_behind_and_a_missing_character():
    panel = Panel(64, 40)
    panel.render([("fill", RED), ("text", 3, 4, "€ß", WHITE, 2)])
    assert _drawn(panel, 3, 4, "€", WHITE, 2) == _bits("€", 2)
    assert _drawn(panel, 19, 4, "ß", WHITE, 2) == _bits("ß", 2)
    assert panel.fb.pixel(0, 0) == RED and panel.fb.pixel(3, 4) == RED  # behind the glyph: the fill
    assert bytes(font.glyph("✓")) == bytes(font.glyph("?"))  # not in the font: drawn as ?


def test_mono_panel_and_buttons():
    panel = Panel(100, 40, mono=True)
    panel.render([("fill", 0), ("button", 10, 4, 80, 32, "OK", 1, 0, 1)])
    assert panel.fb.pixel(10, 4) == 1 and panel.fb.pixel(89, 35) == 1  # the frame
    x = 10 + (80 - text_width("OK")) // 2
    assert _drawn(panel, x, 4 + (32 - 16) // 2, "O", 1) == _bits("O")
    assert len(panel.buf) == (100 + 7) // 8 * 40


def test_anything_else_in_a_scene_is_refused():
    panel = Panel(10, 10)
    for bad in (("circle", 1, 2, 3), ("text", 0, 0, "x"), ["fill", 0], "fill"):
        assert "not a widget" in str(raises(ValueError, panel.render, [bad]))
