"""The sale's side of ZVT on both runtimes, with the real journal: each request journaled before
it goes; the card record a receipt takes; a decline settled; and the crash rule — a power cut
after the external terminal approved but before the receipt was journaled leaves an open
request, which the next boot asks about with Repeat Receipt and reverses (06 30). The terminal
here is our PT session over loopback TCP with the in-memory backend (the simulator's own
terminal: tests/host/test_zvt_sim.py)."""

from support import TempDir, listen, raises, run
from zvt_backend import Backend

from core.errors import ConfigError
from firmware.journal import Journal
from firmware.zvt import External
from hal.board import Settings
from hal.clock import ManualClock
from payment.zvt import messages as m
from payment.zvt.pt import PtServer
from payment.zvt.wire import TcpWire, Terminal


class Log:
    def __init__(self):
        self.lines = []

    def info(self, text, *args):
        self.lines.append(text % args)

    warning = info


def _kinds(journal):
    return [(rec["type"], rec["data"]) for rec in journal.records() if rec["type"].startswith("zvt")]


async def _scenario(folder):
    backend = Backend()
    server = PtServer(backend, "000000", t3_ms=1000)
    srv, port = await listen(lambda r, w: server.serve(TcpWire(r, w)))
    device = Terminal(Settings({"host": "127.0.0.1", "port": port, "t3_ms": 1000}, "devices.zvt_terminal"))
    try:
        journal = Journal(folder, ManualClock())
        ext = External(device, journal, Log())
        ext.load(journal.records())
        card, why = await ext.pay(1250)
        assert why == "" and card["via"] == "zvt" and card["zahlart"] == "Kreditkarte"
        assert card["pt_receipt"] == 1 and card["pan"] == "************0011"
        assert card["cardholder"] == "online PIN"
        assert _kinds(journal) == [("zvt_sent", {"command": "authorization", "amount": 1250})]
        assert card["zvt_ref"] == ext_ref(journal)
        journal.append("pending", {"bon": {"cards": [card]}})  # the sale's receipt takes it
        backend.decline = True
        card, why = await ext.pay(300)
        assert card is None and "abgelehnt" in why
        settled = {"ref": ext_ref(journal), "how": "declined", "code": 5}
        assert _kinds(journal)[-1] == ("zvt_settled", settled)
        backend.decline = False
        # approved, then the power goes before the receipt is journaled
        card, why = await ext.pay(880)
        assert card is not None and backend.turnover[-1]["amount"] == 880
        journal.close()
        journal = Journal(folder, ManualClock())
        ext = External(device, journal, Log())
        ext.load(journal.records())
        assert ext.open is not None and ext.open[1:] == ("authorization", 880)
        assert await ext.recover()
        reversal = backend.booked_[-1]
        assert reversal["kind"] == "reversal" and reversal["receipt_no"] == card["pt_receipt"]
        assert _kinds(journal)[-1][1]["how"] == "reversed" and ext.open is None
        # the first payment, which a receipt carries, is left alone
        assert not backend.turnover[0].get("reversed")
        journal.close()
        journal = Journal(folder, ManualClock())
        ext = External(device, journal, Log())
        ext.load(journal.records())
        assert ext.open is None
        journal.close()
    finally:
        srv.close()


def ext_ref(journal):
    return [rec for rec in journal.records() if rec["type"] == "zvt_sent"][-1]["seq"]


def test_requests_are_journaled_and_a_lost_sale_is_reversed_at_boot():
    d = TempDir()
    try:
        run(_scenario(d.path + "/journal"))
    finally:
        d.cleanup()


def test_the_board_device_checks_its_settings():
    e = raises(ConfigError, Terminal, Settings({"host": "h", "password": "12ab56"}, "devices.zvt_terminal"))
    assert "devices.zvt_terminal.password" in str(e)
    t = Terminal(Settings({"host": "10.0.0.5"}, "devices.zvt_terminal"))
    assert (t.where, t.password, t.t3_ms, t.t4_ms) == ("10.0.0.5:20007", "000000", 5000, 180000)
    assert m.CARDS[0x05] == ("girocard", "ECKarte")
