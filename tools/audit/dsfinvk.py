"""Check a DSFinV-K export as an auditor's tools would, and louder: parse what is there.

    report = check_dsfinvk("out/demo/dsfinvk.zip")     # a ZIP or a folder
    report.ok, report.problems                          # "rule: file line n: what is wrong"

Rules (each problem starts with its rule's name):

- ``dtd``: index.xml is valid against the GDPdU DTD it names (libxml2 via lxml, with the
  deterministic rewrite of the 2004 DTD, which libxml2 needs) and the DTD file is in the export.
- ``index``: the tables and columns are exactly those of the official reference index.xml (same
  files, names, order, types, places, lengths); only TSE_ZERTIFIKAT_III... may follow in tse.csv.
- ``pretix``: what pretix's ``dsfinvk`` validator (PyPI) reports, including what it only prints.
- ``csv``: UTF-8, CRLF records, the header row, the column count of every row.
- ``format``: numbers with exactly the declared places, text within its MaxLength, flags 0/1.
- ``lists``: BON_TYP, GV_TYP, ZAHLART_TYP, USt-Schlüssel (and their rates), REF_TYP, TYP values
  of the DSFinV-K's lists.
- ``sums``: lines ↔ lines_vat ↔ transactions_vat ↔ transactions ↔ datapayment per receipt;
  businesscases, payment, cash_per_currency and cashpointclosing ↔ the receipts of type Beleg.
- ``tse``: every transactions_tse row signed (number, counter, signature) or with a TSE_TA_FEHLER;
  its TSE_ID in tse.csv; processData rebuilt from transactions, transactions_vat and datapayment
  (DSFinV-K Anhang I) equal to TSE_VORGANGSDATEN.
- ``closing``: Z_NR continuous, every row's closing known and named the same way in every file,
  the mandatory tables of each closing filled, STNR or USTID given, Z_START_ID/Z_ENDE_ID right.

A store's export of several registers is checked register by register (Z_KASSE_ID): each has
its own closings, receipt numbers and TSE; the findings then name the register.

Independent of the exporter (firmware/exports): nothing of it is imported here.
"""

import contextlib
import csv
import io
import os
import re
import zipfile
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from tools.upy import ROOT

REFERENCE = ROOT / "data" / "dsfinvk"
OFFICIAL_INDEX = REFERENCE / "index.xml"
DETERMINISTIC_DTD = REFERENCE / "gdpdu-01-09-2004.deterministic.dtd"

BON_TYP = {
    "Beleg",
    "AVRechnung",
    "AVTransfer",
    "AVBestellung",
    "AVTraining",
    "AVBelegstorno",
    "AVBelegabbruch",
    "AVSachbezug",
    "AVSonstige",
}
GV_TYP = {
    "Umsatz",
    "Pfand",
    "PfandRueckzahlung",
    "Rabatt",
    "Aufschlag",
    "ZuschussEcht",
    "ZuschussUnecht",
    "TrinkgeldAG",
    "TrinkgeldAN",
    "EinzweckgutscheinKauf",
    "EinzweckgutscheinEinloesung",
    "MehrzweckgutscheinKauf",
    "MehrzweckgutscheinEinloesung",
    "Forderungsentstehung",
    "Forderungsaufloesung",
    "Anzahlungseinstellung",
    "Anzahlungsaufloesung",
    "Anfangsbestand",
    "Privatentnahme",
    "Privateinlage",
    "Geldtransit",
    "Lohnzahlung",
    "Einzahlung",
    "Auszahlung",
    "DifferenzSollIst",
}
ZAHLART_TYP = {"Bar", "Unbar", "Keine", "ECKarte", "Kreditkarte", "ElZahlungsdienstleister", "Guthabenkarte"}
# USt-Schlüssel with a fixed rate (DSFinV-K 2.4 Tz. 3.2.6); 1000 and above are free.
UST_RATES = {
    1: Decimal("19.00"),
    2: Decimal("7.00"),
    3: Decimal("10.70"),
    4: Decimal("5.50"),
    5: Decimal("0.00"),
    6: Decimal("0.00"),
    7: Decimal("0.00"),
    11: Decimal("19.00"),
    12: Decimal("7.00"),
    21: Decimal("16.00"),
    22: Decimal("5.00"),
}
# processData slots (Anhang I): 19 / 7 / 10,7 / 5,5 / 0 %.
SLOT_OF_RATE = {Decimal("19.00"): 0, Decimal("7.00"): 1, Decimal("10.70"): 2, Decimal("5.50"): 3}
REF_TYP = {"Transaktion", "ExterneRechnung", "ExternerLieferschein", "ExterneSonstige"}
PF_TYP = {"base_amount", "discount", "extra_amount"}
FLAGS = {
    "transactions.csv": ("BON_STORNO",),
    "lines.csv": ("INHAUS", "P_STORNO"),
    "cashregister.csv": ("KEINE_UST_ZUORDNUNG",),
}
Z_KEY = ("Z_KASSE_ID", "Z_ERSTELLUNG", "Z_NR")
MASTER_TABLES = ("location.csv", "cashregister.csv", "vat.csv")
CLOSING_TABLES = ("businesscases.csv", "payment.csv", "cash_per_currency.csv")
CENT = Decimal("0.01")


