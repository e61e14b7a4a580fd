"""`make demo` (python -m tools.demo) on both runtimes, and on MicroPython in the arm64 QEMU
guest (``make demo TARGET=qemu``): the shift's contract and its outputs."""

import json
import platform
import shutil
import subprocess
import sys
import warnings

import iso8583 as peer8583
import pytest
from iso8583.specs import default as peer_spec

from firmware.journal import Journal, receipts
from hal.clock import SystemClock
from tools import upy
from tools.sim.emv_card import CVNS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pyemv import tlv as peer_tlv


QEMU = shutil.which("qemu-system-aarch64") and shutil.which("mmdebstrap")
IN_GUEST = pytest.param("micropython-qemu", marks=pytest.mark.skipif(not QEMU, reason="no QEMU here"))


def run_demo(out, *args, timeout=600):
    """``python -m tools.demo --out OUT ARGS``, which must pass its audit checks; its stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", "tools.demo", "--out", str(out)] + list(args),
        cwd=upy.ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checked with the audit tools: ok" in proc.stdout
    return proc.stdout


@pytest.fixture(scope="module", params=["cpython", "micropython", IN_GUEST])
def demo(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-" + request.param)
    runtime, _, target = request.param.partition("-")
    run_demo(out, "--runtime", runtime, "--target", target or "host")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runtime"] == runtime
    assert summary["machine"] == ("aarch64" if target else platform.machine())  # where it ran
    return runtime, out, summary


def journal_belege(out):
    j = Journal(str(out / "journal"), SystemClock())
    try:
        return list(receipts(j.records())), list(j.records())
    finally:
        j.close()


def test_the_shift_has_every_case(demo):
    runtime, out, summary = demo
    assert summary["runtime"] == runtime
    belege, records = journal_belege(out)
    kinds = [b["bon_typ"] for b in belege]
    sales = [
        b for b in belege if b["bon_typ"] == "Beleg" and any(ln["gv_typ"] == "Umsatz" for ln in b["lines"])
    ]
    assert len(sales) >= 20
    assert kinds.count("AVTraining") == 1 and kinds.count("AVBelegabbruch") == 1
    gv = {ln["gv_typ"] for b in belege for ln in b["lines"]}
    assert {
        "Anfangsbestand",
        "Privatentnahme",
        "Rabatt",
        "Pfand",
        "PfandRueckzahlung",
        "MehrzweckgutscheinKauf",
        "MehrzweckgutscheinEinloesung",
        "TrinkgeldAN",
        "DifferenzSollIst",
    } <= gv
    rates = {row[0] for b in sales for row in b["vat"]}
    assert {1, 2, 5} <= rates  # 19 %, 7 %, 0 %
    assert any(ln.get("unit") == "kg" for b in sales for ln in b["lines"])  # weighed
    assert any(ln["storno"] for b in sales for ln in b["lines"])  # a line void
    assert any(b["change"] for b in sales)  # cash with change
    assert any({p["typ"] for p in b["payments"]} == {"Bar", "ECKarte"} for b in sales)  # split payment
    assert any(b["references"] and b["total"] < 0 for b in belege)  # the Storno
    assert any(b["total"] < 0 and not b["references"] and b["lines"][0]["gv_typ"] == "Umsatz" for b in belege)
    failed = [b for b in belege if b.get("tse_failure")]
    assert len(failed) == 2 and all("tse" not in b for b in failed)
    after = [b for b in belege if b["bon_nr"] > max(f["bon_nr"] for f in failed)]
    assert after and all("tse" in b for b in after)  # signing resumed
    # the closing starts a new period; then the card's store is freed after a checked export
    assert [r["type"] for r in records][-4:] == ["closing", "segment", "tse_export", "tse_delete"]
    assert (out / "dsfinvk.zip").exists() and (out / "elster-146a.xml").exists()
    assert summary["closing"] == {
        "z_nr": 1,
        "counted": summary["closing"]["expected"] - 50,
        "expected": summary["closing"]["expected"],
        "difference": -50,
    }


def test_receipts_and_the_closing(demo):
    runtime, out, summary = demo
    by_nr = {r["bon_nr"]: r for r in summary["receipts"]}
    for nr, r in by_nr.items():
        text = (out / "receipts" / ("%04d.txt" % nr)).read_text()
        raw = (out / "receipts" / ("%04d.escpos" % nr)).read_bytes()
        assert (out / "receipts" / ("%04d.png" % nr)).stat().st_size > 1000  # rendered by emupos
        assert "Mustermann Feinkost GmbH" in text and "St.-Nr. 27/123/45678" in text
        assert "Kasse SMARTECR-SIM-0001" in text and "SUMME EUR" in text
        if r["qr"]:
            assert "TSE-Signaturzähler" in text and "[qr " + r["qr"] + "]" in text  # as emupos read it
            payload = r["qr"].encode()
            n = len(payload) + 3
            assert (
                b"\x1d(k" + bytes((n & 0xFF, n >> 8)) + b"1P0" + payload in raw
            )  # the printer draws this QR
        else:
            assert text.count("*** TSE AUSGEFALLEN ***") == 2 and r["tse_failure"] in text.replace("\n", "")
        if r["bon_typ"] == "AVTraining":
            assert text.count("*** TRAININGSBELEG ***") == 2
    z = (out / "z0001.txt").read_text()
    assert "Z-Bon Nr. 1" in z and "Differenz (gebucht)                  -0,50" in z
    assert "Training: 1  Abbrueche: 1  TSE-Ausfall: 2" in z
    assert (out / "tse-export.tar").stat().st_size > 10000


def _profiles():
    out = {}
    for path in (upy.ROOT / "data" / "cards").glob("*.json"):
        p = json.loads(path.read_text())
        out[p["pan"]] = p
    return out


def test_card_payments_every_case_and_an_independent_check_of_each_cryptogram(demo):
    runtime, out, summary = demo
    cards = {c["what"]: c for c in summary["cards"]}
    assert len(cards) == 8
    for c in cards.values():
        assert c["pan"].startswith("****") and c["aid"] and c["entry"] in ("chip", "contactless")
        assert len(c["cryptogram"]) == 16 and c["cryptogram_type"] in ("TC", "ARQC", "AAC") and c["tvr"]
    visa = cards["Visa chip, offline PIN"]
    assert (visa["scheme"], visa["entry"], visa["cvm"][:2]) == ("visa", "chip", "44")  # enciphered
    tap = cards["Mastercard tap under the CVM limit"]
    assert tap["entry"] == "contactless" and tap["cvm"][:2] == "1F"  # no CVM
    giro = cards["girocard tap, online PIN"]
    assert giro["scheme"] == "girocard" and giro["cvm"][:2] == "02" and giro["response_code"] == "00"
    assert cards["wallet tap above the CVM limit, CDCVM"]["cdcvm"] is True
    assert cards["wrong PIN, then right"]["result"] == "approved"
    declined = cards["declined by the issuer"]
    assert (
        declined["result"] == "declined"
        and declined["response_code"] == "05"
        and declined["paid_instead"] == "Bar"
    )
    timeout = cards["host timeout, then a reversal"]
    assert timeout["response_code"] in ("Y3", "Z3")  # decided by the default action codes
    refund = cards["refund to the card on a return"]
    assert refund["cryptogram_type"] == "AAC" and refund["result"] == "approved"
    assert summary["card_close"]["code"] == "00"
    # the acquirer's log: pyiso8583 decodes every message; pyemv recomputes every ARQC
    profiles = _profiles()
    messages = [json.loads(line) for line in (out / "acquirer.jsonl").read_text().splitlines()]
    mtis = [m["mti"] for m in messages]
    assert {"0100", "0110", "0200", "0210", "0400", "0410", "0500", "0510"} <= set(mtis)
    arqcs = 0
    for m in messages:
        doc, _ = peer8583.decode(bytes.fromhex(m["hex"]), peer_spec)
        assert doc["t"] == m["mti"]
        if m["dir"] == "in" and m["mti"] == "0100":
            icc = peer_tlv.decode(bytes.fromhex(doc["55"]))
            p = profiles[doc["2"]]
            mk = bytes.fromhex(p["mk_ac"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gen = CVNS[p["cvn"]](mk, mk, mk, p["pan"], p.get("psn", "00"))
                values = [
                    bytes(icc[t]) for t in ("9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82")
                ]
                ac = gen.generate_ac(*values, bytes(icc["9F36"]), bytes(icc["9F10"])[3:7])
            assert ac == bytes(icc["9F26"]), doc["11"]
            arqcs += 1
    assert arqcs >= 6
    reversal = [
        peer8583.decode(bytes.fromhex(m["hex"]), peer_spec)[0] for m in messages if m["mti"] == "0400"
    ]
    assert reversal and all("2" not in r for r in reversal)  # no card number in a reversal
    # the slips as emupos printed them: merchant's and customer's for every card payment that paid
    paid = [c for c in summary["cards"] if c["result"] == "approved"]
    for c in paid:
        for copy in ("haendler", "kunde"):
            text = (out / "slips" / ("%04d-%s.txt" % (c["bon_nr"], copy))).read_text()
            assert c["pan"] in text and ("Gutschrift erfolgt" if c is refund else "Zahlung erfolgt") in text
            assert (out / "slips" / ("%04d-%s.png" % (c["bon_nr"], copy))).stat().st_size > 1000
    # the Z's card totals are the card terminal's batch
    belege, records = journal_belege(out)
    [closing] = [r["data"] for r in records if r["type"] == "closing"]
    # (by scheme, our own kernel's and the consumer-presented codes': what our acquirer saw; the
    # external terminal's and the wallet host's are not its, the external register's through our
    # PT side are)
    batch = summary["card_close"]["totals"]["schemes"]
    ours = {k: v for k, v in closing["totals"]["cards"].items() if k in batch}
    register = summary["external_register"]
    assert register["ok"]
    assert batch["mastercard"] == [ours["mastercard"][0] + 1, ours["mastercard"][1] + register["amount"]]
    assert {k: v for k, v in batch.items() if k != "mastercard"} == {
        k: v for k, v in ours.items() if k != "mastercard"
    }
    # the other ways to pay (tools/demo.py checks each one's outcome)
    others = {r["what"]: r for r in summary["other_payments"]}
    assert len(others) == 8
    assert others["the same wallet token again: refused"]["paid_instead"] == "Bar"
    for r in others.values():
        if r["how"] == "zvt":  # the external terminal's own receipt lines, printed by ours
            for copy in ("haendler", "kunde"):
                text = (out / "slips" / ("zvt-%04d-%s.txt" % (r["pt_receipt"], copy))).read_text()
                assert "Zahlung erfolgt" in text and r["pan"] in text
    # two digital receipts, one to the loyalty customer with points redeemed (tools/demo.py opens
    # each through its URL); the receipt server's log is kept, and it holds no key
    digital = json.loads((out / "digital.json").read_text())
    assert [r["how"] for r in digital] == ["digital", "digital"] and all(r["uploaded"] for r in digital)
    assert digital[1]["kunde"]["redeemed"] == 25 and digital[1]["kunde"]["card"] == "4000100017"
    log = (out / "receipt-server.log").read_text()
    assert all(r["id"] in log and r["url"].split("#")[1] not in log for r in digital)
    issued = {r["bon_nr"]: r["issued"] for r in summary["receipts"]}
    assert [issued[r["bon_nr"]] for r in digital] == ["digital", "digital"]
    register_reply = json.loads((out / "zvt-register.json").read_text())
    assert register_reply["ok"] and register_reply["status"]["receipt_no"] == register["receipt_no"]
