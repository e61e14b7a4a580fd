"""ZVT both ways in the simulator, on both firmware runtimes. As the register: a sale's card
payment through the simulated external terminal (its receipt lines printed by our printer, the
payment booked by the card type it reported), a result lost after the approval and recovered
with Repeat Receipt, a decline; the journal has every request before it went. As the payment
terminal: a ZVT register (tools/zvt.py over TCP) pays through our kernel and acquirer while
our own screen says so, then reverses it by our receipt number and closes the day."""

import io
import json
import threading
import time

import pytest

from tools import zvt
from tools.sim import until
from tools.sim.launch import Simulator

RUNTIMES = ("cpython", "micropython")


@pytest.fixture(scope="module", params=RUNTIMES)
def sim(request, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("zvt-" + request.param))
    s = Simulator(out, request.param).start()
    yield s
    s.stop()


def _records(sim, kind=None):
    return sim.journal(kind)


def _state(sim):
    return sim.operator(op="state")["state"]


def _pay_external(sim, code="1001"):
    sim.operator(op="plu", code=code)
    return sim.operator(op="card", terminal="external")


def test_a_sale_paid_on_the_external_terminal(sim):
    before = len(sim.zvt_terminal.payments)
    printed_before = len(sim.emupos.receipts())
    r = _pay_external(sim)
    assert r["ok"] and r["state"]["bon"] is None, r["state"]["messages"]
    assert "Karte Mastercard ************0011: Zahlung erfolgt (Kartenterminal)" in r["state"]["messages"]
    [paid] = sim.zvt_terminal.payments[before:]
    beleg = [d["data"]["bon"] for d in _records(sim, "pending")][-1]
    assert beleg["payments"] == [{"typ": "Kreditkarte", "name": "Mastercard", "amount": paid["amount"]}]
    [card] = beleg["cards"]
    assert card["via"] == "zvt" and card["pt_receipt"] == paid["receipt_no"] and card["tid"] == "29001234"
    assert card["pan"] == "************0011" and card["entry"] == "contactless"
    # the request was journaled before it went, and the receipt carries its reference
    sent = [rec for rec in _records(sim, "zvt_sent")]
    assert sent[-1]["seq"] == card["zvt_ref"] and sent[-1]["data"] == {
        "command": "authorization",
        "amount": 549,
    }

    # our printer printed the terminal's own lines, both copies, after the fiscal receipt
    def printed():
        done = sim.emupos.receipts()
        texts = [sim.emupos.text(p["id"]) for p in done[printed_before:]]
        return [t for t in texts if "Beleg# : %04d" % paid["receipt_no"] in t] or None

    copies = until(printed, 20)
    assert copies and any("HÄNDLERBELEG" in t for t in copies) and any("KUNDENBELEG" in t for t in copies)


def test_a_lost_result_is_recovered_with_repeat_receipt(sim):
    before = len(sim.zvt_terminal.payments)
    sim.zvt_terminal.fault("lose")  # approved and booked there, then the line drops
    r = _pay_external(sim, "1002")
    assert r["ok"] and r["state"]["bon"] is None, r["state"]["messages"]
    assert len(sim.zvt_terminal.payments) == before + 1  # one payment, not two
    ins = [bytes.fromhex(m["hex"])[:2] for m in sim.zvt_terminal.messages() if m["dir"] == "in"]
    commands = [c for c in ins if c[0] in (0x05, 0x06)]  # not the acknowledgements
    assert commands[-2:] == [b"\x06\x01", b"\x06\x20"]  # Authorization, then Repeat Receipt
    card = [d["data"]["bon"] for d in _records(sim, "pending")][-1]["cards"][0]
    assert card["pt_receipt"] == sim.zvt_terminal.payments[-1]["receipt_no"]


def test_a_declined_card_pays_nothing(sim):
    sim.zvt_terminal.fault("decline")
    try:
        r = _pay_external(sim, "1003")
    finally:
        sim.zvt_terminal.fault(None)
    assert r["ok"] and r["state"]["bon"] is not None  # the sale waits for another payment
    assert any("vom Autorisierungssystem abgelehnt" in m for m in r["state"]["messages"])
    settled = _records(sim, "zvt_settled")[-1]["data"]
    assert settled["how"] == "declined" and settled["code"] == 5
    assert sim.operator(op="abort")["ok"]


def test_a_power_cut_after_the_terminal_approved_reverses_the_payment(sim):
    sim.operator(op="plu", code="1005")
    before = len(sim.zvt_terminal.payments)
    sim.zvt_terminal.fault("hang")  # approved and booked there; then it says nothing more
    sim.operator_nowait(op="card", terminal="external")
    assert until(lambda: len(sim.zvt_terminal.payments) > before, 20)
    approved = sim.zvt_terminal.payments[-1]
    sim.power_cut()  # before the receipt: at boot it is asked for again and reversed (06 30)
    assert until(lambda: sim.zvt_terminal.payments[-1].get("reverses") == approved["receipt_no"], 30)
    assert sim.zvt_terminal.payments[-1]["kind"] == "reversal"
    settled = _records(sim, "zvt_settled")[-1]["data"]
    assert settled["how"] == "reversed"
    assert not any(
        c.get("pt_receipt") == approved["receipt_no"]
        for d in _records(sim, "pending")
        for c in d["data"]["bon"].get("cards", ())
    )
    if _state(sim)["bon"] is not None:
        sim.operator(op="abort")


