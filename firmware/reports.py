"""X report and Z closing (Kassenabschluss, DSFinV-K Tz. 4.1): totals of one closing period.

    t = totals(journal.records(segment=z_nr))     # streamed: constant memory
    t["vat"][1]       -> [gross, net, vat] of USt-Schlüssel 1 over all Belege
    t["gv"]["Umsatz"] -> gross per GV_TYP
    t["payments"]     -> {"Bar": cents, "ECKarte": cents, ...}
    t["cards"]        -> {"mastercard": [n, cents], "girocard": ...}: card and wallet payments by
                         scheme (an external terminal's by the card name it reported)
    t["cash"]         -> cash that should be in the drawer (EUR)

Only receipts of type ``Beleg`` count (training receipts and aborted receipts never do,
DSFinV-K Anhang B). VAT per key is the sum of the receipts' own VAT lines, so the closing adds
up to the cent with the receipts the customers got. The Z closing itself is done by
``Till.close_day``: a counted-cash difference is booked as a signed ``DifferenzSollIst``
receipt first, then the closing is journaled and a new journal segment begins; Z_NR is
continuous and never reset.
"""

from core.calendar import local_fields, local_text
from core.money import format_cents
from firmware.journal import receipts
from hal import font
from hal.screen import Panel


def totals(records):
    t = {
        "belege": 0,
        "first_bon": None,
        "last_bon": None,
        "training": 0,
        "aborted": 0,
        "tse_failures": 0,
        "vat": {},
        "gv": {},
        "payments": {},
        "cards": {},
        "cash": 0,
        "total": 0,
    }
    for bon in receipts(records):
        if bon["bon_typ"] == "AVTraining":
            t["training"] += 1
            continue
        if bon["bon_typ"] == "AVBelegabbruch":
            t["aborted"] += 1
            continue
        t["belege"] += 1
        t["first_bon"] = bon["bon_nr"] if t["first_bon"] is None else min(t["first_bon"], bon["bon_nr"])
        t["last_bon"] = bon["bon_nr"] if t["last_bon"] is None else max(t["last_bon"], bon["bon_nr"])
        if bon.get("tse_failure") and "tse" not in bon:
            t["tse_failures"] += 1
        t["total"] += bon["total"]
        for key, _rate, gross, net, vat in bon["vat"]:
            row = t["vat"].setdefault(key, [0, 0, 0])
            row[0] += gross
            row[1] += net
            row[2] += vat
        for line in bon["lines"]:
            t["gv"][line["gv_typ"]] = t["gv"].get(line["gv_typ"], 0) + line["amount"]
        for p in bon["payments"]:
            t["payments"][p["typ"]] = t["payments"].get(p["typ"], 0) + p["amount"]
            if p["typ"] == "Bar":
                t["cash"] += p["amount"]
        for card in bon.get("cards", ()):
            if card.get("via") == "transfer":  # a SEPA transfer awaited: in payments, not a card
                continue
            row = t["cards"].setdefault(card.get("scheme", ""), [0, 0])
            row[0] += 1
            row[1] += card["amount"]
    return t


def _ranked(sums, n=None):
    bars = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
    return bars if n is None else bars[:n]


def charts(records, top=5):
    """What the report screens and the printed Z draw as bar charts, over the receipts of
    ``records`` that count (as in ``totals``): ``hours`` [("08-09 Uhr", cents)] in the order of
    the day, ``groups`` and ``payments`` [(name, cents)] the largest first, ``articles`` the
    ``top`` articles by turnover; with ``total`` and ``belege``."""
    hours, groups, payments, articles = {}, {}, {}, {}
    total = belege = 0
    for bon in receipts(records):
        if bon["bon_typ"] != "Beleg":
            continue
        belege += 1
        total += bon["total"]
        hour = local_fields(bon["end"])[3]
        hours[hour] = hours.get(hour, 0) + bon["total"]
        for line in bon["lines"]:
            if line.get("group"):
                groups[line["group"]] = groups.get(line["group"], 0) + line["amount"]
            if line["gv_typ"] == "Umsatz" and not line.get("storno"):
                articles[line["text"]] = articles.get(line["text"], 0) + line["amount"]
        for p in bon["payments"]:
            payments[p["name"] or p["typ"]] = payments.get(p["name"] or p["typ"], 0) + p["amount"]
    return {
        "hours": [("%02d-%02d Uhr" % (h, h + 1), hours[h]) for h in sorted(hours)],
        "groups": _ranked(groups),
        "payments": _ranked(payments),
        "articles": _ranked(articles, top),
        "total": total,
        "belege": belege,
    }


