"""X report and Z closing (Kassenabschluss, DSFinV-K Tz. 4.1): totals of one closing period.

    t = totals(journal.records(segment=z_nr))     # streamed: constant memory
    t["vat"][1]       -> [gross, net, vat] of USt-Schlüssel 1 over all Belege
    t["gv"]["Umsatz"] -> gross per GV_TYP
    t["payments"]     -> {"Bar": cents, "ECKarte": cents, ...}
    t["cards"]        -> {"mastercard": [n, cents], "girocard": ...}: card payments by scheme
    t["cash"]         -> cash that should be in the drawer (EUR)

Only receipts of type ``Beleg`` count (training receipts and aborted receipts never do,
DSFinV-K Anhang B). VAT per key is the sum of the receipts' own VAT lines, so the closing adds
up to the cent with the receipts the customers got. The Z closing itself is done by
``Till.close_day``: a counted-cash difference is booked as a signed ``DifferenzSollIst``
receipt first, then the closing is journaled and a new journal segment begins; Z_NR is
continuous and never reset.
"""

from core.calendar import local_text
from core.money import format_cents
from firmware.journal import receipts


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
            row = t["cards"].setdefault(card.get("scheme", ""), [0, 0])
            row[0] += 1
            row[1] += card["amount"]
    return t


def report(kind, t, master, width=42, closing=None):
    """The printed X or Z report as receipt document elements (see firmware.receipts)."""
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
    doc.append(("cut", "", ""))
    return doc
