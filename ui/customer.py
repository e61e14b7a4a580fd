"""The customer screen (device code, pure): what the customer sees, as scenes for
``hal.screen.Panel`` — state in, widgets out; no I/O.

    welcome(size, "Mustermann Feinkost GmbH")
    sale(size, [("Kaffee Crema 250 g", 1098), ...], total=1467)   # the latest lines, the total
    message(size, "Betrag 12,50 €", "Karte bitte")                  # the card prompts
    change(size, 533); thanks(size, 1467)
    qr(size, "https://...", "Ihr digitaler Bon")                    # a code for the customer's phone

``size`` is the panel's (width, height) as the board names it (480 x 272 on the sim board).
Money is ``1.234,56 €``. The PIN pad is not drawn here: while the PIN is typed the PIN pad
(hal/touchpin.py) holds the panel and draws its own screens (hal/pinscreen.py).
"""

from core.money import format_cents
from hal import font
from hal.screen import BLACK, WHITE, fit, rgb, text_width

GREY = rgb(96, 96, 96)
BLUE = rgb(0, 70, 140)


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


def sale(size, lines, total, customer=None):
    """The receipt as it is rung up: as many of the latest ``lines`` ((text, cents)) as fit,
    and the total, large, at the bottom; ``customer``: a loyalty customer's line on top (name
    and points)."""
    w, h = size
    scene = [("fill", WHITE)]
    bottom = h - 2 * font.HEIGHT - 16
    y = 8
    if customer:
        scene.append(("text", 8, y, fit(customer, w - 16), BLUE, 1))
        y += font.HEIGHT + 8
    room = max(0, (bottom - y) // (font.HEIGHT + 4))
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


def qr(size, text, caption):
    """A QR code for the customer's phone, as large as fits above ``caption``."""
    from core.qr import encode

    w, h = size
    modules = encode(text.encode(), "M").size + 8
    scale = max(1, min(w, h - 40) // modules)
    side = modules * scale
    scene = [("fill", WHITE), ("qr", (w - side) // 2, 4, text, scale, BLACK, WHITE)]
    scene.append(_centred(w, h - 28, fit(caption, w), BLACK, 1))
    return scene