class Column:
    def __init__(self, node):
        self.name = node.findtext("Name")
        numeric = node.find("Numeric")
        self.numeric = numeric is not None
        self.places = int(numeric.findtext("Accuracy") or 0) if self.numeric else None
        self.max_length = None if self.numeric else int(node.findtext("MaxLength") or 0) or None

    def kind(self):
        return "Numeric(%d)" % self.places if self.numeric else "AlphaNumeric(%s)" % self.max_length


class Table:
    def __init__(self, node):
        self.url = node.findtext("URL")
        self.name = node.findtext("Name")
        self.columns = [Column(c) for c in node.iter("VariableColumn")]
        self.decimal = node.findtext("DecimalSymbol")
        self.grouping = node.findtext("DigitGroupingSymbol")
        self.delimiter = node.findtext("VariableLength/ColumnDelimiter")
        self.record = node.findtext("VariableLength/RecordDelimiter")
        self.quote = node.findtext("VariableLength/TextEncapsulator")
        self.utf8 = node.find("UTF8") is not None


def tables_of(index_bytes):
    root = etree.fromstring(index_bytes)
    return [Table(t) for t in root.iter("Table")]


class Report:
    def __init__(self):
        self.problems = []
        self.rows = {}

    @property
    def ok(self):
        return not self.problems

    def add(self, rule, text):
        self.problems.append("%s: %s" % (rule, text))


def read_export(source):
    """``{name: bytes}`` of a ZIP file or a folder."""
    if os.path.isdir(source):
        out = {}
        for name in sorted(os.listdir(source)):
            with open(os.path.join(source, name), "rb") as f:
                out[name] = f.read()
        return out
    with zipfile.ZipFile(source) as z:
        return {name: z.read(name) for name in z.namelist()}


# --- index.xml -------------------------------------------------------------------------------


