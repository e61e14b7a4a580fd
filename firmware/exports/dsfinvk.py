"""DSFinV-K 2.4 export: the 20 tables of the official reference index.xml, from the journal.

    export = DsfinvkExport(journal, master, reference="data/dsfinvk")
    closings = export.select(z_first=1, z_last=3)          # or day_first="2026-11-01", day_last=...
    rows = export.write("out/export", closings)            # 20 CSVs + index.xml + the GDPdU DTD
    rows = export.write_zip("out/dsfinvk.zip", closings, work="out/.export", mtime=clock.now())

Theory of operation
-------------------
Only closed periods are exported: a journal segment ends with its ``closing`` record (the
Kassenabschluss), whose time is the Z_ERSTELLUNG of every row of the period, so that record is
found first with a filtered scan (no other record is parsed). Then the segment is read once:
each receipt becomes its rows in the Einzelaufzeichnungsmodul tables at once, and only small
running sums per GV_TYP/USt-Schlüssel and per payment type are kept for the Kassenabschluss
module, written when the segment ends. Memory does not grow with the journal.

Decisions the DSFinV-K leaves to the register (docs/compliance.md):

- VAT is computed per receipt and key (what the customer's receipt shows). A line's net and VAT
  (lines_vat, itemamounts) are its own split, half-up, with the rounding rest of the key put on
  the key's largest line; so lines add up to transactions_vat exactly, and businesscases (the
  sum of the lines of all ``Beleg`` receipts per GV_TYP and key) add up to the closing's VAT.
- Only ``Beleg`` receipts flow into the closing module; training and aborted receipts are in
  the single records, marked by BON_TYP.
- A receipt without a TSE signature has a transactions_tse row with TSE_TA_FEHLER (the
  reason) and its processData; a signature made later after a power cut (``tse_late``) is a
  second row of the same BON_ID.
- Stammdaten (business, register, software version) are those journaled with the closing, so a
  later change of master data does not rewrite an old period. Stamm_TSE lists every TSE the
  register had used by the closing; the certificate is split into parts of 1,000 characters,
  and parts beyond TSE_ZERTIFIKAT_II are declared as extra columns in index.xml.
- Times are German local time in ISO 8601 without a zone; TSE times are the TSE's log times in
  UTC (``...Z``), as on the receipt QR code.
"""

import os

from core.calendar import iso8601, local_iso
from core.money import div_half_up
from core.storage import STR_IS_BYTES, as_bytes, makedirs
from firmware.exports.archive import zip_steps
from firmware.fiscal.processdata import PROCESS_TYPE
from firmware.journal import receipts
from firmware.register.bon import BELEG, process_data
from firmware.register.vat import VAT_KEYS

STEP = 50  # receipts between two yields of ``steps``: ~0.1 s on a board, ~2 ms on CPython

TAXONOMY_VERSION = "2.4"
DTD = "gdpdu-01-09-2004.dtd"
CERT_PART = 1000
CERT_COLUMNS = ("TSE_ZERTIFIKAT_I", "TSE_ZERTIFIKAT_II")
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")

