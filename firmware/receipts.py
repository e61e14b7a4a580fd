"""Receipts: a document built from a journal record, rendered to plain text and to ESC/POS.

    doc = receipt(record, master, width=42)            # reprint=True on a copy
    text = to_text(doc)                                # what the .txt file and a display show
    data = to_escpos(doc, printer.caps)                # bytes for that printer (QR, cutter, PC858)

The document is a list of elements ``(kind, value, style)``: ``("line", text, style)`` with
style letters ``b`` bold, ``c`` centred, ``r`` right, ``d`` double size; ``("qr", data, "")``;
``("image", (width, height, bits), title)`` a raster picture (MONO_HLSB rows, 1 printed: the
report's charts); ``("cut", "", "")``. Layout lives here, never in a printer driver.

What a receipt shows (§ 6 KassenSichV, AEAO zu § 146a Nr. 2.4.4): the seller's full name and
address; the date and the TSE's start and end time; quantity and kind of every article; the
gross amount and the VAT in one sum per rate, with the rate (net, VAT, gross); the amount per
payment type and the change; the transaction number; the signature counter; the serial numbers
of the register and of the TSE; the signature; and the TSE's QR code (DSFinV-K Anhang I).
"Trainingsbeleg", "TSE ausgefallen" and reprints ("Kopie") stand out at top and bottom.
"""

from core.calendar import iso8601, local_text
from core.money import format_cents
from firmware.register.vat import VAT_KEYS
from hal.escpos import CENTER, LEFT, RIGHT, EscPos
from hal.printer import PrinterCaps

VAT_LETTERS = "ABCDEFG"  # USt-Schlüssel 1..7
TEAR_LINES = 5  # paper fed after a receipt on a printer without a cutter


def _pad(left, right, width):
    gap = width - len(left) - len(right)
    if gap < 1:
        left = left[: max(0, width - len(right) - 1)]
        gap = width - len(left) - len(right)
    return left + " " * gap + right


