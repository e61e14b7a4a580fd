"""The operator's screens (device code, pure): a view in, ``(scene, areas)`` out, for
``hal.screen.Panel`` and ``ui.kit.intent_at``. ``ui/app.py`` keeps the state and builds the
views; nothing here does I/O.

    scene, areas = sale(size, view)     # also: signon, pay, menu, pick, form, drawer, count, report

Every screen has the header (operator, training mode in orange, the last message). Money is
``1.234,56 €``, quantities ``2`` or ``1,250 kg`` (the Till's ``sale()`` lines).

The sale screen: the receipt on the left with the total and the entry field above the
numeric pad; the article grid of one product group (``COLUMNS`` x ``ROWS`` a page,
"Weiter"/"Zurück") with a column of group keys on the right; two rows of function keys below.
A search typed on the keyboard replaces the group's page with the articles whose name holds it.
"""

from core.money import format_cents
from firmware.reports import DENOMINATIONS
from hal import font
from hal.screen import BLACK, WHITE, fit, text_width
from ui.customer import money
from ui.kit import BLUE, DARK, GREEN, GREY, ORANGE, RED, banner, field, key, pad, right, text

COLUMNS, ROWS = 2, 5
GROUP_W = 136
HEAD = font.HEIGHT + 6  # the header's height
FUNCTIONS = (
    ("Rabatt %", ("discount", "percent"), DARK),
    ("Rabatt €", ("discount", "cents"), DARK),
    ("Rückgabe", ("mode", "return"), DARK),
    ("Pfand zurück", ("mode", "pfand"), DARK),
    ("Storno", ("void",), RED),
    ("Abbruch", ("abort",), RED),
    ("Menü", ("go", "menu"), BLUE),
    ("Zahlen", ("go", "pay"), GREEN),
)
MENU = (
    ("Training an/aus", ("training",)),
    ("Einzahlung", ("form", "Einzahlung")),
    ("Auszahlung", ("form", "Auszahlung")),
    ("Geldtransit", ("form", "Geldtransit")),
    ("Anfangsbestand", ("form", "Anfangsbestand")),
    ("Privatentnahme", ("form", "Privatentnahme")),
    ("Privateinlage", ("form", "Privateinlage")),
    ("Lade öffnen", ("go", "drawer")),
    ("Bon-Kopie", ("pick", "reprint")),
    ("Storno Bon", ("pick", "storno")),
    ("Gutschein verkaufen", ("form", "voucher_sell")),
    ("Gutschein einlösen", ("form", "voucher_redeem")),
    ("Trinkgeld", ("form", "tip")),
    ("Kundenkarte", ("form", "customer")),
    ("X-Bericht", ("report",)),
    ("Z-Abschluss", ("go", "count")),
    ("Abmelden", ("signoff",)),
)
DRAWER_REASONS = ("Wechselgeld", "Kontrolle", "Kundenanfrage", "Sonstiges")