Z_COLUMNS = "Z_KASSE_ID Z_ERSTELLUNG Z_NR"
# Files and their columns after the three Z columns, in the order of the official index.xml.
TABLES = (
    (
        "cashpointclosing.csv",
        "Z_BUCHUNGSTAG TAXONOMIE_VERSION Z_START_ID Z_ENDE_ID NAME STRASSE PLZ ORT LAND STNR USTID "
        "Z_SE_ZAHLUNGEN Z_SE_BARZAHLUNGEN",
    ),
    ("location.csv", "LOC_NAME LOC_STRASSE LOC_PLZ LOC_ORT LOC_LAND LOC_USTID"),
    (
        "cashregister.csv",
        "KASSE_BRAND KASSE_MODELL KASSE_SERIENNR KASSE_SW_BRAND KASSE_SW_VERSION KASSE_BASISWAEH_CODE "
        "KEINE_UST_ZUORDNUNG",
    ),
    (
        "slaves.csv",
        "TERMINAL_ID TERMINAL_BRAND TERMINAL_MODELL TERMINAL_SERIENNR TERMINAL_SW_BRAND TERMINAL_SW_VERSION",
    ),
    (
        "pa.csv",
        "AGENTUR_ID AGENTUR_NAME AGENTUR_STRASSE AGENTUR_PLZ AGENTUR_ORT AGENTUR_LAND AGENTUR_STNR "
        "AGENTUR_USTID",
    ),
    (
        "tse.csv",
        "TSE_ID TSE_SERIAL TSE_SIG_ALGO TSE_ZEITFORMAT TSE_PD_ENCODING TSE_PUBLIC_KEY "
        "TSE_ZERTIFIKAT_I TSE_ZERTIFIKAT_II",
    ),
    ("vat.csv", "UST_SCHLUESSEL UST_SATZ UST_BESCHR"),
    ("businesscases.csv", "GV_TYP GV_NAME AGENTUR_ID UST_SCHLUESSEL Z_UMS_BRUTTO Z_UMS_NETTO Z_UST"),
    ("payment.csv", "ZAHLART_TYP ZAHLART_NAME Z_ZAHLART_BETRAG"),
    ("cash_per_currency.csv", "ZAHLART_WAEH ZAHLART_BETRAG_WAEH"),
    (
        "transactions.csv",
        "BON_ID BON_NR BON_TYP BON_NAME TERMINAL_ID BON_STORNO BON_START BON_ENDE BEDIENER_ID "
        "BEDIENER_NAME UMS_BRUTTO KUNDE_NAME KUNDE_ID KUNDE_TYP KUNDE_STRASSE KUNDE_PLZ KUNDE_ORT "
        "KUNDE_LAND KUNDE_USTID BON_NOTIZ",
    ),
    (
        "datapayment.csv",
        "BON_ID ZAHLART_TYP ZAHLART_NAME ZAHLWAEH_CODE ZAHLWAEH_BETRAG BASISWAEH_BETRAG",
    ),
    (
        "lines.csv",
        "BON_ID POS_ZEILE GUTSCHEIN_NR ARTIKELTEXT POS_TERMINAL_ID GV_TYP GV_NAME INHAUS P_STORNO "
        "AGENTUR_ID ART_NR GTIN WARENGR_ID WARENGR MENGE FAKTOR EINHEIT STK_BR",
    ),
    ("itemamounts.csv", "BON_ID POS_ZEILE TYP UST_SCHLUESSEL PF_BRUTTO PF_NETTO PF_UST"),
    (
        "subitems.csv",
        "BON_ID POS_ZEILE ZI_ART_NR ZI_GTIN ZI_NAME ZI_WARENGR_ID ZI_WARENGR ZI_MENGE ZI_FAKTOR "
        "ZI_EINHEIT ZI_UST_SCHLUESSEL ZI_BASISPREIS_BRUTTO ZI_BASISPREIS_NETTO ZI_BASISPREIS_UST",
    ),
    (
        "transactions_tse.csv",
        "BON_ID TSE_ID TSE_TANR TSE_TA_START TSE_TA_ENDE TSE_TA_VORGANGSART TSE_TA_SIGZ TSE_TA_SIG "
        "TSE_TA_FEHLER TSE_VORGANGSDATEN",
    ),
    ("transactions_vat.csv", "BON_ID UST_SCHLUESSEL BON_BRUTTO BON_NETTO BON_UST"),
    ("lines_vat.csv", "BON_ID POS_ZEILE UST_SCHLUESSEL POS_BRUTTO POS_NETTO POS_UST"),
    ("allocation_groups.csv", "BON_ID ABRECHNUNGSKREIS"),
    (
        "references.csv",
        "BON_ID POS_ZEILE REF_TYP REF_NAME REF_DATUM REF_Z_KASSE_ID REF_Z_NR REF_BON_ID",
    ),
)

_FLUSH = 4096


def q(text):
    """An AlphaNumeric field: encapsulated in ``"``, inner quotes doubled."""
    text = str(text)
    if '"' in text:
        text = text.replace('"', '""')
    return '"' + text + '"'


def n2(cents):
    """Cents as a Numeric field with 2 places: ``-1234,05``."""
    if cents < 0:
        return "-%d,%02d" % divmod(-cents, 100)
    return "%d,%02d" % divmod(cents, 100)


def n3(milli):
    """Thousandths as a Numeric field with 3 places: ``0,350``."""
    if milli < 0:
        return "-%d,%03d" % divmod(-milli, 1000)
    return "%d,%03d" % divmod(milli, 1000)