# the euro's notes and coins in cents: the Z closing's cash count
DENOMINATIONS = (50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1)
CHART_ROWS = 10  # bars a printed chart shows at most
CHARTS = (("hours", "Umsatz nach Stunde"), ("groups", "Nach Warengruppe"), ("payments", "Nach Zahlart"))
CHARTS += (("articles", "Top-Artikel"),)


def picture(pictures, width):
    """The charts as one raster image ``width`` dots wide: ``(width, height, bits)``."""
    rows = [min(CHART_ROWS, max(1, len(pictures[key]))) for key, _ in CHARTS]
    step = font.HEIGHT + 2  # a bar a row, as hal/screen.py draws them
    height = sum(font.HEIGHT + 4 + n * step + 12 for n in rows)
    panel = Panel(width, height, mono=True)
    scene, y = [("fill", 0)], 0
    for (key, title), n in zip(CHARTS, rows):
        h = font.HEIGHT + 4 + n * step
        scene.append(("bars", 0, y, width, h, title, tuple(tuple(b) for b in pictures[key][:n]), 1, 1, 1))
        y += h + 12
    panel.render(scene)
    return width, height, panel.buf


def report(kind, t, master, width=42, closing=None, pictures=None):
    """The printed X or Z report as receipt document elements (see firmware.receipts); with
    ``pictures`` (``charts``) the day's bar charts as a raster image, 12 dots a column wide."""
    doc = []

    def line(text, style=""):
        doc.append(("line", text, style))

    def row(left, cents):
        right = format_cents(cents)
        line(left + " " * max(1, width - len(left) - len(right)) + right)

    line(master.business["name"], "cb")
    title = "Z-Bon Nr. %d" % closing["z_nr"] if closing else "X-Bericht (kein Abschluss)"
    line(title, "cbd")
    if closing:
        line(local_text(closing["time"]), "c")
    line("-" * width)
    line("Belege: %d (Bon %s bis %s)" % (t["belege"], t["first_bon"], t["last_bon"]))
    line("Training: %d  Abbrueche: %d  TSE-Ausfall: %d" % (t["training"], t["aborted"], t["tse_failures"]))
    line("-" * width)
    for gv in sorted(t["gv"]):
        row(gv, t["gv"][gv])
    line("-" * width)
    for key in sorted(t["vat"]):
        gross, net, vat = t["vat"][key]
        row("USt %d brutto" % key, gross)
        row("      netto", net)
        row("      USt", vat)
    line("-" * width)
    for typ in sorted(t["payments"]):
        row(typ, t["payments"][typ])
    for scheme in sorted(t["cards"]):
        n, cents = t["cards"][scheme]
        row("  %s (%d)" % (scheme, n), cents)
    if closing:
        row("Soll-Bestand Bar", closing["expected"])
        row("Gezaehlt", closing["counted"])
        row("Differenz (gebucht)", closing["difference"])
    else:
        row("Soll-Bestand Bar", t["cash"])
    if closing and closing.get("count"):
        line("-" * width)
        line("Kassenzählung", "b")
        for cents, pieces in closing["count"]:
            row("%4d x %s" % (pieces, format_cents(cents)), pieces * cents)
    if pictures is not None:
        line("-" * width)
        doc.append(
            ("image", picture(pictures, width * 12), "Umsatz nach Stunde, Warengruppe, Zahlart; Top-Artikel")
        )
    doc.append(("cut", "", ""))
    return doc