def check_dtd(report, files):
    index = files["index.xml"]
    try:
        doc = etree.fromstring(index, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as e:
        report.add("dtd", "index.xml is not well-formed XML: %s" % e)
        return False
    system = doc.getroottree().docinfo.system_url
    if system not in files:
        report.add("dtd", "index.xml names the DTD %r, which is not in the export" % system)
    with open(DETERMINISTIC_DTD, "rb") as f:
        dtd = etree.DTD(f)
    if not dtd.validate(doc):
        for e in dtd.error_log.filter_from_errors():
            report.add("dtd", "index.xml line %d: %s" % (e.line, e.message))
    return True


def check_index(report, tables):
    with open(OFFICIAL_INDEX, "rb") as f:
        official = tables_of(f.read())
    got = [t.url for t in tables]
    want = [t.url for t in official]
    if got != want:
        report.add("index", "tables %s, the official index.xml has %s" % (got, want))
    by_url = {t.url: t for t in tables}
    for ref in official:
        t = by_url.get(ref.url)
        if t is None:
            continue
        if t.name != ref.name:
            report.add("index", "%s is named %r, officially %r" % (t.url, t.name, ref.name))
        for attr, label in (
            ("decimal", "DecimalSymbol"),
            ("grouping", "DigitGroupingSymbol"),
            ("delimiter", "ColumnDelimiter"),
            ("record", "RecordDelimiter"),
            ("quote", "TextEncapsulator"),
            ("utf8", "UTF8"),
        ):
            if getattr(t, attr) != getattr(ref, attr):
                report.add("index", "%s: %s differs from the official index.xml" % (t.url, label))
        extra = t.columns[len(ref.columns) :]
        for i, col in enumerate(t.columns[: len(ref.columns)]):
            want_col = ref.columns[i]
            if (col.name, col.kind()) != (want_col.name, want_col.kind()):
                report.add(
                    "index",
                    "%s column %d is %s %s, officially %s %s"
                    % (t.url, i + 1, col.name, col.kind(), want_col.name, want_col.kind()),
                )
        if len(t.columns) < len(ref.columns):
            report.add(
                "index", "%s has %d columns, officially %d" % (t.url, len(t.columns), len(ref.columns))
            )
        for n, col in enumerate(extra):
            allowed = ref.url == "tse.csv" and re.match(r"^TSE_ZERTIFIKAT_[IVX]+$", col.name)
            if not allowed or col.max_length != 1000:
                report.add("index", "%s: extra column %s is not allowed" % (t.url, col.name))
            elif col.name != "TSE_ZERTIFIKAT_" + ("III", "IV", "V", "VI", "VII", "VIII", "IX", "X")[n]:
                report.add("index", "%s: extra column %s out of order" % (t.url, col.name))


def check_pretix(report, files):
    """pretix's validator returns some problems and prints others (numbers, lengths)."""
    from dsfinvk.validate import validate_files

    fmap = {name: io.StringIO(data.decode("utf-8", "replace")) for name, data in files.items()}
    fmap["index.xml"] = io.BytesIO(files["index.xml"])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        errors = validate_files(fmap)
    for e in errors:
        report.add("pretix", e)
    for line in printed.getvalue().splitlines():
        if line.startswith("Line "):
            report.add("pretix", line)


# --- the CSV files ---------------------------------------------------------------------------


def parse_tables(report, tables, files, progress=None):
    """``{url: [row dict]}``; problems of encoding, records and columns go to ``csv``."""
    data = {}
    for t in tables:
        raw = files.get(t.url)
        if raw is None:
            report.add("csv", "%s is declared in index.xml but missing" % t.url)
            data[t.url] = []
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            report.add("csv", "%s is not UTF-8 (%s)" % (t.url, e))
            text = raw.decode("utf-8", "replace")
        if text.count("\n") != text.count("\r\n"):
            report.add("csv", "%s: records must end with CRLF" % t.url)
        if text.startswith("\ufeff"):
            report.add("csv", "%s starts with a byte order mark" % t.url)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=t.delimiter, quotechar=t.quote)
        names = [c.name for c in t.columns]
        rows = []
        for n, row in enumerate(reader):
            if n == 0:
                if row != names:
                    report.add("csv", "%s: header %s, declared %s" % (t.url, row, names))
                continue
            if len(row) != len(names):
                report.add("csv", "%s line %d: %d fields, declared %d" % (t.url, n + 1, len(row), len(names)))
                continue
            rec = dict(zip(names, row))
            rec["_line"] = n + 1
            rows.append(rec)
            if progress is not None:
                progress.update(1)
        data[t.url] = rows
        report.rows[t.url] = len(rows)
    return data


