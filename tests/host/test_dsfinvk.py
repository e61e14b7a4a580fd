"""The DSFinV-K export of the demo shift, table by table, on both runtimes; and the checker
catching a deliberately broken export, one rule at a time."""

import json
import shutil
import subprocess
import sys
import zipfile

import pytest

from core.calendar import local_iso
from firmware.exports.dsfinvk import TABLES, DsfinvkExport
from firmware.journal import Journal, receipts
from hal.clock import SystemClock
from tools import upy
from tools.audit.dsfinvk import OFFICIAL_INDEX, check_dsfinvk, read_export
from tools.sim.tse.server import CardServer

sys.path.insert(0, str(upy.ROOT / "tests" / "device"))
from support import demo_master  # noqa: E402


@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    """The demo shift (tools/workloads/demo_shift.py on CPython, no printer) and its DSFinV-K export."""
    out = tmp_path_factory.mktemp("shift")
    card = CardServer(str(out / "card"), control_port=0).start()
    try:
        proc = subprocess.run(
            [sys.executable, "tools/workloads/demo_shift.py", "--nbd", "127.0.0.1:%d" % card.nbd.port]
            + ["--control", str(card.control_port), "--out", str(out)],
            cwd=upy.ROOT,
            env=upy.env({"PYTHONPATH": str(upy.ROOT)}),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        card.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    journal = Journal(str(out / "journal"), SystemClock())
    try:
        records = list(journal.records())
        bons = list(receipts(records))
    finally:
        journal.close()
    files = read_export(str(out / "dsfinvk.zip"))
    return out, records, bons, files


def table(files, name):
    text = files[name].decode()
    lines = text.split("\r\n")
    assert lines[-1] == ""
    head = lines[0].split(";")
    rows = []
    for line in lines[1:-1]:
        rows.append(dict(zip(head, [cell.strip('"') for cell in line.split(";")])))
    return rows


def cents(text):
    whole, frac = text.split(",")
    value = int(whole.lstrip("-")) * 100 + int(frac[:2])
    assert frac[2:].strip("0") == "", "fractions of a cent: %s" % text
    return -value if text.startswith("-") else value


def test_the_demo_export_passes_the_checker_and_has_every_file(shift):
    out, _records, _bons, files = shift
    report = check_dsfinvk(str(out / "dsfinvk.zip"))
    assert report.ok, report.problems
    assert set(files) == {name for name, _ in TABLES} | {"index.xml", "gdpdu-01-09-2004.dtd"}
    assert files["index.xml"] == OFFICIAL_INDEX.read_bytes()  # the certificate fits in I and II
    assert files["gdpdu-01-09-2004.dtd"] == (upy.ROOT / "data/dsfinvk/gdpdu-01-09-2004.dtd").read_bytes()
    assert report.rows["lines.csv"] > 40


def test_transactions_and_their_vat_and_payments(shift):
    _out, _records, bons, files = shift
    rows = {r["BON_ID"]: r for r in table(files, "transactions.csv")}
    assert set(rows) == {b["bon_id"] for b in bons}
    for bon in bons:
        row = rows[bon["bon_id"]]
        assert (row["BON_TYP"], cents(row["UMS_BRUTTO"]), int(row["BON_NR"])) == (
            bon["bon_typ"],
            bon["total"],
            bon["bon_nr"],
        )
        assert row["BEDIENER_NAME"] == bon["operator"]["name"]
    vat = {}
    for r in table(files, "transactions_vat.csv"):
        vat.setdefault(r["BON_ID"], []).append(
            [int(r["UST_SCHLUESSEL"]), cents(r["BON_BRUTTO"]), cents(r["BON_NETTO"]), cents(r["BON_UST"])]
        )
    pay = {}
    for r in table(files, "datapayment.csv"):
        pay.setdefault(r["BON_ID"], []).append((r["ZAHLART_TYP"], cents(r["BASISWAEH_BETRAG"])))
    for bon in bons:
        assert vat.get(bon["bon_id"], []) == [[k, g, n, v] for k, _rate, g, n, v in bon["vat"]]
        assert pay.get(bon["bon_id"], []) == [(p["typ"], p["amount"]) for p in bon["payments"]]
    storno = [b for b in bons if b["references"]]
    refs = table(files, "references.csv")
    assert [(r["BON_ID"], r["REF_TYP"], r["REF_BON_ID"]) for r in refs] == [
        (b["bon_id"], "Transaktion", b["references"][0]["ref_bon_id"]) for b in storno
    ]
    assert rows[storno[0]["bon_id"]]["BON_STORNO"] == "1"


def test_lines_add_up_to_the_receipts_to_the_cent(shift):
    _out, _records, bons, files = shift
    lines = table(files, "lines.csv")
    lvat = table(files, "lines_vat.csv")
    amounts = table(files, "itemamounts.csv")
    assert len(lines) == len(lvat) == len(amounts) == sum(len(b["lines"]) for b in bons)
    by_bon = {}
    for r in lvat:
        key = (r["BON_ID"], int(r["UST_SCHLUESSEL"]))
        row = by_bon.setdefault(key, [0, 0, 0])
        for i, col in enumerate(("POS_BRUTTO", "POS_NETTO", "POS_UST")):
            row[i] += cents(r[col])
    for bon in bons:
        for key, _rate, gross, net, vat in bon["vat"]:
            assert by_bon[(bon["bon_id"], key)] == [gross, net, vat]
    weighed = [r for r in lines if r["EINHEIT"] == "kg"]
    assert weighed and all("," in r["MENGE"] for r in weighed)
    assert any(r["P_STORNO"] == "1" for r in lines)  # the line void
    assert {r["TYP"] for r in amounts} == {"base_amount"}


def test_tse_rows_are_the_signatures_or_the_failure(shift):
    _out, records, bons, files = shift
    rows = {r["BON_ID"]: r for r in table(files, "transactions_tse.csv")}
    for bon in bons:
        row = rows[bon["bon_id"]]
        if "tse" in bon:
            assert (row["TSE_TA_SIG"], int(row["TSE_TA_SIGZ"]), row["TSE_VORGANGSDATEN"]) == (
                bon["tse"]["signature"],
                bon["tse"]["counter"],
                bon["tse"]["process_data"],
            )
            assert row["TSE_TA_FEHLER"] == ""
        else:
            assert row["TSE_TA_SIG"] == "" and row["TSE_TA_FEHLER"].startswith("TSE ausgefallen: ")
    assert sum(1 for r in rows.values() if r["TSE_TA_FEHLER"]) == 2  # the card was pulled
    tse = [r["data"] for r in records if r["type"] == "tse"]
    [stamm] = table(files, "tse.csv")
    assert stamm["TSE_SERIAL"] == tse[0]["serial"]
    assert stamm["TSE_ZERTIFIKAT_I"] + stamm["TSE_ZERTIFIKAT_II"] == tse[0]["certificate"]
    assert stamm["TSE_SIG_ALGO"] == "ecdsa-plain-SHA384" and stamm["TSE_ZEITFORMAT"] == "unixTime"


def test_the_closing_module_is_the_z_closing(shift):
    _out, records, _bons, files = shift
    [closing] = [r["data"] for r in records if r["type"] == "closing"]
    totals = closing["totals"]
    per_key = {}
    per_gv = {}
    for r in table(files, "businesscases.csv"):
        row = per_key.setdefault(int(r["UST_SCHLUESSEL"]), [0, 0, 0])
        for i, col in enumerate(("Z_UMS_BRUTTO", "Z_UMS_NETTO", "Z_UST")):
            row[i] += cents(r[col])
        per_gv[r["GV_TYP"]] = per_gv.get(r["GV_TYP"], 0) + cents(r["Z_UMS_BRUTTO"])
    assert per_key == {int(k): v for k, v in totals["vat"].items()}
    assert per_gv == totals["gv"]
    payments = {}
    for r in table(files, "payment.csv"):
        payments[r["ZAHLART_TYP"]] = payments.get(r["ZAHLART_TYP"], 0) + cents(r["Z_ZAHLART_BETRAG"])
    assert payments == totals["payments"]
    [cash] = table(files, "cash_per_currency.csv")
    assert (cash["ZAHLART_WAEH"], cents(cash["ZAHLART_BETRAG_WAEH"])) == ("EUR", totals["cash"])
    [z] = table(files, "cashpointclosing.csv")
    assert (int(z["Z_NR"]), z["TAXONOMIE_VERSION"], cents(z["Z_SE_BARZAHLUNGEN"])) == (
        1,
        "2.4",
        totals["cash"],
    )
    assert (z["Z_START_ID"], z["Z_ENDE_ID"]) == (str(totals["first_bon"]), str(totals["last_bon"]))


def test_master_data_tables(shift):
    _out, _records, _bons, files = shift
    master = demo_master()
    [loc] = table(files, "location.csv")
    assert (loc["LOC_NAME"], loc["LOC_ORT"], loc["LOC_LAND"]) == (
        master.business["name"],
        master.business["city"],
        "DEU",
    )
    [reg] = table(files, "cashregister.csv")
    assert (reg["KASSE_SERIENNR"], reg["KASSE_BASISWAEH_CODE"], reg["KASSE_SW_BRAND"]) == (
        master.register["serial"],
        "EUR",
        "smartECR",
    )
    assert [(r["UST_SCHLUESSEL"], r["UST_SATZ"]) for r in table(files, "vat.csv")][:2] == [
        ("1", "19,00"),
        ("2", "7,00"),
    ]
    for name in ("slaves.csv", "pa.csv", "subitems.csv", "allocation_groups.csv"):
        assert table(files, name) == []  # no terminals, agencies, sub-items or tables here


def test_both_runtimes_write_the_same_bytes(shift, tmp_path):
    out, _records, _bons, files = shift
    journal = tmp_path / "journal"
    shutil.copytree(out / "journal", journal)
    master = str(upy.ROOT / "data" / "demo-master.json")
    argv = [
        "tests/device/export_probe.py",
        str(journal),
        master,
        str(tmp_path / "upy.zip"),
        str(tmp_path / "w"),
    ]
    proc = upy.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["rows"]["lines.csv"] == len(table(files, "lines.csv"))
    assert read_export(str(tmp_path / "upy.zip")) == files
    assert zipfile.ZipFile(tmp_path / "upy.zip").testzip() is None


def test_an_export_by_closing_number_and_by_day(shift, tmp_path):
    out, records, _bons, _files = shift
    journal = Journal(str(out / "journal"), SystemClock())
    try:
        export = DsfinvkExport(journal, demo_master())
        [closing] = export.select(z_first=1, z_last=1)
        assert closing["z_nr"] == 1
        assert export.select(z_first=2) == []
        day = local_iso(closing["time"])[:10]
        assert export.select(day_first=day, day_last=day) == [closing]
        assert export.select(day_last="2000-01-01") == []
        rows = export.write_zip(str(tmp_path / "none.zip"), [], str(tmp_path / "w"))
    finally:
        journal.close()
    assert rows["transactions.csv"] == 0 and not (tmp_path / "w").exists()
    report = check_dsfinvk(str(tmp_path / "none.zip"))
    assert report.problems == ["closing: cashpointclosing.csv has no closing"]


# --- the checker catches what is broken ------------------------------------------------------


def broken(files, tmp_path, name, change):
    files = dict(files)
    files[name] = change(files[name])
    path = tmp_path / "broken.zip"
    with zipfile.ZipFile(path, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    return check_dsfinvk(str(path)).problems


def replace_first(old, new):
    def change(data):
        assert old in data
        return data.replace(old, new, 1)

    return change


def rules(problems):
    return {p.split(":", 1)[0] for p in problems}


def test_checker_dtd(shift, tmp_path):
    problems = broken(
        shift[3],
        tmp_path,
        "index.xml",
        replace_first(b"<Version>1.0</Version>", b"<Version>1.0</Version><Extra/>"),
    )
    assert "dtd" in rules(problems), problems


def test_checker_index_against_the_official_one(shift, tmp_path):
    files = dict(shift[3])
    files["transactions.csv"] = files["transactions.csv"].replace(b"BON_NOTIZ", b"BON_NOTE", 1)
    problems = broken(
        files, tmp_path, "index.xml", replace_first(b"<Name>BON_NOTIZ</Name>", b"<Name>BON_NOTE</Name>")
    )
    assert rules(problems) == {"index"}, problems
    assert "BON_NOTE" in problems[0]


def test_checker_pretix_validator(shift, tmp_path):
    problems = broken(shift[3], tmp_path, "vat.csv", replace_first(b";19,00;", b";19.0;"))
    assert "pretix" in rules(problems) and "format" in rules(problems), problems


def test_checker_csv_records(shift, tmp_path):
    problems = broken(shift[3], tmp_path, "payment.csv", lambda d: d.replace(b"\r\n", b"\n"))
    assert "csv" in rules(problems), problems


def test_checker_field_lengths(shift, tmp_path):
    problems = broken(shift[3], tmp_path, "location.csv", replace_first(b'"Mustermann', b'"' + b"M" * 80))
    assert any(
        p.startswith("format: location.csv line 2: LOC_NAME has 94 characters, at most 60") for p in problems
    ), problems


def test_checker_value_lists(shift, tmp_path):
    problems = broken(shift[3], tmp_path, "transactions.csv", replace_first(b'"Beleg"', b'"Bleg"'))
    assert any(p.startswith("lists:") and "Bleg" in p for p in problems), problems


def test_checker_cross_sums(shift, tmp_path):
    problems = broken(shift[3], tmp_path, "payment.csv", _bump_first_amount)
    assert "sums" in rules(problems), problems


def _bump_first_amount(data):
    """payment.csv with its first amount one cent higher."""
    lines = data.split(b"\r\n")
    cells = lines[1].split(b";")
    euros, cents_ = cells[-1].split(b",")
    cells[-1] = euros + b"," + b"%02d" % ((int(cents_) + 1) % 100)
    lines[1] = b";".join(cells)
    return b"\r\n".join(lines)


def test_checker_process_data_rebuilt(shift, tmp_path):
    problems = broken(shift[3], tmp_path, "transactions_tse.csv", replace_first(b"^7.29:Bar", b"^7.30:Bar"))
    assert any(p.startswith("tse:") and "rebuilt" in p for p in problems), problems


def test_checker_closing_numbers(shift, tmp_path):
    def add_z3(data):
        lines = data.split(b"\r\n")
        parts = lines[1].split(b";")
        parts[2] = b"3"
        return b"\r\n".join(lines[:2] + [b";".join(parts)] + lines[2:])

    problems = broken(shift[3], tmp_path, "cashpointclosing.csv", add_z3)
    assert "closing: Z_NR jumps from 1 to 3" in problems, problems
    assert "closing: Z 3: location.csv has no rows" in problems


def test_audit_cli(shift, tmp_path):
    out = shift[0]

    def audit(*args):
        return subprocess.run(
            [sys.executable, "-m", "tools.audit", "--quiet"] + list(args),
            cwd=upy.ROOT,
            capture_output=True,
            text=True,
            check=False,
        )

    good = audit("check-dsfinvk", str(out / "dsfinvk.zip"))
    assert good.returncode == 0 and good.stdout.strip().endswith("ok"), good.stdout + good.stderr
    bad_zip = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad_zip, "w") as z:
        for n, data in shift[3].items():
            z.writestr(n, data.replace(b'"Beleg"', b'"Bleg"') if n == "transactions.csv" else data)
    bad = audit("check-dsfinvk", str(bad_zip))
    assert bad.returncode == 1 and "Bleg" in bad.stdout
    assert audit("check-dsfinvk", str(tmp_path / "missing.zip")).returncode == 2
    tar = audit("verify-tar", str(out / "tse-export.tar"))
    assert tar.returncode == 0 and "tse-export.tar: ok" in tar.stdout, tar.stdout + tar.stderr
    summary = json.loads((out / "summary.json").read_text())
    qr = next(r["qr"] for r in summary["receipts"] if r["qr"])
    assert audit("verify-qr", qr).returncode == 0
    fields = qr.split(";")
    fields[3] = fields[3].replace("Beleg", "AVTraining")
    assert audit("verify-qr", ";".join(fields)).returncode == 1
    garbage = audit("verify-qr", "V0;only;three")
    assert garbage.returncode == 2 and "12 fields" in garbage.stderr
    assert audit("check-elster", str(out / "elster-146a.xml")).returncode == 0
