"""The operator's sale screen (device code, pure): the receipt being rung up on the left, the
article grid of one product group on the right, the payment and function keys below — a scene
for ``hal.screen.Panel`` and the touch areas that map a touch to an intent.

    scene, areas = sale(size, groups, articles, group="food", page=0, lines=..., total=1467)
    intent_at(areas, x, y)    # ("plu", "1001"), ("group", "drinks"), ("page", 1), ("cash",),
                              # ("card",), ("void",), ("abort",), ("subtotal",) or None

``groups`` are (id, name), ``articles`` (plu, name, cents or None for an open price, group
id) in the order the grid shows them; ``lines`` (text, qty text, cents, voided) as the Till's
``sale()`` gives them. The groups are a column of keys on the right; the grid shows
``COLUMNS`` x ``ROWS`` articles of the chosen one a page; "Weiter" and "Zurück" page through a
group with more. Money is ``1.234,56 €``; every label is cut to its key.
"""

from core.money import format_cents
from hal import font
from hal.screen import BLACK, WHITE, fit, rgb, text_width
from ui.customer import money

GREY = rgb(220, 220, 220)
DARK = rgb(60, 60, 60)
BLUE = rgb(0, 70, 140)
GREEN = rgb(0, 120, 60)
RED = rgb(190, 0, 0)
COLUMNS, ROWS = 2, 5
GROUP_W = 136  # the column of group keys
FUNCTIONS = (("Bar", ("cash",), GREEN), ("Karte", ("card",), BLUE), ("Zwischensumme", ("subtotal",), DARK))
FUNCTIONS += (("Storno Zeile", ("void",), RED), ("Abbruch", ("abort",), RED))


def _key(scene, areas, x, y, w, h, label, intent, fg=BLACK, bg=GREY):
    scene.append(("button", x, y, w, h, fit(label, w - 8), fg, bg, 1))
    areas.append((x, y, w, h, intent))


def _receipt(scene, left, width, height, lines, total):
    """The receipt's lines (the latest that fit) and the total, in the left column."""
    bottom = height - 2 * font.HEIGHT - 12
    room = (bottom - 8) // (font.HEIGHT + 2)
    y = 8
    for text, qty, cents, voided in lines[-room:]:
        amount = format_cents(cents)
        name = ("STORNO " if voided else "") + (qty + " " if qty != "1" else "") + text
        rx = left + width - 8 - text_width(amount)
        scene.append(("text", left + 8, y, fit(name, rx - left - 16), RED if voided else BLACK, 1))
        scene.append(("text", rx, y, amount, RED if voided else BLACK, 1))
        y += font.HEIGHT + 2
    scene.append(("rect", left, bottom - 6, width, 2, DARK, True))
    total_text = money(total)
    scene.append(("text", left + 8, bottom, "Summe", BLACK, 2))
    scene.append(("text", left + width - 8 - text_width(total_text, 2), bottom, total_text, BLACK, 2))


def sale(size, groups, articles, group, page, lines, total):
    w, h = size
    scene, areas = [("fill", WHITE)], []
    split = w * 2 // 5  # the receipt: two fifths of the width
    _receipt(scene, 0, split, h - 64, lines, total)
    scene.append(("rect", split, 0, 2, h - 64, DARK, True))
    # the group keys, a column on the right
    gx = w - GROUP_W - 4
    step = min(42, (h - 64 - 8) // max(1, len(groups)))  # they share the column's height
    for i, (gid, name) in enumerate(groups):
        active = gid == group
        fg, bg = (WHITE, BLUE) if active else (BLACK, GREY)
        _key(scene, areas, gx, 4 + i * step, GROUP_W, step - 4, name, ("group", gid), fg, bg)
    # the article grid of this group, a page of it
    mine = [a for a in articles if a[3] == group]
    per_page = COLUMNS * ROWS
    pages = max(1, (len(mine) + per_page - 1) // per_page)
    page = min(max(page, 0), pages - 1)
    left, top = split + 8, 4
    kw = (gx - left - 4) // COLUMNS
    kh = (h - 64 - top - 44) // ROWS
    for i, (plu, name, cents, _) in enumerate(mine[page * per_page : (page + 1) * per_page]):
        row, col = divmod(i, COLUMNS)
        x, y = left + col * kw, top + row * kh
        _key(scene, areas, x, y, kw - 6, kh - 6, name, ("plu", plu))
        price = format_cents(cents) if cents is not None else "Preis?"  # open price: asked at the key
        scene.append(("text", x + kw - 12 - text_width(price), y + kh - 6 - font.HEIGHT - 4, price, DARK, 1))
    nav_y = top + ROWS * kh
    if page > 0:
        _key(scene, areas, left, nav_y, kw - 6, 34, "Zurück", ("page", page - 1))
    if page < pages - 1:
        _key(scene, areas, left + kw, nav_y, kw - 6, 34, "Weiter", ("page", page + 1))
    # the payment and function keys along the bottom
    fw = (w - 8) // len(FUNCTIONS)
    for i, (label, intent, color) in enumerate(FUNCTIONS):
        _key(scene, areas, 4 + i * fw, h - 58, fw - 6, 52, label, intent, WHITE, color)
    return scene, areas


def intent_at(areas, x, y):
    """What a touch at (x, y) asks for, or None (between the keys)."""
    for ax, ay, aw, ah, intent in areas:
        if ax <= x < ax + aw and ay <= y < ay + ah:
            return intent
    return None