def n5(cents):
    """Cents as a Numeric field with 5 places (amounts of the lines and the closing)."""
    if cents < 0:
        return "-%d,%02d000" % divmod(-cents, 100)
    return "%d,%02d000" % divmod(cents, 100)


def cert_parts(certificate, count):
    return [certificate[i * CERT_PART : (i + 1) * CERT_PART] for i in range(count)]


def cert_columns(count):
    return ["TSE_ZERTIFIKAT_" + _ROMAN[i] for i in range(count)]


def line_vat(bon):
    """Each line's VAT in cents: its own split, half-up (as core.money.vat_split), the key's
    rounding rest on its largest line, so that the lines of a key add up to the receipt's VAT
    of that key."""
    rates = {}
    target = {}
    for key, rate, _gross, _net, vat in bon["vat"]:
        rates[key] = rate
        target[key] = vat
    lines = bon["lines"]
    out = []
    sums = {}
    largest = {}
    i = 0
    for line in lines:
        key = line["vat_key"]
        rate = rates.get(key)
        if rate is None:
            rate = VAT_KEYS[key][0]
        amount = line["amount"]
        vat = div_half_up(amount * rate, 10000 + rate)  # the one rounding rule (core.money)
        out.append(vat)
        sums[key] = sums.get(key, 0) + vat
        j = largest.get(key)
        if j is None or abs(amount) > abs(lines[j]["amount"]):
            largest[key] = i
        i += 1
    for key, i in largest.items():
        out[i] += target.get(key, 0) - sums[key]
    return out


class Csv:
    """One table's file. On CPython rows are joined in a small buffer and encoded once per
    piece; on MicroPython each row goes to the file as it is (a str's bytes, no copy): twenty
    tables' buffers would hold tens of kilobytes of a small heap, and joining them needs
    contiguous blocks a fragmented heap may not have."""

    def __init__(self, path, header):
        self.f = open(path, "wb")
        self.parts = []
        self.size = 0
        self.rows = 0
        self.f.write(as_bytes(header + "\r\n"))
        if STR_IS_BYTES:
            self.put = self._put_direct

    def _put_direct(self, row):
        self.f.write(row)
        self.rows += 1

    def put(self, row):
        self.parts.append(row)
        self.size += len(row)
        self.rows += 1
        if self.size >= _FLUSH:
            self.drain()

    def drain(self):
        if self.parts:
            self.f.write("".join(self.parts).encode())
            self.parts = []
            self.size = 0

    def close(self):
        self.drain()
        self.f.close()


