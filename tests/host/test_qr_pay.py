"""QR payments against independent references and end to end in the simulator, on both firmware
runtimes. References: the EMVCo CRC against crcmod's CRC-16/CCITT-FALSE, our GiroCode text
against segno's EPC QR (read back with zxing-cpp). In the simulator: a wallet token scanned by
the camera's scan engine pays through the wallet host (ElZahlungsdienstleister); the same token
again is refused and the sale unchanged; a declined token; a consumer-presented EMVCo code goes
to the acquirer with its cryptogram (pyemv checks it) and is booked by its scheme; our
merchant-presented code, read off the customer panel's pixels by the phone, is paid from the
phone; a GiroCode books the sale as awaiting the transfer (Unbar)."""

import io
import os
import random
import time

import crcmod.predefined
import PIL.Image
import pytest
import segno.helpers
import zxingcpp

from payment.qr import emvco, epc
from tools import upy
from tools.sim import until
from tools.sim.launch import Simulator

CCITT = crcmod.predefined.mkCrcFun("crc-ccitt-false")
RUNTIMES = ("cpython", "micropython")


def test_the_emvco_crc_is_crcmods_ccitt_false():
    rng = random.Random(7)
    for n in (0, 1, 4, 60, 300):
        text = "".join(rng.choice("0123456789ABCDEFäß北") for _ in range(n)).encode()
        assert emvco.crc16(text) == CCITT(text)


def test_our_girocode_is_segnos_epc_qr():
    ours = epc.girocode("Mustermann Feinkost GmbH", "DE02100500000054540402", 1234, "Bon 42", "BELADEBEXXX")
    qr = segno.helpers.make_epc_qr(
        "Mustermann Feinkost GmbH",
        "DE02100500000054540402",
        12.34,
        text="Bon 42",
        bic="BELADEBEXXX",
        encoding=1,
    )
    png = io.BytesIO()
    qr.save(png, kind="png", scale=4)
    image = PIL.Image.open(io.BytesIO(png.getvalue()))
    [read] = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert read.text == ours


@pytest.fixture(scope="module", params=RUNTIMES)
def sim(request, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("qr-" + request.param))
    s = Simulator(out, request.param).start()
    yield s
    s.stop()


def _records(sim, kind):
    return [r["data"] for r in sim.journal(kind)]


def _state(sim):
    return sim.operator(op="state")["state"]


def _last_bon(sim):
    return _records(sim, "pending")[-1]["bon"]


def _scan_and_wait(sim, text):
    """Scan ``text``; True once a receipt was journaled or the terminal said why not."""
    before = len(_records(sim, "pending"))
    last = _state(sim)["messages"][-1:]
    sim.emupos.scan("]Q1" + text)

    def done():
        if len(_records(sim, "pending")) > before:
            return True
        said = _state(sim)["messages"][-1:]
        return said != last and "QR-Zahlung:" in said[0]

    return until(done, 20)


def test_a_wallet_token_pays_and_its_replay_is_refused(sim):
    sim.operator(op="plu", code="1001")
    token = sim.phone.token()
    assert _scan_and_wait(sim, token)
    bon = _last_bon(sim)
    assert bon["payments"] == [{"typ": "ElZahlungsdienstleister", "name": "Bluecode", "amount": bon["total"]}]
    [card] = bon["cards"]
    assert card["via"] == "wallet" and card["token"] != token and card["token"][-4:] == token[-4:]
    assert sim.wallet.payments[card["reference"]]["status"] == "approved"
    sent = _records(sim, "qr_sent")[-1]
    assert sent == {"reference": card["reference"], "amount": bon["total"], "kind": "wallet"}
    # the same code again: refused, the sale stays as it was
    r = sim.operator(op="plu", code="1002")
    before = r["state"]["bon"]
    sim.emupos.scan("]Q1" + token)
    assert until(lambda: "schon verwendet" in " ".join(_state(sim)["messages"][-2:]), 10)
    assert _state(sim)["bon"] == before
    # a declined customer
    assert _scan_and_wait(sim, sim.phone.token(declined=True))
    assert any("insufficient funds" in m for m in _state(sim)["messages"][-2:])
    assert _state(sim)["bon"] == before
    assert _records(sim, "qr_settled")[-1]["how"] == "declined"
    assert sim.operator(op="abort")["ok"]


def test_a_consumer_presented_emvco_code_goes_to_the_acquirer(sim):
    sim.operator(op="plu", code="1003")
    assert _scan_and_wait(sim, sim.phone.cpm("wallet"))
    bon = _last_bon(sim)
    assert bon["payments"][0]["typ"] == "Kreditkarte", _state(sim)["messages"]
    [card] = bon["cards"]
    assert card["via"] == "cpm" and card["pan"] == "************0011" and card["arc"] == "3030"
    request = [m for m in sim.acquirer.messages() if m["mti"] == "0100"][-1]
    assert request["dir"] == "in"
    assert [m["mti"] for m in sim.acquirer.messages()][-1] == "0110"  # approved: pyemv checked the ARQC


def test_our_code_on_the_customer_screen_is_paid_from_the_phone(sim):
    sim.operator(op="plu", code="1002")
    r = sim.operator(op="qr")
    assert r["ok"]
    assert until(lambda: _state(sim)["qr"], 10)
    panel = sim.panels["customer"]
    text = until(lambda: sim.phone.read(panel), 10)
    code = emvco.read_merchant_presented(text)
    assert code["amount"] == r["state"]["bon"]["total"] and code["name"] == "Mustermann Feinkost GmbH"
    wrong = sim.phone.pay(text, amount=1)  # an app that sends another amount is refused
    assert "amount" in wrong["error"]
    assert sim.phone.pay(text)["merchant_reference"] == code["reference"]
    assert until(lambda: _state(sim)["bon"] is None, 20)
    bon = _last_bon(sim)
    assert bon["payments"][0]["typ"] == "ElZahlungsdienstleister"
    assert bon["cards"][0]["reference"] == code["reference"]