def _client(sim, command, arg=None):
    port = int(sim.endpoints["zvt"].rsplit(":", 1)[1])
    return zvt.run("127.0.0.1", port, "000000", command, arg, out=io.StringIO())


def test_an_external_register_pays_through_our_terminal(sim):
    import asyncio

    out = {}
    thread = threading.Thread(target=lambda: out.update(r=asyncio.run(_client(sim, "pay", 1250))))
    thread.start()
    try:
        assert until(lambda: _state(sim)["external"] == 1250, 20)  # our screen says so
        assert "Zahlung für externe Kasse: 12,50 EUR" in _state(sim)["messages"]
        sim.tap_card()
        thread.join(60)
    finally:
        sim.remove_cards()
    r = out["r"]
    assert r["ok"], r
    status = r["status"]
    assert status["amount"] == 1250 and status["pan"] == "************0434" and status["tid"] == "52000001"
    assert status["card_type"] == 0x06 and status["aid"] == "A0000000041010" and status["auth_code"]
    [merchant, customer] = r["lines"]
    assert any("H Ä N D L E R B E L E G" in ln for ln in merchant)
    assert any("K U N D E N B E L E G" in ln for ln in customer) and "BITTE BELEG AUFBEWAHREN" in customer
    assert _state(sim)["external"] is None
    [booked] = [rec["data"] for rec in _records(sim, "zvt_pt")][-1:]
    assert booked["receipt_no"] == status["receipt_no"] and booked["online_trace"] == status["trace"]
    # the acquirer got the 0100 from our kernel; the reversal by our receipt number sends a 0400
    rev = asyncio.run(_client(sim, "reverse", status["receipt_no"]))
    assert rev["ok"] and rev["status"]["original_trace"] == status["trace"]
    mtis = [m["mti"] for m in sim.acquirer.messages()]
    assert "0400" in mtis[mtis.index("0100") :]
    again = asyncio.run(_client(sim, "reverse", status["receipt_no"]))
    assert not again["ok"] and again["code"] == 0xB4
    eod = asyncio.run(_client(sim, "eod"))
    assert eod["ok"] and eod["status"]["amount"] == 0
    assert _records(sim, "card_close")  # our acquirer's end of day ran with it
    enquiry = asyncio.run(_client(sim, "status"))
    assert enquiry["ok"] and enquiry["completion"]["version"].startswith("smartECR")


def test_a_wrong_password_and_an_abort(sim):
    import asyncio

    port = int(sim.endpoints["zvt"].rsplit(":", 1)[1])
    wrong = asyncio.run(zvt.run("127.0.0.1", port, "123456", "status", out=io.StringIO()))
    assert not wrong["ok"] and wrong["code"] == 0x83
    # nobody presents a card: the register aborts after 1 s; nothing was paid
    from payment.zvt.ecr import Ecr
    from payment.zvt.wire import TcpWire

    async def go():
        async def connect():
            return await TcpWire.connect("127.0.0.1", port, 5000)

        ecr = Ecr(connect)
        assert (await ecr.register()).ok

        async def later():
            await asyncio.sleep(1)
            await ecr.abort()

        task = asyncio.create_task(later())
        result = await ecr.pay(700)
        await task
        return result

    before = len(_records(sim, "zvt_pt"))
    result = asyncio.run(go())
    assert not result.ok and result.code == 0x6C
    assert len(_records(sim, "zvt_pt")) == before
    assert until(lambda: _state(sim)["external"] is None, 5)
    time.sleep(0.2)


def test_the_technician_asks_the_external_terminal_on_the_console(sim):
    import serial

    from tools.console.client import ConsoleClient

    with serial.Serial(sim.endpoints["console"], 115200, timeout=0.5) as port:
        con = ConsoleClient(port, timeout=60)
        assert con.run("login technician 246810")["ok"]
        try:
            status = con.run("payment zvt status")
            assert status["ok"] and "smartECR simulated PT" in json.dumps(status), status
            paid_before = len(sim.zvt_terminal.payments) + sum(len(c) for c in sim.zvt_terminal.closed)
            eod = con.run("payment zvt eod")
            assert eod["ok"] and "Summe" in json.dumps(eod, ensure_ascii=False), eod
            assert sum(len(c) for c in sim.zvt_terminal.closed) == paid_before  # its batch closed
            assert not sim.zvt_terminal.payments
            bad = con.run("payment zvt reboot")
            assert not bad["ok"]
        finally:
            con.run("logout")