class DsfinvkExport:
    def __init__(self, journal, master, reference="data/dsfinvk", min_parts=2):
        self.journal = journal
        self.master = master
        self.reference = reference
        self.min_parts = min_parts  # certificate columns at least (a store's export: all alike)

    # --- what there is to export -------------------------------------------------------

    def closings(self):
        """Every closed period: ``[closing record data]`` by Z_NR."""
        out = []
        for z in self.journal.segments():
            for rec in self.journal.records(segment=z, kind="closing"):
                out.append(rec["data"])
        return out

    def select(self, z_first=None, z_last=None, day_first=None, day_last=None):
        """Closings by Z_NR range and/or by closing day (``YYYY-MM-DD``, German local time)."""
        out = []
        for closing in self.closings():
            z = closing["z_nr"]
            day = local_iso(closing["time"])[:10]
            if z_first is not None and z < z_first or z_last is not None and z > z_last:
                continue
            if day_first is not None and day < day_first or day_last is not None and day > day_last:
                continue
            out.append(closing)
        return out

    def _tses(self):
        """``[(segment, tse record data)]`` in the order the register met them (TSE_ID 1, 2...)."""
        out = []
        for z in self.journal.segments():
            for rec in self.journal.records(segment=z, kind="tse"):
                out.append((z, rec["data"]))
        return out

    # --- writing -----------------------------------------------------------------------

    def write(self, folder, closings, progress=None):
        """Write the export of ``closings`` into ``folder``; ``{file: rows}``.
        ``progress(z_nr, receipts done)`` is called now and then on a long run."""
        for z, count in self.steps(folder, closings):
            if progress is not None:
                progress(z, count)
        return self.rows

    def steps(self, folder, closings):
        """``write`` as a generator: yields ``(z_nr, receipts done)`` every ``STEP`` receipts
        and at the end of each period, so a busy terminal can serve other tasks in between
        (the service console's export). ``self.rows`` holds the row counts when it ends."""
        makedirs(folder)
        tses = self._tses()
        parts = self.min_parts
        for _z, tse in tses:
            parts = max(parts, (len(tse["certificate"]) + CERT_PART - 1) // CERT_PART)
        head = Z_COLUMNS.split()
        files = {}
        try:
            for name, columns in TABLES:
                cols = head + columns.split()
                if name == "tse.csv":
                    cols = cols[: -len(CERT_COLUMNS)] + cert_columns(parts)
                files[name] = Csv(folder + "/" + name, ";".join(cols))
            for closing in closings:
                yield from self._period(files, closing, tses, parts)
        finally:
            for f in files.values():
                f.close()
        self._write_index(folder, parts)
        self._copy(self.reference + "/" + DTD, folder + "/" + DTD)
        self.rows = {name: f.rows for name, f in files.items()}

    def _period(self, files, closing, tses, parts):
        z = closing["z_nr"]
        master = closing.get("master") or {"business": self.master.business, "register": self.master.register}
        biz, reg = master["business"], master["register"]
        kasse = reg["serial"]
        made = local_iso(closing["time"])
        z_head = "%s;%s;%d;" % (q(kasse), q(made), z)
        ids = {}
        for i, (seg, tse) in enumerate(tses):
            if seg <= z:
                ids[tse["serial"]] = i + 1
                files["tse.csv"].put(
                    z_head
                    + ";".join(
                        [
                            str(i + 1),
                            q(tse["serial"]),
                            q(tse["algorithm"]),
                            q(tse["time_format"]),
                            q("UTF-8"),
                            q(tse["public_key"]),
                        ]
                        + [q(p) for p in cert_parts(tse["certificate"], parts)]
                    )
                    + "\r\n"
                )
        files["location.csv"].put(
            z_head
            + ";".join(q(biz.get(k, "")) for k in ("name", "street", "zip", "city", "country", "ustid"))
            + "\r\n"
        )
        files["cashregister.csv"].put(
            z_head
            + ";".join(
                q(v)
                for v in (
                    reg.get("brand", ""),
                    reg.get("model", ""),
                    kasse,
                    "smartECR",
                    closing.get("software", ""),
                    reg.get("currency", "EUR"),
                    "0",
                )
            )
            + "\r\n"
        )
        for key in sorted(VAT_KEYS):
            rate, text = VAT_KEYS[key]
            files["vat.csv"].put("%s%d;%s;%s\r\n" % (z_head, key, n2(rate), q(text)))

        sums = Sums()
        _ARTICLES.clear()  # master data may differ from the last period's
        last_tse = str(len(ids)) if ids else ""
        count = 0
        late = []  # signatures made later (tse_late): few, written after the receipts

        def keep_late(records):
            for rec in records:
                if rec["type"] == "tse_late":
                    late.append(rec["data"])
                yield rec

        for bon in receipts(keep_late(self.journal.records(segment=z))):
            self._receipt(files, z_head, kasse, bon, ids, last_tse, sums)
            count += 1
            if count % STEP == 0:
                yield z, count
        for data in late:
            files["transactions_tse.csv"].put(
                z_head + _tse_row(str(data["bon_nr"]), data["tse"], ids, last_tse, "")
            )
        yield z, count

        files["cashpointclosing.csv"].put(
            z_head
            + ";".join(
                [q(made[:10]), q(TAXONOMY_VERSION), q(sums.first), q(sums.last)]
                + [q(biz.get(k, "")) for k in ("name", "street", "zip", "city", "country", "stnr", "ustid")]
                + [n2(sums.payments_total), n2(sums.cash)]
            )
            + "\r\n"
        )
        for gv, key in sorted(sums.cases):
            gross, net, vat = sums.cases[(gv, key)]
            files["businesscases.csv"].put(
                "%s%s;%s;0;%d;%s;%s;%s\r\n" % (z_head, q(gv), q(""), key, n5(gross), n5(net), n5(vat))
            )
        for typ, name in sorted(sums.payments):
            files["payment.csv"].put(
                "%s%s;%s;%s\r\n" % (z_head, q(typ), q(name), n2(sums.payments[(typ, name)]))
            )
        files["cash_per_currency.csv"].put(
            "%s%s;%s\r\n" % (z_head, q(reg.get("currency", "EUR")), n2(sums.cash))
        )

    def _receipt(self, files, z_head, kasse, bon, ids, last_tse, sums):
        bon_id = bon["bon_id"]
        qid = q(bon_id)
        head = z_head + qid + ";"
        beleg = bon["bon_typ"] == BELEG
        if sums.first is None:
            sums.first = bon_id
        sums.last = bon_id
        operator = bon.get("operator") or {"id": "", "name": ""}
        customer = bon.get("kunde") or {}  # a loyalty customer: KUNDE_NAME, KUNDE_ID
        storno = "1" if any(r.get("ref_name") == "Storno" for r in bon["references"]) else "0"
        files["transactions.csv"].put(
            "%s%d;%s;%s;%s;%s;%s;%s;%s;%s;%s;%s\r\n"
            % (
                head,
                bon["bon_nr"],
                q(bon["bon_typ"]),
                q(bon.get("bon_name", "")),
                q(kasse),
                q(storno),
                q(local_iso(bon["start"])),
                q(local_iso(bon["end"])),
                q(operator["id"]),
                q(operator["name"]),
                n2(bon["total"]),
                '%s;%s;"";"";"";"";"";"";""' % (q(customer.get("name", "")), q(customer.get("card", ""))),
            )
        )
        for key, _rate, gross, net, vat in bon["vat"]:
            files["transactions_vat.csv"].put("%s%d;%s;%s;%s\r\n" % (head, key, n5(gross), n5(net), n5(vat)))
        for p in bon["payments"]:
            files["datapayment.csv"].put(
                '%s%s;%s;"";;%s\r\n' % (head, q(p["typ"]), q(p["name"]), n2(p["amount"]))
            )
            if beleg:
                sums.pay(p)
        for r in bon["references"]:
            files["references.csv"].put(
                '%s"";%s;%s;%s;%s;%d;%s\r\n'
                % (
                    head,
                    q(r["ref_typ"]),
                    q(r.get("ref_name", "")),
                    q(local_iso(r["ref_datum"])),
                    q(kasse),
                    r["ref_z_nr"],
                    q(r["ref_bon_id"]),
                )
            )
        tse = bon.get("tse")
        if tse is not None:
            files["transactions_tse.csv"].put(z_head + _tse_row(bon_id, tse, ids, last_tse, ""))
        else:
            number = bon.get("tse_number")
            pd = process_data(bon["bon_typ"], bon["lines"], bon["payments"])
            files["transactions_tse.csv"].put(
                '%s%s;%s;"";"";%s;;"";%s;%s\r\n'
                % (
                    head,
                    last_tse,
                    "" if number is None else str(number),
                    q(PROCESS_TYPE),
                    q(("TSE ausgefallen: " + bon.get("tse_failure", "unbekannt"))[:200]),
                    q(pd),
                )
            )
        write_lines(files, head, bon, sums if beleg else None)

    def write_zip(self, path, closings, work, mtime=0, progress=None):
        """The export as one ZIP at ``path``, built in the folder ``work`` (removed after)."""
        for z, count in self.zip_steps(path, closings, work, mtime):
            if progress is not None and z is not None:
                progress(z, count)
        return self.rows

    def zip_steps(self, path, closings, work, mtime=0):
        """``write_zip`` as a generator: ``(z_nr, receipts done)`` while writing the tables,
        then ``(None, bytes zipped)``. The ZIP is built as ``path + ".part"`` and renamed when
        complete, so a cancelled run or a power cut never leaves a ZIP that looks whole."""
        names = ["index.xml", DTD] + [name for name, _ in TABLES]
        part = path + ".part"
        try:
            yield from self.steps(work, closings)
            for done in zip_steps(work, part, names, mtime):
                yield None, done
            os.rename(part, path)
        finally:
            for leftover in [work + "/" + name for name in names] + [part, work]:
                try:
                    (os.rmdir if leftover == work else os.remove)(leftover)
                except OSError:
                    pass

    # --- index.xml and the DTD ---------------------------------------------------------

    def _write_index(self, folder, parts):
        """The official index.xml, with TSE_ZERTIFIKAT_III... declared when the certificate
        needs them (after TSE_ZERTIFIKAT_II, as the DSFinV-K allows). Copied in chunks, or
        read once as bytes and written around the insertion (the file is 55 KB: one buffer,
        not the several a decoded and re-joined text would take on a board's heap)."""
        reference = self.reference + "/index.xml"
        if parts <= len(CERT_COLUMNS):
            self._copy(reference, folder + "/index.xml")
            return
        with open(reference, "rb") as f:
            data = f.read()
        end = b"</VariableColumn>"
        at = data.index(end, data.index(b"<Name>TSE_ZERTIFIKAT_II</Name>")) + len(end)
        extra = "".join(
            "\r\n        <VariableColumn>\r\n          <Name>%s</Name>\r\n"
            "          <Description>TSE-Zertifikat (Teil %d)</Description>\r\n"
            "          <AlphaNumeric />\r\n          <MaxLength>%d</MaxLength>\r\n"
            "        </VariableColumn>" % (name, i + 3, CERT_PART)
            for i, name in enumerate(cert_columns(parts)[len(CERT_COLUMNS) :])
        )
        view = memoryview(data)
        with open(folder + "/index.xml", "wb") as f:
            f.write(view[:at])
            f.write(as_bytes(extra))
            f.write(view[at:])

    @staticmethod
    def _copy(src, dst):
        with open(src, "rb") as i, open(dst, "wb") as o:
            while True:
                chunk = i.read(4096)
                if not chunk:
                    break
                o.write(chunk)


_ARTICLES = {}  # the text columns of a line that repeat with its article, made once


def _article(line):
    key = (line.get("plu"), line["text"], line["gv_typ"], line.get("group_id"), line.get("voucher"))
    parts = _ARTICLES.get(key)
    if parts is None:
        if len(_ARTICLES) >= 512:
            _ARTICLES.clear()
        parts = _ARTICLES[key] = (
            ';%s;%s;"";%s;"";"0";' % (q(line.get("voucher", "")), q(line["text"]), q(line["gv_typ"])),
            ";0;%s;%s;%s;%s;"
            % (
                q(line.get("plu", "")),
                q(line.get("gtin", "")),
                q(line.get("group_id", "")),
                q(line.get("group", "")),
            ),
            ";;%s;" % q(line.get("unit", "Stk")),
        )
    return parts


def write_lines(files, head, bon, sums=None):
    """A receipt's rows of lines.csv, lines_vat.csv and itemamounts.csv; ``head`` is the row
    start up to and with BON_ID; ``sums`` (a Beleg's) collects the closing's businesscases."""
    lines_put = files["lines.csv"].put
    vat_put = files["lines_vat.csv"].put
    amounts_put = files["itemamounts.csv"].put
    vats = line_vat(bon)
    i = 0
    for line in bon["lines"]:
        pos = '%s"%d";' % (head, line["pos"])
        key = line["vat_key"]
        amount = line["amount"]
        vat = vats[i]
        i += 1
        a, b, c = _article(line)
        lines_put(
            "%s%s%s%s%s%s%s\r\n"
            % (pos[:-1], a, '"1"' if line["storno"] else '"0"', b, n3(line["qty"]), c, n5(line["price"]))
        )
        money = "%d;%s;%s;%s\r\n" % (key, n5(amount), n5(amount - vat), n5(vat))
        vat_put(pos + money)
        amounts_put(pos + '"base_amount";' + money)
        if sums is not None:
            sums.case(line["gv_typ"], key, amount, vat)


def _tse_row(bon_id, tse, ids, last_tse, failure):
    return "%s;%s;%d;%s;%s;%s;%d;%s;%s;%s\r\n" % (
        q(bon_id),
        str(ids.get(tse["serial"], last_tse)),
        tse["number"],
        q(iso8601(tse["start"])),
        q(iso8601(tse["end"])),
        q(tse["process_type"]),
        tse["counter"],
        q(tse["signature"]),
        q(failure),
        q(tse["process_data"]),
    )


class Sums:
    """The running sums of one period for the Kassenabschluss module (Beleg receipts only)."""

    def __init__(self):
        self.first = None
        self.last = None
        self.cases = {}
        self.payments = {}
        self.payments_total = 0
        self.cash = 0

    def case(self, gv, key, gross, vat):
        row = self.cases.get((gv, key))
        if row is None:
            row = self.cases[(gv, key)] = [0, 0, 0]
        row[0] += gross
        row[1] += gross - vat
        row[2] += vat

    def pay(self, p):
        k = (p["typ"], p["name"])
        self.payments[k] = self.payments.get(k, 0) + p["amount"]
        self.payments_total += p["amount"]
        if p["typ"] == "Bar":
            self.cash += p["amount"]
