"""``make demo TSE=cloud`` and ``make demo TSE=shared REGISTERS=3`` (python -m tools.demo --tse
...): the whole shift signed by the simulated cloud TSE (MicroPython over TLS, the internet cut
in mid-shift), and by three registers (CPython, MicroPython, CPython) sharing one emulated card
through the store's TSE service, each register's link to it pulled in mid-shift. Both pass the
demo's audit checks; these tests check what differs from the card's demo."""

import json
import sys

import pytest
from lxml import etree

from firmware.journal import Journal, receipts
from hal.clock import SystemClock
from tools import upy
from tools.audit.tse import verify_qr, verify_tar

sys.path.insert(0, str(upy.ROOT / "tests" / "host"))
from test_demo import run_demo  # noqa: E402

SERIALS = ["SMARTECR-SIM-0001", "SMARTECR-SIM-0002", "SMARTECR-SIM-0003"]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-cloud")
    stdout = run_demo(out, "--tse", "cloud", "--runtime", "micropython")
    return out, json.loads((out / "summary.json").read_text()), stdout


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-shared")
    stdout = run_demo(out, "--tse", "shared", "--registers", "3", timeout=900)
    summaries = [json.loads((out / ("register-%d" % n) / "summary.json").read_text()) for n in (1, 2, 3)]
    return out, summaries, stdout


def belege(folder):
    j = Journal(str(folder / "journal"), SystemClock())
    try:
        return list(receipts(j.records())), [r["type"] for r in j.records()]
    finally:
        j.close()


def elster_systems(path):
    root = etree.parse(str(path)).getroot()
    return [
        {etree.QName(c).localname: c.text for c in system}
        for system in root.iter("{%s}AngabenAufzeichnungssystem" % root.nsmap[None])
    ]


def test_the_cloud_shift_names_its_backend_and_sells_through_the_outage(cloud):
    out, summary, stdout = cloud
    assert summary["tse_backend"] == "cloud" and summary["runtime"] == "micropython"
    assert "signed by the cloud TSE" in stdout and "2 without TSE (internet down)" in stdout
    rows, kinds = belege(out)
    failed = [b for b in rows if b.get("tse_failure")]
    assert len(failed) == 2 and all("not reachable" in b["tse_detail"] for b in failed)
    after = [b for b in rows if b["bon_nr"] > max(b["bon_nr"] for b in failed)]
    assert after and all("tse" in b for b in after)  # signing resumed once the internet was back
    # a cloud TSE keeps its logs: exported at the end, nothing deleted
    assert kinds[-3:] == ["closing", "segment", "tse_export"] and "tse_delete" not in kinds
    assert summary["tse_freed"] is False and summary["tse_archive"]["file"].endswith(".tar")


def test_the_cloud_receipts_carry_the_cloud_tss_key_and_art_tse_3(cloud):
    out, summary, _ = cloud
    export = verify_tar(str(out / "tse-export.tar"))
    assert export.ok, export.problems
    signed = [r for r in summary["receipts"] if r["qr"]]
    assert len(signed) >= 40
    for r in signed:
        ok, qr = verify_qr(r["qr"])
        assert ok and qr.number == r["tse_number"]
    (system,) = elster_systems(out / "elster-146a.xml")
    assert system["ArtTSE"] == "3"  # a cloud TSE
    assert system["SeriennummerTSE"] == export.logs[0][1].serial.hex()


def test_three_registers_on_one_card_each_with_its_outputs(shared):
    out, summaries, stdout = shared
    assert [s["serial"] for s in summaries] == SERIALS
    assert [s["runtime"] for s in summaries] == ["cpython", "micropython", "cpython"]
    assert {s["tse_backend"] for s in summaries} == {"shared"}
    assert stdout.count("2 without TSE (link to the service pulled)") == 3
    for n, s in enumerate(summaries, 1):
        folder = out / ("register-%d" % n)
        rows, kinds = belege(folder)
        assert len([b for b in rows if b.get("tse_failure")]) == 2
        assert kinds[-3:] == ["closing", "segment", "tse_export"] and "tse_delete" not in kinds
        text = (folder / "receipts" / "0002.txt").read_text()
        assert "Kasse %s" % s["serial"] in text


def test_the_shared_cards_export_holds_the_three_client_ids(shared):
    out, summaries, _ = shared
    export = verify_tar(str(out / "tse-export.tar"))
    assert export.ok, export.problems
    names = [name for name, m in export.logs if m.kind == "transaction"]
    assert {n.split("_Client-")[1].split(".")[0] for n in names} == set(SERIALS)
    finishes = {m.number for _, m in export.logs if m.text(0) == "FinishTransaction"}
    for s in summaries:  # every register's receipts signed by the one card
        numbers = {verify_qr(r["qr"])[1].number for r in s["receipts"] if r["qr"]}
        assert numbers and numbers <= finishes
        assert all(r["qr"].split(";")[1] == s["serial"] for r in s["receipts"] if r["qr"])
    per_register = [{verify_qr(r["qr"])[1].number for r in s["receipts"] if r["qr"]} for s in summaries]
    assert not per_register[0] & per_register[1] and not per_register[1] & per_register[2]


def test_the_stores_notification_lists_the_tse_once_with_its_registers(shared):
    out, _, _ = shared
    systems = elster_systems(out / "elster-146a.xml")
    assert [s["SeriennummerAS"] for s in systems] == SERIALS
    tse = ("SeriennummerTSE", "InbetriebnahmeTSE", "BSIID", "ArtTSE")
    assert len({tuple(s[k] for k in tse) for s in systems}) == 1
    assert systems[0]["ArtTSE"] == "1"  # the store's card is an SD card
    assert systems[0]["SeriennummerTSE"] == verify_tar(str(out / "tse-export.tar")).logs[0][1].serial.hex()
