"""The cloud TSE end to end, on both firmware runtimes: the firmware signs through the simulated
SIGN DE v2-style service (tools/sim/cloudtse.py) over HTTPS with the test CA; the receipt's QR
verifies with the audit tool and its log is in the cloud's TAR export, fetched through the
service console; answers lost on the way are asked for again and never signed twice; an
internet outage in the middle of a sale is a TSE failure on the receipt, and the transaction it
left open is finished when the service is back; a slow service has the customer display say
"Bitte warten", a quick one never. Plus the receipt schema both ways."""

import hashlib
import json
import os
import tarfile

import pytest
import serial

from firmware.fiscal.processdata import kassenbeleg_v1
from tools.audit.tse import printed_qr, verify_tar
from tools.console.client import ConsoleClient
from tools.sim import until
from tools.sim.launch import Simulator
from tse_sd.cloud import schema
from tseservice.api import Refusal, process_data

RUNTIMES = ("cpython", "micropython")
# Short waits so that an outage is found out quickly (the product's defaults: docs/tse.md)
SETTINGS = {"tse": {"cloud": {"timeout_ms": 3000, "retries": 1, "wait_ms": 300}}}
TECH = "login technician 246810"


@pytest.fixture(scope="module", params=RUNTIMES)
def sim(request, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("cloud-" + request.param))
    s = Simulator(out, request.param, SETTINGS, tse="cloud").start()
    yield s
    s.stop()


def qr_of(state):
    return printed_qr(state["last_receipt"])


def open_in_cloud(sim):
    return [
        tx for tss in list(sim.cloud.tss.values()) for tx in list(tss.txs.values()) if tx["state"] == "ACTIVE"
    ]


def firmware_log(sim):
    with open(os.path.join(sim.out, "firmware.log")) as f:
        return f.read()


def test_a_sale_is_signed_in_the_cloud(sim):
    signed = sim.cloud.stats["signed"]
    st = sim.cash_sale()
    qr = qr_of(st)
    assert st["tse"]["backend"] == "cloud" and st["tse"]["can"] == "ready", st["tse"]
    assert sim.cloud.stats["signed"] == signed + 2  # its Start and its Finish, nothing else
    assert open_in_cloud(sim) == []
    # the QR's key is the cloud TSS's: its serial number is the key's hash, as on a card
    assert hashlib.sha256(qr.public_key).hexdigest() == st["tse"]["serial"]
    assert qr.client_id == sim.serial


def test_lost_answers_are_asked_again_and_not_signed_twice(sim):
    signed, repeated = sim.cloud.stats["signed"], sim.cloud.stats["repeated"]
    sim.cloud.faults["lose_next"] = 1  # the Start's answer: carried out, lost on the way
    assert sim.operator(op="plu", code="1002")["ok"]
    assert until(lambda: sim.cloud.faults["lose_next"] == 0)
    sim.cloud.faults["lose_next"] = 1  # the Finish's
    r = sim.operator(op="cash")
    sim.emupos.close_drawer()
    assert r["ok"] and sim.cloud.faults["lose_next"] == 0
    qr = qr_of(r["state"])
    assert sim.cloud.stats["repeated"] >= repeated + 2, sim.cloud.stats
    assert sim.cloud.stats["signed"] == signed + 2, sim.cloud.stats  # one Start, one Finish
    assert "TSE AUSGEFALLEN" not in r["state"]["last_receipt"]
    assert qr.number > 0 and open_in_cloud(sim) == []


def test_an_outage_mid_sale_is_a_tse_failure_and_is_signed_when_back(sim):
    assert sim.operator(op="plu", code="1002")["ok"]  # started: its Start is in the cloud
    sim.cloud.faults["outage"] = True
    try:
        r = sim.operator(op="cash")
        sim.emupos.close_drawer()
        receipt = r["state"]["last_receipt"]
        assert r["ok"] and "TSE AUSGEFALLEN" in receipt and "[QR]" not in receipt, receipt
        assert r["state"]["tse"]["can"].startswith("failed: "), r["state"]["tse"]
        failed = r["state"]["last_bon_nr"]
        assert len(open_in_cloud(sim)) == 1  # left open by the failure
        during = sim.cash_sale("1003")  # selling goes on
        assert "TSE AUSGEFALLEN" in during["last_receipt"]
    finally:
        sim.cloud.faults["outage"] = False
    st = sim.cash_sale()  # the first sale after: the open one finished first
    qr_of(st)
    assert st["tse"]["can"] == "ready", st["tse"]
    assert open_in_cloud(sim) == []
    assert "TSE back: [('signed late', %d)]" % failed in firmware_log(sim)