def check_format(report, tables, data):
    for t in tables:
        grouped = r"\d{1,3}(\%s\d{3})+" % t.grouping
        for col in t.columns:
            if col.numeric:
                frac = r"\%s\d{%d}" % (t.decimal, col.places) if col.places else ""
                pattern = re.compile(r"^-?(\d+|%s)%s$" % (grouped, frac))
            for rec in data[t.url]:
                value = rec[col.name]
                where = "%s line %d: %s" % (t.url, rec["_line"], col.name)
                if col.numeric:
                    if value == "":
                        if col.name in ("Z_NR", "BON_NR"):
                            report.add("format", "%s is empty" % where)
                    elif not pattern.match(value):
                        report.add(
                            "format", "%s %r is not a number with %d places" % (where, value, col.places)
                        )
                elif col.max_length is not None and len(value) > col.max_length:
                    report.add(
                        "format", "%s has %d characters, at most %d" % (where, len(value), col.max_length)
                    )
        for name in FLAGS.get(t.url, ()):
            for rec in data[t.url]:
                if rec[name] not in ("0", "1"):
                    report.add(
                        "format", "%s line %d: %s %r is not 0 or 1" % (t.url, rec["_line"], name, rec[name])
                    )


def num(text):
    """A Numeric field as a Decimal (``None`` for an empty or unreadable one)."""
    if text == "":
        return None
    try:
        return Decimal(text.replace(".", "").replace(",", "."))
    except ArithmeticError:
        return None


def check_lists(report, data):
    def need(url, column, allowed, what):
        for rec in data.get(url, ()):
            if rec[column] not in allowed:
                report.add(
                    "lists", "%s line %d: %s %r is not a %s" % (url, rec["_line"], column, rec[column], what)
                )

    need("transactions.csv", "BON_TYP", BON_TYP, "DSFinV-K Vorgangstyp (Anhang B)")
    need("lines.csv", "GV_TYP", GV_TYP, "Geschäftsvorfalltyp (Anhang C)")
    need("businesscases.csv", "GV_TYP", GV_TYP, "Geschäftsvorfalltyp (Anhang C)")
    need("datapayment.csv", "ZAHLART_TYP", ZAHLART_TYP, "Zahlart (Anhang D)")
    need("payment.csv", "ZAHLART_TYP", ZAHLART_TYP, "Zahlart (Anhang D)")
    need("references.csv", "REF_TYP", REF_TYP, "Referenztyp")
    need("itemamounts.csv", "TYP", PF_TYP, "Preisfindungstyp")
    for url in ("vat.csv", "transactions_vat.csv", "lines_vat.csv", "businesscases.csv", "itemamounts.csv"):
        for rec in data.get(url, ()):
            key = num(rec["UST_SCHLUESSEL"])
            if key is None or key != key.to_integral_value() or not (int(key) in UST_RATES or key >= 1000):
                report.add(
                    "lists",
                    "%s line %d: USt-Schlüssel %r is not defined"
                    % (url, rec["_line"], rec["UST_SCHLUESSEL"]),
                )
    for rec in data.get("vat.csv", ()):
        key, rate = num(rec["UST_SCHLUESSEL"]), num(rec["UST_SATZ"])
        if key is not None and int(key) in UST_RATES and rate != UST_RATES[int(key)]:
            report.add(
                "lists",
                "vat.csv line %d: USt-Schlüssel %s has the rate %s, not %s"
                % (rec["_line"], key, rec["UST_SATZ"], UST_RATES[int(key)]),
            )


# --- cross-file sums -------------------------------------------------------------------------


def _group(rows, *keys):
    out = {}
    for rec in rows:
        out.setdefault(tuple(rec[k] for k in keys), []).append(rec)
    return out


def _sum(rows, column):
    return sum((num(r[column]) or Decimal(0) for r in rows), Decimal(0))


class ByReceipt:
    """The rows the sums and TSE rules look up per receipt ``(Z_NR, BON_ID)``, grouped once."""

    def __init__(self, data):
        self.bons = {(r["Z_NR"], r["BON_ID"]): r for r in data["transactions.csv"]}
        self.tvat = _group(data["transactions_vat.csv"], "Z_NR", "BON_ID")
        self.lvat = _group(data["lines_vat.csv"], "Z_NR", "BON_ID")
        self.pays = _group(data["datapayment.csv"], "Z_NR", "BON_ID")
        self.base = {r["Z_NR"]: r["KASSE_BASISWAEH_CODE"] for r in data["cashregister.csv"]}


