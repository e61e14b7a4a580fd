"""The customer screen (device code, pure): what the customer sees, as scenes for
``hal.screen.Panel`` — state in, widgets out; no I/O.

    welcome(size, "Mustermann Feinkost GmbH")
    sale(size, [("Kaffee Crema 250 g", 1098), ...], total=1467)   # the latest lines, the total
    message(size, "Betrag 12,50 €", "Karte bitte")                  # the card prompts
    pin_pad(size, digits=3)       # "PIN eingeben", *** and the keys; SIMULATION banner
    key_at(pin_keys(size), x, y)  # a touch on the pad -> "1".."9", "0", "C", "OK", or None
    change(size, 533); thanks(size, 1467)

``size`` is the panel's (width, height) as the board names it (480 x 272 on the sim board).
Money is ``1.234,56 €``. The PIN pad shows one ``*`` per digit: the screen is told how many
digits there are, never which.
"""

from core.money import format_cents
from hal import font
from hal.screen import BLACK, WHITE, fit, rgb, text_width

GREY = rgb(96, 96, 96)
BLUE = rgb(0, 70, 140)
RED = rgb(190, 0, 0)
BANNER = "SIMULATION - keine echte PIN"
PAD_KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "C", "0", "OK")


def money(cents):
    return format_cents(cents) + " €"


def _centred(width, y, text, color, scale):
    return ("text", max(0, (width - text_width(text, scale)) // 2), y, text, color, scale)


def _row(width, y, left, right, scale=1, color=BLACK):
    """A line: ``left`` from the left margin, ``right`` right-aligned, on one baseline."""
    margin = 8
    rx = width - margin - text_width(right, scale)
    left = fit(left, rx - margin - font.WIDTH * scale, scale)
    return [("text", margin, y, left, color, scale), ("text", rx, y, right, color, scale)]


def _two(size, top, bottom, top_style=(BLACK, 2), bottom_style=(BLUE, 2)):
    """Two centred lines on a white panel (``bottom`` may be empty)."""
    w, h = size
    scene = [("fill", WHITE), _centred(w, h // 2 - 40, fit(top, w, top_style[1]), *top_style)]
    if bottom:
        scene.append(_centred(w, h // 2 + 8, fit(bottom, w, bottom_style[1]), *bottom_style))
    return scene


def welcome(size, business):
    return _two(size, business, "Willkommen", (BLUE, 1), (BLACK, 2))


def sale(size, lines, total):
    """The receipt as it is rung up: as many of the latest ``lines`` ((text, cents)) as fit,
    and the total, large, at the bottom."""
    w, h = size
    scene = [("fill", WHITE)]
    bottom = h - 2 * font.HEIGHT - 16
    room = max(0, (bottom - 8) // (font.HEIGHT + 4))
    y = 8
    for text, cents in lines[-room:] if room else []:
        scene += _row(w, y, text, money(cents))
        y += font.HEIGHT + 4
    scene.append(("rect", 0, bottom - 6, w, 2, GREY, True))
    scene += _row(w, bottom, "Summe", money(total), 2)
    return scene


def message(size, top, bottom=""):
    return _two(size, top, bottom)


def change(size, cents):
    return _two(size, "Rückgeld", money(cents), (BLACK, 2), (BLUE, 3))


def thanks(size, total):
    return _two(size, "Vielen Dank!", money(total), (BLUE, 2), (BLACK, 2))


def pin_keys(size):
    """The PIN pad's keys: ``[(x, y, w, h, key), ...]``, 3 x 4, in the lower part of the panel."""
    w, h = size
    top = 72
    kw, kh = min(96, (w - 40) // 3), min(44, (h - top - 28) // 4)
    left = (w - 3 * kw - 2 * 8) // 2
    keys = []
    for i, key in enumerate(PAD_KEYS):
        row, col = divmod(i, 3)
        keys.append((left + col * (kw + 8), top + row * (kh + 6), kw, kh, key))
    return keys


def pin_pad(size, digits, banner=True):
    """The PIN entry: ``digits`` typed so far shown as ``*``; the keys; the simulator's
    banner (a simulator takes no real PIN)."""
    w, _ = size
    scene = [("fill", WHITE), _centred(w, 4, "PIN eingeben", BLACK, 2)]
    scene.append(_centred(w, 40, "*" * digits if digits else "_", BLACK, 2))
    for x, y, kw, kh, key in pin_keys(size):
        fg, bg = (WHITE, RED) if key == "C" else (WHITE, BLUE) if key == "OK" else (BLACK, rgb(230, 230, 230))
        scene.append(("button", x, y, kw, kh, key, fg, bg, 2))
    if banner:
        scene.append(("rect", 0, size[1] - 20, w, 20, RED, True))
        scene.append(_centred(w, size[1] - 18, BANNER, WHITE, 1))
    return scene


def key_at(keys, x, y):
    """The key under a touch at (x, y), or None."""
    for kx, ky, kw, kh, key in keys:
        if kx <= x < kx + kw and ky <= y < ky + kh:
            return key
    return None
