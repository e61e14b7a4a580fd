"""One TSE for several registers: three registers (CPython, MicroPython, CPython) sign on the
store's one emulated card through the TSE service (tseservice/share.py, HTTPS), each as its own
client with its own account; their receipts verify and the card's export holds the three client
ids; a fourth register is refused by the card's client limit with a clear reason; the service
killed during a sale is a TSE failure on that receipt and the register signs the open
transaction late once the service is back."""

import asyncio
import hashlib
import os

import pytest
import serial

from hal import platform as platforms
from hal.clock import SystemClock
from hal.http import request
from tools.audit.tse import printed_qr, verify_tar
from tools.console.client import ConsoleClient
from tools.sim.launch import Simulator
from tools.sim.sharedtse import ADMIN_PIN, SharedTseSim
from tse_sd import protocol as p
from tse_sd.cloud import Api, CloudTseClient
from tse_sd.errors import TseError

SETTINGS = {"tse": {"cloud": {"timeout_ms": 3000, "retries": 1}}}
RUNTIMES = ("cpython", "micropython", "cpython")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    base = tmp_path_factory.mktemp("shared")
    shared = SharedTseSim(str(base / "tse"), max_clients=3).start()
    sims = []
    try:
        for n, runtime in enumerate(RUNTIMES, 1):
            serial_ = "SMARTECR-SHOP-%04d" % n
            sim = Simulator(
                str(base / serial_), runtime, SETTINGS, serial=serial_, tse="shared", shared=shared
            )
            sims.append(sim.start())
        yield shared, sims
    finally:
        for sim in sims:
            sim.stop()
        shared.stop()


def qr_of(state):
    return printed_qr(state["last_receipt"])


def log_of(sim):
    with open(os.path.join(sim.out, "firmware.log")) as f:
        return f.read()


def test_three_registers_sign_on_one_card_each_as_itself(store):
    shared, sims = store
    keys = set()
    for sim in sims:
        st = sim.cash_sale()
        qr = qr_of(st)
        assert qr.client_id == sim.serial
        assert st["tse"]["backend"] == "shared" and st["tse"]["can"] == "ready", st["tse"]
        keys.add(qr.public_key)
    assert len(keys) == 1  # one TSE
    assert hashlib.sha256(keys.pop()).hexdigest() == sims[0].operator(op="state")["state"]["tse"]["serial"]
    card = shared.card.card.state
    assert sorted(card["clients"]) == sorted(sim.serial for sim in sims)


def test_the_export_holds_every_registers_client_id(store):
    shared, sims = store
    port = serial.Serial(sims[1].endpoints["console"], 115200, timeout=0.5)
    con = ConsoleClient(port, timeout=120)
    try:
        assert con.run("login technician 246810")["ok"]
        reply = con.run("export tar")
        assert reply["ok"], reply
        clients = con.run("tse clients")["data"]["clients"]
    finally:
        con.run("logout")
        port.close()
    assert sorted(clients) == sorted(sim.serial for sim in sims)
    report = verify_tar(reply["data"]["file"])
    assert report.ok, report.problems
    names = [name for name, m in report.logs if m.kind == "transaction"]
    assert {n.split("_Client-")[1].split(".")[0] for n in names} == {sim.serial for sim in sims}


def test_a_register_beyond_the_cards_limit_is_refused(store, tmp_path):
    shared, sims = store
    fourth = Simulator(
        str(tmp_path / "fourth"),
        "cpython",
        SETTINGS,
        serial="SMARTECR-SHOP-0004",
        tse="shared",
        shared=shared,
    ).start()
    try:
        st = fourth.operator(op="state")["state"]["tse"]
        assert st["can"].startswith("failed: the TSE takes no more registers"), st  # on the console too
        assert "takes no more registers (3 of 3 registered)" in log_of(fourth)
        assert "SMARTECR-SHOP-0004" not in shared.card.card.state["clients"]
    finally:
        fourth.stop()
    qr_of(sims[0].cash_sale())  # the others sign on


def test_the_service_killed_during_a_sale_and_back(store):
    shared, sims = store
    sim = sims[1]  # the MicroPython register
    assert sim.operator(op="plu", code="1002")["ok"]  # started on the card
    shared.stop_service()
    try:
        r = sim.operator(op="cash")
        sim.emupos.close_drawer()
        receipt = r["state"]["last_receipt"]
        assert r["ok"] and "TSE AUSGEFALLEN" in receipt and "[QR]" not in receipt, receipt
        failed = r["state"]["last_bon_nr"]
    finally:
        shared.start_service()
    st = sim.cash_sale()
    qr_of(st)
    assert "TSE back: [('signed late', %d)]" % failed in log_of(sim)
    assert sorted(shared.card.card.open) == []  # nothing left open on the card


def test_the_stores_card_repowered_signs_the_next_sale(store):
    """The card in the store's reader lost power (its time and self-test gone): the service,
    which reads the card's status only once a minute, is refused by the card, and reads it
    again at the register's retry: time set, self-test run, the sale signed, not a failure."""
    shared, sims = store
    sims[2].cash_sale()  # the service has just read the card's status: no check before the next
    shared.card.card.power_on()
    assert not shared.card.card.has_valid_time()
    st = sims[2].cash_sale()
    assert "TSE AUSGEFALLEN" not in st["last_receipt"]
    qr_of(st)
    assert shared.card.card.has_valid_time()


def test_registers_setting_up_at_once_keep_their_own_admin_sessions(tmp_path):
    """The TSS admin's login is the session's (its access token), not the TSS's: a register
    logging out does not log out another in the middle of its set-up (three registers booting
    at once, as in ``make demo TSE=shared REGISTERS=3``)."""
    shared = SharedTseSim(str(tmp_path / "tse"), max_clients=5).start()
    tls = platforms.tls_client(platforms.read_certificate(shared.ca))

    def client_of(serial_):
        cloud = shared.enrol(serial_)["cloud"]
        key, secret = cloud["api_key"], cloud["api_secret"]
        api = Api("127.0.0.1", shared.port, key, secret, request, SystemClock(), tls)
        return CloudTseClient(api, cloud["tss_id"])

    async def both():
        a, b = client_of("SMARTECR-SHOP-000A"), client_of("SMARTECR-SHOP-000B")
        await a.login(p.USER_ADMIN, ADMIN_PIN)
        await b.login(p.USER_ADMIN, ADMIN_PIN)
        await a.logout(p.USER_ADMIN)
        await b.register_client("SMARTECR-SHOP-000B")  # still logged in
        with pytest.raises(TseError, match="admin is not logged in"):
            await a.register_client("SMARTECR-SHOP-000A")  # this one logged out
        return await b.list_clients()

    try:
        assert asyncio.run(both()) == ["SMARTECR-SHOP-000B"]
    finally:
        shared.stop()