def check_sums(report, data, ix):
    bons, tvat, lvat, pays = ix.bons, ix.tvat, ix.lvat, ix.pays
    for url in (
        "transactions_vat.csv",
        "lines_vat.csv",
        "lines.csv",
        "datapayment.csv",
        "references.csv",
        "transactions_tse.csv",
        "itemamounts.csv",
    ):
        for rec in data[url]:
            if (rec["Z_NR"], rec["BON_ID"]) not in bons:
                report.add(
                    "sums",
                    "%s line %d: BON_ID %r is not in transactions.csv" % (url, rec["_line"], rec["BON_ID"]),
                )
    line_amount = {}
    for rec in data["lines_vat.csv"]:
        line_amount[(rec["Z_NR"], rec["BON_ID"], rec["POS_ZEILE"])] = rec
    for rec in data["lines.csv"]:
        own = line_amount.get((rec["Z_NR"], rec["BON_ID"], rec["POS_ZEILE"]))
        if own is None:
            report.add(
                "sums",
                "lines.csv line %d: line %s of Bon %s has no lines_vat row"
                % (rec["_line"], rec["POS_ZEILE"], rec["BON_ID"]),
            )
            continue
        qty, price, gross = num(rec["MENGE"]), num(rec["STK_BR"]), num(own["POS_BRUTTO"])
        if None not in (qty, price, gross) and (qty * price).quantize(CENT, ROUND_HALF_UP) != gross:
            report.add(
                "sums",
                "lines.csv line %d: MENGE %s x STK_BR %s is not POS_BRUTTO %s"
                % (rec["_line"], rec["MENGE"], rec["STK_BR"], own["POS_BRUTTO"]),
            )
    for key, bon in bons.items():
        where = "Bon %s (Z %s)" % (key[1], key[0])
        per_key = _group(tvat.get(key, []), "UST_SCHLUESSEL")
        lines_key = _group(lvat.get(key, []), "UST_SCHLUESSEL")
        for ust in set(per_key) | set(lines_key):
            for a, b in (("BON_BRUTTO", "POS_BRUTTO"), ("BON_NETTO", "POS_NETTO"), ("BON_UST", "POS_UST")):
                head, lines = _sum(per_key.get(ust, []), a), _sum(lines_key.get(ust, []), b)
                if head != lines:
                    report.add(
                        "sums", "%s USt-Schlüssel %s: %s %s, its lines %s" % (where, ust[0], a, head, lines)
                    )
        for rec in tvat.get(key, []):
            gross, net, vat = num(rec["BON_BRUTTO"]), num(rec["BON_NETTO"]), num(rec["BON_UST"])
            if None not in (gross, net, vat) and net + vat != gross:
                report.add("sums", "%s: BON_NETTO + BON_UST is not BON_BRUTTO" % where)
        total = num(bon["UMS_BRUTTO"])
        if _sum(tvat.get(key, []), "BON_BRUTTO") != total:
            report.add(
                "sums", "%s: UMS_BRUTTO %s is not the sum of transactions_vat" % (where, bon["UMS_BRUTTO"])
            )
        if key in pays:
            paid = _sum(pays[key], "BASISWAEH_BETRAG")
            if paid != total:
                report.add("sums", "%s: payments %s, UMS_BRUTTO %s" % (where, paid, total))
        elif bon["BON_TYP"] == "Beleg" and total:
            report.add("sums", "%s: a Beleg of %s without datapayment rows" % (where, total))
    check_closing_sums(report, data, ix)