def test_a_shown_code_can_be_cancelled(sim):
    sim.operator(op="plu", code="1001")
    assert sim.operator(op="qr")["ok"]
    assert until(lambda: _state(sim)["qr"], 10)
    shown = _state(sim)["bon"]
    for request in ({"op": "plu", "code": "1002"}, {"op": "abort"}, {"op": "cash"}):
        r = sim.operator(**request)  # the code is for this amount: the sale stays as it is
        assert r["state"]["bon"] == shown and "QR-Zahlung läuft" in r["state"]["messages"][-1], request
    time.sleep(0.5)
    assert sim.operator(op="qr", cancel=True)["ok"]
    assert until(lambda: _state(sim)["qr"] is None, 10)
    assert _state(sim)["bon"] is not None and _records(sim, "qr_settled")[-1]["how"] == "cancelled"
    ref = _records(sim, "qr_settled")[-1]["reference"]
    assert sim.wallet.payments[ref]["status"] == "reversed"
    assert sim.operator(op="abort")["ok"]


def test_a_girocode_books_the_sale_as_awaiting_the_transfer(sim):
    sim.operator(op="plu", code="1003")
    r = sim.operator(op="transfer")
    assert r["ok"] and r["state"]["bon"] is None
    bon = _last_bon(sim)
    assert bon["payments"] == [{"typ": "Unbar", "name": "Überweisung (offen)", "amount": bon["total"]}]
    text = until(lambda: sim.phone.read(sim.panels["customer"]), 10)
    got = epc.read_girocode(text)
    assert got["amount"] == bon["total"] and got["iban"] == "DE02100500000054540402"


def test_a_power_cut_while_the_wallet_host_decides_reverses_the_payment(sim):
    sim.operator(op="plu", code="1001")
    sim.wallet.delay_s = 3  # pending long enough for the power to go
    try:
        sent = len(_records(sim, "qr_sent"))
        sim.emupos.scan("]Q1" + sim.phone.token())
        assert until(lambda: len(_records(sim, "qr_sent")) > sent, 10)
        reference = _records(sim, "qr_sent")[-1]["reference"]
        assert until(lambda: reference in sim.wallet.payments, 10)  # the host has it, pending
        sim.power_cut()  # no receipt took it: at boot it goes back
    finally:
        sim.wallet.delay_s = 0.3
    assert until(lambda: sim.wallet.payments[reference]["status"] == "reversed", 20)
    assert until(
        lambda: any(
            r["reference"] == reference and r["how"] == "reversed" for r in _records(sim, "qr_settled")
        ),
        10,
    )
    assert not any(
        c.get("reference") == reference for b in _records(sim, "pending") for c in b["bon"].get("cards", ())
    )
    state = _state(sim)
    if state["bon"] is not None:  # the sale the power cut left, as recovery made it
        sim.operator(op="abort")


def test_the_wallet_host_is_idempotent_by_merchant_reference(tmp_path):
    """What the terminal's retry after a lost answer relies on, against the simulator's host
    through the device's own client (payment.qr.wallet over hal.http)."""
    import asyncio

    from payment.qr.wallet import WalletHost
    from tools.sim.wallet import WalletHostSim

    host = WalletHostSim(str(tmp_path)).start()
    try:
        client = WalletHost("127.0.0.1", host.port, "SECR0001", poll_ms=50)

        async def go():
            first = await client.pay("98802111122223333444", 1250, "R-1")
            again = await client.pay("98802111122223333444", 1250, "R-1")  # the lost answer, asked again
            assert first["status"] == again["status"] == "pending"
            done = await client.wait("R-1")
            assert done["status"] == "approved" and done["psp_reference"]
            assert (await client.status("R-1"))["psp_reference"] == done["psp_reference"]
            other = await client.pay("98802111122223333444", 1250, "R-2")  # the token, another sale
            assert other["status"] == "declined" and other["reason"] == "replayed"
            assert (await client.reverse("R-1"))["status"] == "reversed"
            limit = await client.pay("98802555566667777888", 40001, "R-3")
            assert limit["status"] == "declined" and limit["reason"] == "limit"

        asyncio.run(go())
        assert [m["status"] for m in host.messages()][:2] == [201, 200]
    finally:
        host.stop()


def test_a_payment_the_host_never_heard_of_is_settled_unpaid_at_boot(sim):
    """The power went after the request was journaled and before it reached the host."""
    serial = "SMARTECR-SIM-0001"
    reference = "%s-999999" % serial  # journaled as sent, never sent

    def journal_it():
        import subprocess
        import sys

        script = (
            "import sys; from firmware.journal import Journal; from hal.clock import SystemClock;"
            "j = Journal(sys.argv[1], SystemClock());"
            "j.append('qr_sent', {'reference': sys.argv[2], 'amount': 549, 'kind': 'wallet'}); j.close()"
        )
        folder = os.path.join(sim.out, "data", "journal")
        env = dict(os.environ, PYTHONPATH=str(upy.ROOT))
        subprocess.run([sys.executable, "-c", script, folder, reference], check=True, cwd=upy.ROOT, env=env)

    sim.power_cut(while_off=journal_it)
    assert until(
        lambda: any(
            r["reference"] == reference and r["how"] == "unpaid" for r in _records(sim, "qr_settled")
        ),
        20,
    )
    assert reference not in sim.wallet.payments