def _rate_text(rate):
    return "%d,%02d %%" % (rate // 100, rate % 100)


def _milli(qty, keep_zeros):
    """Thousandths as a German decimal: 1234 -> ``1,234``; 1500 -> ``1,5`` unless ``keep_zeros``."""
    whole, frac = divmod(abs(qty), 1000)
    text = "%s%d,%03d" % ("-" if qty < 0 else "", whole, frac)
    if not keep_zeros:
        text = text.rstrip("0").rstrip(",")
    return text


def _qty_text(line):
    price = format_cents(line["price"])
    if line.get("unit") == "kg":
        return "%s kg x %s EUR/kg" % (_milli(line["qty"], True), price)
    return "%s x %s" % (_milli(line["qty"], False), price)


def _wrap(text, width):
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def _address(doc, business, style):
    doc.append(("line", business["name"], style))
    doc.append(("line", business["street"], "c"))
    doc.append(("line", "%s %s" % (business["zip"], business["city"]), "c"))


def receipt(record, master, width=42, reprint=False):
    """The document of one journaled receipt (``beleg`` record data)."""
    doc = []
    rule = ("line", "-" * width, "")

    def line(text="", style=""):
        doc.append(("line", text, style))

    banners = []
    if record["bon_typ"] == "AVTraining":
        banners.append("*** TRAININGSBELEG ***")
    if record.get("tse_failure"):
        banners.append("*** TSE AUSGEFALLEN ***")
    if reprint:
        banners.append("*** KOPIE ***")
    if record["bon_typ"] == "AVBelegabbruch":
        banners.append("*** ABBRUCH ***")
    business = master.business
    _address(doc, business, "cbd")
    if business.get("stnr"):
        line("St.-Nr. " + business["stnr"], "c")
    if business.get("ustid"):
        line("USt-IdNr. " + business["ustid"], "c")
    for banner in banners:
        line(banner, "cbd")
    if record.get("bon_name"):
        line(record["bon_name"], "cb")
    doc.append(rule)
    line(_pad("Bon %d" % record["bon_nr"], local_text(record["end"]), width))
    line(_pad("Kasse " + master.register["serial"], record.get("operator", {}).get("name", ""), width))
    doc.append(rule)
    for ln in record["lines"]:
        marker = " " + VAT_LETTERS[ln["vat_key"] - 1]
        text = ("STORNO " if ln.get("storno") else "") + ln["text"]
        line(_pad(text, format_cents(ln["amount"]) + marker, width))
        if ln["qty"] != 1000 or ln.get("unit") == "kg":
            line("  " + _qty_text(ln))
    doc.append(rule)
    doc.append(("line", _pad("SUMME EUR", format_cents(record["total"]), width // 2), "bd"))
    for p in record["payments"]:
        amount = p["amount"] + (record["change"] if p["typ"] == "Bar" else 0)
        line(_pad(p["name"], format_cents(amount), width))
    for card in record.get("cards", ()):
        line("  %s %s" % (card.get("label", ""), card.get("pan", "")))
    if record["change"]:
        line(_pad("Rückgeld", format_cents(record["change"]), width))
    kunde = record.get("kunde")
    if kunde:  # a loyalty customer: what this receipt earned and redeemed, the balance after it
        doc.append(rule)
        line(_pad("Kundenkarte", kunde["card"], width))
        line(kunde["name"])
        if kunde["redeemed"]:
            line(_pad("Punkte eingelöst", str(kunde["redeemed"]), width))
        line(_pad("Punkte gesammelt", "+%d" % kunde["points"], width))
        line(_pad("Punktestand", str(kunde["balance"]), width))
    if record["vat"]:
        doc.append(rule)
        line(_pad("  Satz", "Netto      USt    Brutto", width))
        for key, rate, gross, net, vat in record["vat"]:
            cols = "%10s%9s%10s" % (format_cents(net), format_cents(vat), format_cents(gross))
            line(_pad("%s %s" % (VAT_LETTERS[key - 1], _rate_text(rate)), cols, width))
        exempt = [k for k, *_ in record["vat"] if k >= 5]
        for key in exempt:
            line("%s: %s" % (VAT_LETTERS[key - 1], VAT_KEYS[key][1]))
    doc.append(rule)
    tse = record.get("tse")
    if tse:
        line(_pad("TSE-Transaktion", str(tse["number"]), width))
        line(_pad("TSE-Signaturzähler", str(tse["counter"]), width))
        line(_pad("TSE-Start", iso8601(tse["start"]), width))
        line(_pad("TSE-Stop", iso8601(tse["end"]), width))
        line("TSE-Seriennummer:")
        for part in _wrap(tse["serial"], width):
            line(part)
        line(_pad("Kassen-Seriennummer", tse["client_id"], width))
        line("TSE-Signatur:")
        for part in _wrap(tse["signature"], width):
            line(part)
        line(_pad("Zeitformat", "unixTime", width))
        line(_pad("Hashalgorithmus", "ecdsa-plain-SHA384", width))
        doc.append(("qr", tse["qr"], ""))
    else:
        line("TSE ausgefallen:", "b")
        for part in _wrap(record.get("tse_failure", ""), width):
            line(part)
        line(_pad("Start", local_text(record["start"]), width))
        line(_pad("Ende", local_text(record["end"]), width))
        line(_pad("Kassen-Seriennummer", master.register["serial"], width))
    for banner in banners:
        line(banner, "cbd")
    line("Vielen Dank für Ihren Einkauf!", "c")
    doc.append(("cut", "", ""))
    return doc


# CVM Results (9F34) byte 1, bits 1-6: what the slip says of the cardholder's verification.
_CVM_TEXT = {0x01: "PIN", 0x02: "Online-PIN", 0x04: "PIN", 0x1E: "Unterschrift", 0x1F: "KEIN CVM"}
CUSTOMER, MERCHANT = "KUNDENBELEG", "HÄNDLERBELEG"


def _cvm_text(card):
    if card.get("cdcvm"):
        return "Verifiziert am Gerät"
    code = int(card.get("cvm", "3F0000")[:2], 16) & 0x3F
    return _CVM_TEXT.get(code, "KEIN CVM")


def slip(record, card, copy, master, width=42, simulation=True):
    """The card slip of one card payment of a receipt, as German terminals print it: ``copy``
    ``CUSTOMER`` or ``MERCHANT`` (the merchant's copy with a signature line when the card asked
    for one). ``simulation``: test keys and a simulated acquirer, said on the slip."""
    doc = []

    def line(text, style=""):
        doc.append(("line", text, style))

    def pair(left, right):
        line(_pad(left, right, width))

    _address(doc, master.business, "cb")
    line("- " + " ".join(copy) + " -", "cb")
    refund = card["amount"] < 0
    reversal = card.get("reversal")  # our PT side's Storno for an external register
    line("Storno" if reversal else "Gutschrift" if refund else "Kartenzahlung", "c")
    line("Kontaktlos" if card.get("entry") == "contactless" else "Chip", "c")
    pair("Datum", local_text(record["end"]))
    if card.get("tid"):
        pair("Terminal-ID", card["tid"])
    if card.get("trace"):
        pair("Trace-Nr.", card["trace"])
    pair("Beleg-Nr.", str(record["bon_nr"]))
    pair("Karte", card.get("label", ""))
    pair("PAN", card.get("pan", ""))
    pair("EMV-AID", card.get("aid", ""))
    if card.get("atc") is not None:
        pair("ATC", str(card["atc"]))
    doc.append(("line", _pad("EUR", format_cents(abs(card["amount"])), width // 2), "bd"))
    if card.get("auth_code"):
        pair("Genehmigungs-Nr.", card["auth_code"])
    else:
        pair("Genehmigung", "offline (%s)" % response_code(card))
    cvm = _cvm_text(card)
    if copy == MERCHANT or cvm != "KEIN CVM":
        pair("Verifikation", cvm)
    line("Storno erfolgt" if reversal else "Gutschrift erfolgt" if refund else "Zahlung erfolgt", "cb")
    if copy == MERCHANT and cvm == "Unterschrift":
        line("")
        line("Unterschrift: " + "_" * (width - 14))
    if copy == CUSTOMER:
        line("BITTE BELEG AUFBEWAHREN", "c")
    if simulation:
        line("SIMULATION", "cbd")
        line("KEINE ZAHLUNG", "cb")
    doc.append(("cut", "", ""))
    return doc


def payment_slips(record, master, width=42, simulation=True):
    """What is printed after the receipt for each of its card payments: our slips (the
    merchant's copy, then the customer's); an external ZVT terminal's receipts as it sent them;
    for a SEPA transfer still awaited, its GiroCode."""
    doc = []
    for card in record.get("cards", ()):
        if card.get("via") == "transfer":
            doc += [("line", "Bon %d: Überweisung erwartet" % record["bon_nr"], "cb")]
            doc += [("qr", card["girocode"], "")]
            doc += [("line", "IBAN und Betrag im GiroCode", "c"), ("cut", "", "")]
        elif "lines" in card:
            for lines in card["lines"]:
                doc += [("line", text, "") for text in lines] + [("cut", "", "")]
        else:
            for copy in (MERCHANT, CUSTOMER):
                doc += slip(record, card, copy, master, width, simulation)
    return doc


def response_code(card):
    """The card record's authorisation response code as text ("00", "Y1"; journaled as hex)."""
    arc = card.get("arc", "")
    try:
        return bytes(int(arc[i : i + 2], 16) for i in range(0, len(arc), 2)).decode()
    except ValueError:
        return arc


def to_text(doc):
    """Plain text: what the receipt says, the QR code as its content on one line."""
    out = []
    for kind, value, style in doc:
        if kind == "line":
            out.append(value)
        elif kind == "qr":
            out.append("[QR] " + value)
        elif kind == "image":
            out.append("[Grafik] " + style)
    return "\n".join(out) + "\n"


def to_escpos(doc, caps=None, qr_size=3, sink=None):
    """ESC/POS for a printer with ``caps`` (``hal.printer.PrinterCaps``; the default has QR and
    a cutter): PC858 code page, styles, the printer's native QR, feed and cut. A printer without
    QR gets the code's content as text lines (every value of it is on the receipt anyway), one
    without a cutter a few lines of paper to tear at. Returns the bytes, or with ``sink``
    streams them there piece by piece (no buffer of the whole receipt)."""
    caps = caps or PrinterCaps()
    out = EscPos(sink).init().codepage()
    current = None  # style commands only where the style changes
    for kind, value, style in doc:
        if kind == "line":
            if style != current:
                out.align(CENTER if "c" in style else RIGHT if "r" in style else LEFT)
                out.bold("b" in style)
                out.size("d" in style, "d" in style)
                current = style
            out.text(value + "\n")
        elif kind == "qr" and caps.qr:
            out.align(CENTER).qr(value, size=qr_size, ec="M").feed(1)
            current = None
        elif kind == "qr":
            out.align(LEFT).bold(False).size().text("QR-Code:\n")
            for part in _wrap(value, caps.columns):
                out.text(part + "\n")
            current = None
        elif kind == "image":
            out.align(CENTER).raster(*value)
            current = None
        elif kind == "cut":
            out.align(LEFT).bold(False).size()
            if caps.cutter:
                out.cut()
            else:
                out.feed(TEAR_LINES)
    return out.take()