def check_closing_sums(report, data, ix):
    bons, tvat, lvat, pays, base = ix.bons, ix.tvat, ix.lvat, ix.pays, ix.base
    belege = {k for k, b in bons.items() if b["BON_TYP"] == "Beleg"}
    cases = _group(data["businesscases.csv"], "Z_NR")
    payment = _group(data["payment.csv"], "Z_NR")
    cash = _group(data["cash_per_currency.csv"], "Z_NR")
    line_gv = {(r["Z_NR"], r["BON_ID"], r["POS_ZEILE"]): r["GV_TYP"] for r in data["lines.csv"]}
    for closing in data["cashpointclosing.csv"]:
        z = closing["Z_NR"]
        want_key, want_gv = {}, {}
        for key in belege:
            if key[0] != z:
                continue
            for rec in tvat.get(key, []):
                row = want_key.setdefault(rec["UST_SCHLUESSEL"], [Decimal(0)] * 3)
                for i, col in enumerate(("BON_BRUTTO", "BON_NETTO", "BON_UST")):
                    row[i] += num(rec[col]) or 0
            for rec in lvat.get(key, []):
                gv = line_gv.get((z, key[1], rec["POS_ZEILE"]))
                want_gv[gv] = want_gv.get(gv, Decimal(0)) + (num(rec["POS_BRUTTO"]) or 0)
        got_key, got_gv = {}, {}
        for rec in cases.get((z,), []):
            row = got_key.setdefault(rec["UST_SCHLUESSEL"], [Decimal(0)] * 3)
            for i, col in enumerate(("Z_UMS_BRUTTO", "Z_UMS_NETTO", "Z_UST")):
                row[i] += num(rec[col]) or 0
            got_gv[rec["GV_TYP"]] = got_gv.get(rec["GV_TYP"], Decimal(0)) + (num(rec["Z_UMS_BRUTTO"]) or 0)
        for ust in set(want_key) | set(got_key):
            if want_key.get(ust, [0] * 3) != got_key.get(ust, [0] * 3):
                report.add(
                    "sums",
                    "Z %s USt-Schlüssel %s: businesscases %s, the Belege %s"
                    % (
                        z,
                        ust,
                        [str(v) for v in got_key.get(ust, [0] * 3)],
                        [str(v) for v in want_key.get(ust, [0] * 3)],
                    ),
                )
        for gv in set(want_gv) | set(got_gv):
            if want_gv.get(gv, 0) != got_gv.get(gv, 0):
                report.add(
                    "sums",
                    "Z %s GV_TYP %s: businesscases %s, the Belege' lines %s"
                    % (z, gv, got_gv.get(gv, 0), want_gv.get(gv, 0)),
                )
        paid, cash_paid, total_paid = {}, Decimal(0), Decimal(0)
        for key in belege:
            if key[0] != z:
                continue
            for rec in pays.get(key, []):
                amount = num(rec["BASISWAEH_BETRAG"]) or Decimal(0)
                k = (rec["ZAHLART_TYP"], rec["ZAHLART_NAME"])
                paid[k] = paid.get(k, Decimal(0)) + amount
                total_paid += amount
                if rec["ZAHLART_TYP"] == "Bar":
                    cash_paid += amount
        got_paid = {
            (r["ZAHLART_TYP"], r["ZAHLART_NAME"]): num(r["Z_ZAHLART_BETRAG"]) for r in payment.get((z,), [])
        }
        for k in set(paid) | set(got_paid):
            if paid.get(k, 0) != got_paid.get(k, 0):
                report.add(
                    "sums",
                    "Z %s payment %s: payment.csv %s, the Belege %s"
                    % (z, "/".join(k), got_paid.get(k, 0), paid.get(k, 0)),
                )
        if num(closing["Z_SE_ZAHLUNGEN"]) != total_paid:
            report.add(
                "sums",
                "Z %s: Z_SE_ZAHLUNGEN %s, the Belege' payments %s"
                % (z, closing["Z_SE_ZAHLUNGEN"], total_paid),
            )
        if num(closing["Z_SE_BARZAHLUNGEN"]) != cash_paid:
            report.add(
                "sums",
                "Z %s: Z_SE_BARZAHLUNGEN %s, the Belege' cash %s"
                % (z, closing["Z_SE_BARZAHLUNGEN"], cash_paid),
            )
        in_base = [r for r in cash.get((z,), []) if r["ZAHLART_WAEH"] == base.get(z)]
        if _sum(in_base, "ZAHLART_BETRAG_WAEH") != cash_paid:
            report.add(
                "sums",
                "Z %s: cash_per_currency %s, the Belege' cash %s"
                % (z, _sum(in_base, "ZAHLART_BETRAG_WAEH"), cash_paid),
            )


