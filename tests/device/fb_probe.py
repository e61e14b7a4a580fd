"""Draw the same things on either runtime and print what the buffers hold: the framebuf
stand-in (CPython) against MicroPython's built-in (tests/host/test_framebuf.py).

    fb_probe.py      # one JSON line: {"rgb565": sha256 hex, "mono": ..., "panel": ..., "pixels": [...]}
"""

import binascii
import hashlib
import json

import framebuf
from hal.screen import BLACK, WHITE, Panel, rgb


def _ops(fb, c1, c2, w, h):
    fb.fill(c1)
    fb.fill_rect(-3, -2, 9, 7, c2)  # clipped at the top left
    fb.fill_rect(w - 4, h - 3, 10, 10, c2)  # and at the bottom right
    fb.rect(5, 6, 11, 7, c2)
    fb.rect(20, 3, 6, 5, c2, True)
    fb.hline(1, h - 1, w + 5, c2)
    fb.vline(w - 1, -4, h + 8, c1)
    for i in range(0, 40, 3):
        fb.pixel(i, i % h, c2)
    fb.pixel(w + 3, 0, c2)  # outside: nothing
    glyph = framebuf.FrameBuffer(bytearray(b"\x81\x42\x24\x18\x18\x24\x42\x81"), 8, 8, framebuf.MONO_HLSB)
    fb.blit(glyph, 30, 2)
    fb.blit(glyph, w - 5, h - 6)  # clipped
    fb.blit(glyph, -3, 10, 0)  # key: the 0 pixels stay as they were


def main():
    w, h = 45, 21
    rgb_buf = bytearray(w * h * 2)
    _ops(framebuf.FrameBuffer(rgb_buf, w, h, framebuf.RGB565), 0x1234, 0xF81F, w, h)
    pal = framebuf.FrameBuffer(bytearray(4), 2, 1, framebuf.RGB565)
    pal.pixel(0, 0, 0x0001)
    pal.pixel(1, 0, 0xABCD)
    fb = framebuf.FrameBuffer(rgb_buf, w, h, framebuf.RGB565)
    glyph = framebuf.FrameBuffer(bytearray(b"\xf0\x0f" * 4), 8, 8, framebuf.MONO_HLSB)
    fb.blit(glyph, 12, 12, 0x0001, pal)  # through a palette, its entry 0 the key
    mono_buf = bytearray((w + 7) // 8 * h)
    _ops(framebuf.FrameBuffer(mono_buf, w, h, framebuf.MONO_HLSB), 0, 1, w, h)
    panel = Panel(120, 40)
    panel.render(
        [("fill", WHITE), ("text", 2, 2, "Summe 12,50 €", BLACK, 1), ("text", 2, 20, "Äß", rgb(0, 128, 0), 2)]
    )
    out = {
        "rgb565": binascii.hexlify(hashlib.sha256(rgb_buf).digest()).decode(),
        "mono": binascii.hexlify(hashlib.sha256(mono_buf).digest()).decode(),
        "panel": binascii.hexlify(hashlib.sha256(panel.buf).digest()).decode(),
        "pixels": [fb.pixel(x, y) for x, y in ((0, 0), (5, 6), (12, 12), (16, 12), (44, 20))],
    }
    print(json.dumps(out))


main()