def test_the_customer_is_asked_to_wait_only_when_the_cloud_is_slow(sim):
    sim.display.seen.clear()
    sim.cash_sale()
    assert not [screen for screen in sim.display.seen if "Bitte warten" in screen]
    sim.cloud.faults["latency_ms"] = 700  # each request; past the 300 ms of tse.cloud.wait_ms
    try:
        st = sim.cash_sale()
    finally:
        sim.cloud.faults["latency_ms"] = 0
    qr_of(st)
    said = ["Bitte warten" in screen for screen in sim.display.seen]
    waits = sum(1 for before, now in zip([False] + said, said) if now and not before)
    assert waits == 2, list(sim.display.seen)  # the Start's wait, and the Finish's
    sim.display.settle()
    assert "Danke!" in "\n".join(sim.display.lines)  # and then what comes after


def test_the_console_sets_up_and_exports_the_cloud_tss(sim):
    qr = qr_of(sim.cash_sale())
    port = serial.Serial(sim.endpoints["console"], 115200, timeout=0.5)
    con = ConsoleClient(port, timeout=120)

    def ok(line):
        reply = con.run(line)
        assert reply["ok"], (line, reply)
        return reply

    try:
        ok(TECH)
        status = ok("tse setup")["data"]  # done at first boot: nothing made twice
        assert status["backend"] == "cloud" and status["state"] == "ready", status
        ok("tse register-client KASSE-9")
        assert ok("tse clients")["data"]["clients"] == [qr.client_id, "KASSE-9"]
        refused = con.run("tse unblock time-admin")
        assert not refused["ok"] and "no time admin" in refused["error"], refused
        assert "tse.cloud.admin_pin" in ok("tse unblock admin")["text"]  # with the PUK kept at set-up
        ok("tse selftest")
        path = ok("export tar")["data"]["file"]
    finally:
        con.run("logout")
        port.close()
    with open(os.path.join(sim.out, "data", "tse-cloud-puk.json")) as f:
        kept = json.load(f)
    assert kept["admin_puk"] and kept["admin_puk"] not in firmware_log(sim)
    report = verify_tar(path)
    assert report.ok, report.problems
    finishes = [m for _, m in report.logs if m.kind == "transaction" and m.number == qr.number]
    assert finishes and max(m.counter for m in finishes) == qr.counter
    numbers = {}
    for name, m in report.logs:
        if m.kind == "transaction" and "_Finish_" in name:
            numbers[m.number] = numbers.get(m.number, 0) + 1
    assert numbers and set(numbers.values()) == {1}  # no transaction finished twice
    with tarfile.open(path) as tar:
        clients = {n.split("_Client-")[1].split(".")[0] for n in tar.getnames() if "_Client-" in n}
    assert clients == {qr.client_id}


# --- the receipt schema, terminal to service -------------------------------------------------


@pytest.mark.parametrize(
    "kind, slots, payments",
    [
        ("Beleg", [1999, 700, 0, 0, 0], [(2699, "Bar")]),
        ("Beleg", [-500, 0, 0, 0, 120], [(-380, "Unbar"), (0, "Bar")]),
        ("AVTraining", [100, 0, 0, 0, 0], [(50, "Bar"), (50, "Unbar"), (1000, "Bar", "CHF")]),
        ("AVBelegabbruch", [0, 0, 0, 0, 0], []),
        ("AVBelegstorno", [0, 0, 1070, 550, 0], [(1620, "Unbar")]),
    ],
)
def test_receipts_go_as_standard_v1_and_come_back_the_same(kind, slots, payments):
    pd = kassenbeleg_v1(kind, slots, payments)
    sent = schema("Kassenbeleg-V1", pd)
    assert "standard_v1" in sent
    assert process_data(sent) == ("Kassenbeleg-V1", pd)


def test_other_process_types_go_raw_and_bad_schemas_are_refused():
    sent = schema("SonstigerVorgang", "Kassenlade geöffnet")
    assert process_data(sent) == ("SonstigerVorgang", "Kassenlade geöffnet")
    good = schema("Kassenbeleg-V1", kassenbeleg_v1("Beleg", [100, 0, 0, 0, 0], [(100, "Bar")]))
    bad_amount = {"standard_v1": {"receipt": dict(good["standard_v1"]["receipt"])}}
    bad_amount["standard_v1"]["receipt"]["amounts_per_vat_rate"] = [{"vat_rate": "NORMAL", "amount": 1.0}]
    for bad in (None, {}, {"raw": {"process_type": "x", "process_data": "not base64!"}}, bad_amount):
        with pytest.raises(Refusal) as refused:
            process_data(bad)
        assert refused.value.status == 400