# --- TSE data --------------------------------------------------------------------------------


def _plain(amount):
    return "%.2f" % amount


def rebuild_process_data(bon, vat_rows, pay_rows, rates, base):
    """processData ``Kassenbeleg-V1`` (DSFinV-K Anhang I) from the receipt's export rows."""
    slots = [Decimal(0)] * 5
    for rec in vat_rows:
        rate = rates.get(rec["UST_SCHLUESSEL"])
        slots[SLOT_OF_RATE.get(rate, 4)] += num(rec["BON_BRUTTO"]) or 0
    totals = {}
    for rec in pay_rows:
        kind = 0 if rec["ZAHLART_TYP"] == "Bar" else 1
        currency = rec["ZAHLWAEH_CODE"] if rec["ZAHLWAEH_CODE"] not in ("", base) else ""
        amount = num(rec["ZAHLWAEH_BETRAG"] if currency else rec["BASISWAEH_BETRAG"]) or Decimal(0)
        totals[(kind, currency)] = totals.get((kind, currency), Decimal(0)) + amount
    pays = []
    for kind, currency in sorted(totals):
        pays.append(
            _plain(totals[(kind, currency)])
            + (":Bar" if kind == 0 else ":Unbar")
            + (":" + currency if currency else "")
        )
    return "%s^%s^%s" % (bon["BON_TYP"], "_".join(_plain(s) for s in slots), "_".join(pays))


def check_tse(report, data, ix):
    bons, tvat, pays, base = ix.bons, ix.tvat, ix.pays, ix.base
    tse_ids = {(r["Z_NR"], r["TSE_ID"]) for r in data["tse.csv"]}
    rates = {}
    for r in data["vat.csv"]:
        rates.setdefault(r["Z_NR"], {})[r["UST_SCHLUESSEL"]] = num(r["UST_SATZ"])
    has_row = set()
    for rec in data["transactions_tse.csv"]:
        key = (rec["Z_NR"], rec["BON_ID"])
        has_row.add(key)
        where = "transactions_tse.csv line %d (Bon %s)" % (rec["_line"], rec["BON_ID"])
        signed = rec["TSE_TA_SIG"] != ""
        if signed:
            for col in ("TSE_TANR", "TSE_TA_SIGZ", "TSE_TA_START", "TSE_TA_ENDE", "TSE_ID"):
                if rec[col] == "":
                    report.add("tse", "%s: signed, but %s is empty" % (where, col))
        elif rec["TSE_TA_FEHLER"] == "":
            report.add("tse", "%s: neither a signature nor a TSE_TA_FEHLER" % where)
        if rec["TSE_ID"] and (rec["Z_NR"], rec["TSE_ID"]) not in tse_ids:
            report.add("tse", "%s: TSE_ID %s is not in tse.csv" % (where, rec["TSE_ID"]))
        bon = bons.get(key)
        if bon is None or rec["TSE_TA_VORGANGSART"] != "Kassenbeleg-V1" or rec["TSE_VORGANGSDATEN"] == "":
            continue
        rebuilt = rebuild_process_data(
            bon, tvat.get(key, []), pays.get(key, []), rates.get(rec["Z_NR"], {}), base.get(rec["Z_NR"])
        )
        if rebuilt != rec["TSE_VORGANGSDATEN"]:
            report.add(
                "tse",
                "%s: processData %r, rebuilt from the export %r" % (where, rec["TSE_VORGANGSDATEN"], rebuilt),
            )
    for key in bons:
        if key not in has_row:
            report.add("tse", "Bon %s (Z %s) has no transactions_tse row" % (key[1], key[0]))


# --- closings --------------------------------------------------------------------------------


