"""What every operator screen is made of (device code, pure): colours, keys with their touch
areas, the numeric pad, and the touch lookup.

    scene, areas = [("fill", WHITE)], []
    key(scene, areas, x, y, w, h, "Bar", ("cash",), WHITE, GREEN)
    pad(scene, areas, x, y, w, h)            # 0-9, 00, ",", "←", "C": ("digit", "7"), ("back",), ("clear",)
    intent_at(areas, x, y)                   # the intent of the key under (x, y), or None

An area is ``(x, y, w, h, intent)``; an intent is a tuple whose first item names it.
"""

from hal import font
from hal.screen import BLACK, WHITE, fit, rgb, text_width

GREY = rgb(220, 220, 220)
DARK = rgb(60, 60, 60)
BLUE = rgb(0, 70, 140)
GREEN = rgb(0, 120, 60)
RED = rgb(190, 0, 0)
ORANGE = rgb(220, 110, 0)
PAD = (("7", "8", "9", "←"), ("4", "5", "6", "C"), ("1", "2", "3", ","), ("0", "00", "×", "PLU"))
PAD_INTENTS = {"←": ("back",), "C": ("clear",), "×": ("times",), "PLU": ("enter",)}


def key(scene, areas, x, y, w, h, label, intent, fg=BLACK, bg=GREY, scale=1):
    scene.append(("button", x, y, w, h, fit(label, w - 8, scale), fg, bg, scale))
    areas.append((x, y, w, h, intent))


def text(scene, x, y, value, color=BLACK, scale=1, width=None):
    scene.append(("text", x, y, value if width is None else fit(value, width, scale), color, scale))


def right(scene, x_right, y, value, color=BLACK, scale=1):
    """``value`` ending at ``x_right``."""
    scene.append(("text", x_right - text_width(value, scale), y, value, color, scale))


def pad(scene, areas, x, y, w, h, rows=PAD, enter=None):
    """The numeric pad in (x, y, w, h); ``enter`` relabels the bottom-right key ``(label, intent)``."""
    kw, kh = w // len(rows[0]), h // len(rows)
    for r, row in enumerate(rows):
        for c, label in enumerate(row):
            intent = PAD_INTENTS.get(label, ("digit", label))
            fg, bg = BLACK, GREY
            if label == "PLU" and enter is not None:
                label, intent = enter
            if intent[0] not in ("digit", "back", "clear", "times"):
                fg, bg = WHITE, BLUE
            key(
                scene,
                areas,
                x + c * kw,
                y + r * kh,
                kw - 4,
                kh - 4,
                label,
                intent,
                fg,
                bg,
                2 if len(label) == 1 else 1,
            )


def field(scene, x, y, w, label, value):
    """An entry field: ``label`` on the left, what was typed on the right, framed."""
    h = font.HEIGHT + 10
    scene.append(("rect", x, y, w, h, DARK, False))
    text(scene, x + 6, y + 5, label, DARK)
    right(scene, x + w - 6, y + 5, value)


def intent_at(areas, x, y):
    """What a touch at (x, y) asks for, or None (between the keys)."""
    for ax, ay, aw, ah, intent in areas:
        if ax <= x < ax + aw and ay <= y < ay + ah:
            return intent
    return None


def banner(scene, width, words, color):
    """A coloured bar across the top with ``words`` centred (training mode, a warning)."""
    scene.append(("rect", 0, 0, width, font.HEIGHT + 4, color, True))
    scene.append(("text", (width - text_width(words)) // 2, 2, words, WHITE, 1))