def _header(scene, w, view):
    if view.get("external") is not None:
        banner(scene, w, "Zahlung für externe Kasse: %s EUR" % format_cents(view["external"]), BLUE)
        return
    if view.get("training"):
        banner(scene, w, "TRAINING - keine echten Umsätze", ORANGE)
        return
    scene.append(("rect", 0, 0, w, HEAD - 2, DARK, True))
    text(scene, 6, 2, view.get("operator") or "nicht angemeldet", WHITE)
    note = view.get("note") or ""
    if note:
        right(scene, w - 6, 2, fit(note, w * 2 // 3), WHITE)


def _start(size, view):
    scene, areas = [("fill", WHITE)], []
    _header(scene, size[0], view)
    return scene, areas


def receipt(scene, x, y, w, bottom, lines, total, due=None):
    """The receipt's latest lines that fit between ``y`` and ``bottom``, then the total."""
    room = max(0, (bottom - y - 2 * font.HEIGHT - 12) // (font.HEIGHT + 2))
    for pos, name, qty, cents, voided, unit in lines[-room:] if room else []:
        amount = format_cents(cents)
        count = quantity(qty, unit)
        label = "%d %s%s%s" % (pos, "STORNO " if voided else "", count + " " if count != "1" else "", name)
        rx = x + w - 6 - text_width(amount)
        color = RED if voided or cents < 0 else BLACK
        text(scene, x + 6, y, label, color, 1, rx - x - 12)
        text(scene, rx, y, amount, color)
        y += font.HEIGHT + 2
    line_y = bottom - 2 * font.HEIGHT - 6
    scene.append(("rect", x, line_y, w, 2, DARK, True))
    label, value = ("Summe", total) if due is None else ("Offen", due)
    text(scene, x + 6, line_y + 4, label, BLACK, 2)
    right(scene, x + w - 6, line_y + 4, money(value), BLACK, 2)


def quantity(thousandths, unit=""):
    """A line's quantity as the cashier reads it: ``2``, ``-1``, ``1,5`` or ``1,250 kg``."""
    whole, frac = divmod(abs(thousandths), 1000)
    sign = "-" if thousandths < 0 else ""
    if unit == "kg":
        return "%s%d,%03d kg" % (sign, whole, frac)
    if not frac:
        return "%s%d" % (sign, whole)
    return ("%s%d,%03d" % (sign, whole, frac)).rstrip("0")


def _bon(view):
    bon = view.get("bon") or {}
    return bon.get("lines", []), bon.get("total", 0), bon.get("paid", 0)


def sale(size, view):
    """``view``: bon (the Till's ``sale()``), groups [(id, name)], articles [(plu, name,
    cents or None, group, weighed)], group, page, entry, qty (a typed multiplier), mode,
    search; operator, training, note."""
    w, h = size
    scene, areas = _start(size, view)
    left_w = w * 2 // 5
    lines, total, _ = _bon(view)
    pad_h = 138
    receipt(scene, 0, HEAD + 2, left_w, h - pad_h - 34, lines, total)
    mode = {"return": "Rückgabe: ", "pfand": "Pfand zurück: "}.get(view.get("mode"), "")
    times = view.get("qty")
    field(
        scene,
        4,
        h - pad_h - 30,
        left_w - 8,
        mode + ("%s ×" % times if times else "Eingabe"),
        view.get("entry", ""),
    )
    pad(scene, areas, 4, h - pad_h, left_w - 4, pad_h)
    # the groups on the right, the article grid between
    gx = w - GROUP_W - 4
    fn_top = h - 112
    groups = view["groups"]
    step = min(42, (fn_top - HEAD - 4) // max(1, len(groups)))
    for i, (gid, name) in enumerate(groups):
        fg, bg = (WHITE, BLUE) if gid == view["group"] and not view.get("search") else (BLACK, GREY)
        key(scene, areas, gx, HEAD + 2 + i * step, GROUP_W, step - 4, name, ("group", gid), fg, bg)
    search = view.get("search")
    if search:
        found = [a for a in view["articles"] if search.lower() in a[1].lower()]
    else:
        found = [a for a in view["articles"] if a[3] == view["group"]]
    per_page = COLUMNS * ROWS
    pages = max(1, (len(found) + per_page - 1) // per_page)
    page = min(max(view.get("page", 0), 0), pages - 1)
    left, top = left_w + 8, HEAD + 2
    kw = (gx - left - 4) // COLUMNS
    kh = (fn_top - top - 40) // ROWS
    if search:
        text(scene, left, fn_top - 34, "Suche: %s (%d)" % (search, len(found)), BLUE, 1, kw)
    for i, (plu, name, cents, _, weighed) in enumerate(found[page * per_page : (page + 1) * per_page]):
        row, col = divmod(i, COLUMNS)
        x, y = left + col * kw, top + row * kh
        key(scene, areas, x, y, kw - 6, kh - 6, name, ("plu", plu))
        price = "Preis?" if cents is None else format_cents(cents) + (" /kg" if weighed else "")
        right(scene, x + kw - 12, y + kh - 6 - font.HEIGHT - 4, price, DARK)
    nav_y = top + ROWS * kh
    if page > 0:
        key(scene, areas, left, nav_y, kw - 6, 34, "Zurück", ("page", page - 1))
    if page < pages - 1:
        key(scene, areas, left + kw, nav_y, kw - 6, 34, "Weiter", ("page", page + 1))
    _functions(scene, areas, left_w + 4, fn_top, w - left_w - 8, FUNCTIONS, 2)
    return scene, areas


def _functions(scene, areas, x, y, w, keys, rows):
    per_row = (len(keys) + rows - 1) // rows
    kw = w // per_row
    for i, (label, intent, color) in enumerate(keys):
        r, c = divmod(i, per_row)
        key(scene, areas, x + c * kw, y + r * 56, kw - 6, 50, label, intent, WHITE, color)


def signon(size, view):
    """``view``: operators [(id, name)], chosen (an id or None), digits (PIN digits typed: a
    count, shown as ``*``), entry (the operator number typed)."""
    w, h = size
    scene, areas = _start(size, view)
    text(scene, 24, HEAD + 16, "Anmelden", BLACK, 2)
    chosen = view.get("chosen")
    for i, (oid, name) in enumerate(view["operators"]):
        fg, bg = (WHITE, BLUE) if oid == chosen else (BLACK, GREY)
        key(scene, areas, 24, HEAD + 60 + i * 52, 300, 46, "%s  %s" % (oid, name), ("operator", oid), fg, bg)
    if chosen is None:
        field(scene, 380, HEAD + 60, 380, "Bediener-Nr.", view.get("entry", ""))
        enter = ("Weiter", ("enter",))
    else:
        field(scene, 380, HEAD + 60, 380, "PIN", "*" * view.get("digits", 0))
        enter = ("Anmelden", ("enter",))
    pad(scene, areas, 380, HEAD + 100, 380, h - HEAD - 120, rows=_SIGNON_PAD, enter=enter)
    return scene, areas


_SIGNON_PAD = (("7", "8", "9"), ("4", "5", "6"), ("1", "2", "3"), ("C", "0", "PLU"))


def quick_amounts(due):
    """What a customer is likely to hand over for ``due`` cents: the exact amount, then the next
    round sums of coins and notes above it (1, 5, 10, 20, 50, 100, 200 EUR), at most five."""
    out = [due]
    for step in (100, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        amount = (due + step - 1) // step * step
        if amount > due and amount not in out:
            out.append(amount)
        if len(out) == 5:
            break
    return out


RECEIPT_LABEL = {"paper": "Papier", "digital": "digital", "both": "Papier + digital", "none": "keiner"}


def pay(size, view):
    """``view``: bon, entry; cash given is typed or a quick amount."""
    w, h = size
    scene, areas = _start(size, view)
    lines, total, paid = _bon(view)
    left_w = w * 2 // 5
    receipt(scene, 0, HEAD + 2, left_w, h - 60, lines, total, total - paid)
    if paid:
        text(scene, 6, h - 52, "bezahlt %s" % money(paid), GREEN)
    field(scene, 4, h - 30, left_w - 8, "Gegeben", view.get("entry", ""))
    x = left_w + 8
    text(scene, x, HEAD + 8, "Zu zahlen", DARK, 1)
    text(scene, x, HEAD + 28, money(total - paid), BLACK, 3)
    for i, cents in enumerate(quick_amounts(max(0, total - paid))):
        key(scene, areas, x + i * 92, HEAD + 88, 86, 50, money(cents), ("cash", cents), WHITE, GREEN)
    pad(scene, areas, x, HEAD + 150, 280, 190, enter=("Bar", ("cash", None)))
    side = x + 290
    keys = (
        ("Karte", ("card",), BLUE),
        ("QR abbrechen" if view.get("qr") else "QR-Code", ("qr",), BLUE),
        ("Überweisung", ("transfer",), DARK),
        ("Bon: " + RECEIPT_LABEL.get(view.get("receipt_how") or "paper", "Papier"), ("receipt",), DARK),
        ("Gutschein", ("form", "voucher_redeem"), DARK),
        ("Punkte einlösen", ("form", "points"), DARK),
        ("Bon-Rabatt %", ("bon_discount", "percent"), DARK),
        ("Bon-Rabatt €", ("bon_discount", "cents"), DARK),
        ("Zurück", ("go", "sale"), GREY),
    )
    step = min(48, (h - HEAD - 156) // len(keys))
    for i, (label, intent, color) in enumerate(keys):
        fg = BLACK if color == GREY else WHITE
        key(scene, areas, side, HEAD + 150 + i * step, w - side - 6, step - 6, label, intent, fg, color)
    return scene, areas


def menu(size, view):
    w, h = size
    scene, areas = _start(size, view)
    cols = 4
    kw, kh = (w - 16) // cols, 64
    for i, (label, intent) in enumerate(MENU + (("Zurück", ("go", "sale")),)):
        r, c = divmod(i, cols)
        on = intent == ("training",) and view.get("training")
        fg, bg = (WHITE, ORANGE) if on else (BLACK, GREY)
        key(scene, areas, 8 + c * kw, HEAD + 12 + r * (kh + 8), kw - 8, kh, label, intent, fg, bg)
    return scene, areas


def drawer(size, view):
    w, _ = size
    scene, areas = _start(size, view)
    text(scene, 24, HEAD + 16, "Lade öffnen: Grund", BLACK, 2)
    for i, reason in enumerate(DRAWER_REASONS):
        key(scene, areas, 24, HEAD + 64 + i * 60, w - 48, 52, reason, ("drawer", reason))
    key(scene, areas, 24, HEAD + 64 + len(DRAWER_REASONS) * 60, 200, 52, "Zurück", ("go", "menu"))
    return scene, areas


def pick(size, view):
    """A receipt from the journal: ``view["receipts"]`` [(bon_nr, time text, cents, kind)], the
    newest first; ``view["purpose"]`` "storno" or "reprint"."""
    w, h = size
    scene, areas = _start(size, view)
    title = "Storno: welcher Bon?" if view["purpose"] == "storno" else "Kopie: welcher Bon?"
    text(scene, 24, HEAD + 10, title, BLACK, 2)
    rows = (h - HEAD - 120) // 44
    for i, (bon_nr, when, cents, kind) in enumerate(view["receipts"][:rows]):
        label = "Bon %d   %s   %s   %s" % (bon_nr, when, money(cents), kind)
        key(scene, areas, 24, HEAD + 50 + i * 44, w - 48, 40, label, ("bon", bon_nr))
    if not view["receipts"]:
        text(scene, 24, HEAD + 60, "keine Belege in diesem Abschluss", DARK)
    key(scene, areas, 24, h - 60, 200, 52, "Zurück", ("go", "menu"))
    return scene, areas


def form(size, view):
    """An amount or a number typed for ``view["title"]``: ``view["label"]``, ``entry``."""
    w, h = size
    scene, areas = _start(size, view)
    text(scene, 24, HEAD + 16, view["title"], BLACK, 2)
    field(scene, 24, HEAD + 64, 360, view["label"], view.get("entry", ""))
    pad(scene, areas, 24, HEAD + 104, 360, h - HEAD - 124, rows=_FORM_PAD, enter=("OK", ("enter",)))
    key(scene, areas, 420, h - 72, 200, 52, "Abbrechen", ("go", view.get("back", "menu")))
    return scene, areas


_FORM_PAD = (("7", "8", "9", "←"), ("4", "5", "6", "C"), ("1", "2", "3", ","), ("0", "00", "-", "PLU"))


def count(size, view):
    """The Z closing's cash count: ``view["counts"]`` {cents: pieces}, ``chosen`` the
    denomination being typed, ``entry``; the sum and the expected cash."""
    w, h = size
    scene, areas = _start(size, view)
    counts, chosen = view["counts"], view.get("chosen")
    text(scene, 8, HEAD + 4, "Z-Abschluss: Kasse zählen", BLACK, 1)
    for i, cents in enumerate(DENOMINATIONS):
        col, r = divmod(i, 8)
        x, y = 8 + col * 196, HEAD + 26 + r * 46
        n = counts.get(cents, 0)
        label = "%s x %d" % (money(cents), n)
        fg, bg = (WHITE, BLUE) if cents == chosen else (BLACK, GREY)
        key(scene, areas, x, y, 188, 40, label, ("denomination", cents), fg, bg)
    counted = sum(c * n for c, n in counts.items())
    x = 408
    text(scene, x, HEAD + 4, "Gezählt %s" % money(counted), BLACK, 1)
    if view.get("expected") is not None:
        right(scene, w - 8, HEAD + 4, "Soll %s" % money(view["expected"]), DARK)
    field(scene, x, HEAD + 26, w - x - 8, "Stück" if chosen else "Sorte wählen", view.get("entry", ""))
    pad(scene, areas, x, HEAD + 64, w - x - 8, 250, rows=_COUNT_PAD, enter=("OK", ("enter",)))
    key(scene, areas, x, h - 60, 180, 52, "Zurück", ("go", "menu"))
    key(scene, areas, w - 196, h - 60, 188, 52, "Abschluss drucken", ("close",), WHITE, RED)
    return scene, areas


_COUNT_PAD = (("7", "8", "9", "←"), ("4", "5", "6", "C"), ("1", "2", "3", "0"), ("00", "000", "PLU"))


def chart(scene, x, y, w, h, title, bars, color=BLUE):
    """A bar chart (``hal.screen``'s ``bars`` widget): ``bars`` [(label, cents)]."""
    scene.append(("bars", x, y, w, h, title, tuple(tuple(b) for b in bars), BLACK, color, RED))


def report(size, view):
    """The X report: ``view["charts"]`` from ``firmware.reports.charts`` (by hour, product group,
    payment type, the top articles) and the period's total; "Drucken" prints it."""
    w, h = size
    scene, areas = _start(size, view)
    charts = view["charts"]
    text(
        scene,
        8,
        HEAD + 4,
        "X-Bericht: Umsatz %s, %d Belege" % (money(charts["total"]), charts["belege"]),
        BLACK,
    )
    half, body = (w - 24) // 2, h - HEAD - 96
    chart(scene, 8, HEAD + 28, half, body // 2, "Nach Stunde", charts["hours"])
    chart(scene, 16 + half, HEAD + 28, half, body // 2, "Nach Warengruppe", charts["groups"], GREEN)
    chart(scene, 8, HEAD + 36 + body // 2, half, body // 2, "Nach Zahlart", charts["payments"], ORANGE)
    chart(scene, 16 + half, HEAD + 36 + body // 2, half, body // 2, "Top-Artikel", charts["articles"], DARK)
    key(scene, areas, 8, h - 60, 180, 52, "Zurück", ("go", "menu"))
    key(scene, areas, w - 196, h - 60, 188, 52, "Drucken", ("print_x",), WHITE, BLUE)
    return scene, areas


SCREENS = {
    "signon": signon,
    "sale": sale,
    "pay": pay,
    "menu": menu,
    "drawer": drawer,
    "pick": pick,
    "form": form,
    "count": count,
    "report": report,
}