def check_closings(report, tables, data):
    closings = {}
    for rec in data["cashpointclosing.csv"]:
        if rec["Z_NR"] in closings:
            report.add("closing", "cashpointclosing.csv line %d: Z_NR %s twice" % (rec["_line"], rec["Z_NR"]))
        closings[rec["Z_NR"]] = rec
        if not rec["STNR"] and not rec["USTID"]:
            report.add("closing", "Z %s: neither STNR nor USTID (§ 14 Abs. 4 Nr. 2 UStG)" % rec["Z_NR"])
    numbers = sorted(int(z) for z in closings if z.isdigit())
    for a, b in zip(numbers, numbers[1:]):
        if b != a + 1:
            report.add("closing", "Z_NR jumps from %d to %d" % (a, b))
    if not closings:
        report.add("closing", "cashpointclosing.csv has no closing")
    for t in tables:
        for rec in data[t.url]:
            own = closings.get(rec["Z_NR"])
            if own is None:
                report.add(
                    "closing",
                    "%s line %d: Z_NR %r has no cashpointclosing row" % (t.url, rec["_line"], rec["Z_NR"]),
                )
            elif any(rec[k] != own[k] for k in Z_KEY):
                report.add(
                    "closing",
                    "%s line %d: Z_KASSE_ID/Z_ERSTELLUNG differ from cashpointclosing.csv"
                    % (t.url, rec["_line"]),
                )
    for z, closing in closings.items():
        for url in MASTER_TABLES + CLOSING_TABLES:
            if not any(r["Z_NR"] == z for r in data[url]):
                report.add("closing", "Z %s: %s has no rows" % (z, url))
        bons = [r for r in data["transactions.csv"] if r["Z_NR"] == z]
        if bons:
            order = sorted(bons, key=lambda r: num(r["BON_NR"]) or 0)
            if (closing["Z_START_ID"], closing["Z_ENDE_ID"]) != (order[0]["BON_ID"], order[-1]["BON_ID"]):
                report.add(
                    "closing",
                    "Z %s: Z_START_ID/Z_ENDE_ID %s/%s, the receipts run %s..%s"
                    % (
                        z,
                        closing["Z_START_ID"],
                        closing["Z_ENDE_ID"],
                        order[0]["BON_ID"],
                        order[-1]["BON_ID"],
                    ),
                )
        seen = set()
        for r in bons:
            if r["BON_ID"] in seen:
                report.add("closing", "Z %s: BON_ID %s twice in transactions.csv" % (z, r["BON_ID"]))
            seen.add(r["BON_ID"])


def check_dsfinvk(source, progress=False):
    """Check the export at ``source`` (ZIP or folder); ``progress`` shows a bar on stderr."""
    report = Report()
    files = read_export(source)
    if "index.xml" not in files:
        report.add("index", "no index.xml in the export")
        return report
    if not check_dtd(report, files):
        return report
    tables = tables_of(files["index.xml"])
    check_index(report, tables)
    semantic = report.ok  # the content rules name the official columns: only when they are there
    check_pretix(report, files)
    bar = None
    if progress:
        from tqdm import tqdm

        total = sum(files.get(t.url, b"").count(b"\n") for t in tables)
        bar = tqdm(total=total, unit="rows", desc="check-dsfinvk", leave=False, disable=None)
    try:
        data = parse_tables(report, tables, files, bar)
    finally:
        if bar is not None:
            bar.close()
    check_format(report, tables, data)
    if not semantic:
        return report
    check_lists(report, data)
    registers = by_register(data)
    for kasse, part in registers.items():
        where = report if len(registers) == 1 else Prefixed(report, "Kasse %s: " % kasse)
        ix = ByReceipt(part)
        check_sums(where, part, ix)
        check_tse(where, part, ix)
        check_closings(where, tables, part)
    if not registers:
        check_closings(report, tables, data)
    return report


class Prefixed:
    """A report whose findings name the register (a store's export of several)."""

    def __init__(self, report, prefix):
        self.report = report
        self.prefix = prefix

    def add(self, rule, text):
        self.report.add(rule, self.prefix + text)


def by_register(data):
    """The rows of every table per Z_KASSE_ID: a store's export holds several registers, each
    with its own closings, receipt numbers and TSE (the DSFinV-K's keys begin with Z_KASSE_ID)."""
    out = {}
    for url, rows in data.items():
        for row in rows:
            kasse = row.get("Z_KASSE_ID")
            if kasse not in out:
                out[kasse] = {name: [] for name in data}
            out[kasse][url].append(row)
    return out
