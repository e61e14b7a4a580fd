"""HAL device pieces without peers: scan decoding, drawer watch, polled links, the printer's
status exchange, DM-D bytes and a stuck display line, board files, GTIN check digits. Both
runtimes."""

import asyncio
import sys

from support import ROOT, raises, run

from core.errors import ConfigError, DeviceError, ProtocolError
from core.gtin import check_digit, valid
from hal.board import Board
from hal.display import DmdDisplay
from hal.drawer import DrawerWatch, PrinterDrawer
from hal.link import PolledLink
from hal.printer import LinkPrinter, PrinterStatus
from hal.scanner import ScanDecoder, ScanError, Symbol, decode_line


def test_gtin():
    assert check_digit("400638133393") == 1
    assert valid("4006381333931") and valid("96385074") and not valid("4006381333932")
    assert not valid("40063813339a1") and not valid("123")


def _kinds(items):
    return [(i.symbology, i.text) if isinstance(i, Symbol) else "error" for i in items]


def test_scan_lines_with_and_without_aim_identifiers():
    d = ScanDecoder()
    got = d.feed(b"]E04006381333931\r]Q1V0;KASSE;Beleg^1.00\r\n96385074\r")
    assert _kinds(got) == [("EAN13", "4006381333931"), ("QR", "V0;KASSE;Beleg^1.00"), ("EAN8", "96385074")]
    # a code split across reads is joined; CR LF gives no empty scan
    assert d.feed(b"40063813") == []
    assert _kinds(d.feed(b"33931\r\n")) == [("EAN13", "4006381333931")]
    assert _kinds(d.feed(b"ABC-123\r")) == [("CODE128", "ABC-123")]


def test_garbage_and_partial_scans_are_rejected():
    for line, why in (
        (b"4006381333932", "check digit"),
        (b"]E0400638133", "digits"),
        (b"]X9abc", "identifier"),
        (b"\x01\x02garbage", "control"),
        (b"\xff\xfe\xfd", "text"),
        (b"]Q1", "empty"),
    ):
        e = raises(ScanError, decode_line, line)
        assert why in str(e), (line, str(e))
    d = ScanDecoder(max_line=32)
    got = d.feed(b"A" * 40 + b"B" * 10 + b"\r]E04006381333931\r")
    assert _kinds(got) == ["error", ("EAN13", "4006381333931")]  # the over-long line is dropped whole


def test_drawer_watch_warns_once_per_period():
    w = DrawerWatch(limit_s=30)
    assert w.update(True, 1000) is None
    assert w.update(True, 1029) is None
    assert "30 s" in w.update(True, 1030)
    assert w.update(True, 1031) is None
    assert "60 s" in w.update(True, 1060)
    assert w.update(False, 1061) is None
    assert w.update(True, 1070) is None  # a new opening starts counting again


class _Printer:
    def __init__(self, level):
        self.level = level
        self.sent = []

    async def write(self, data):
        self.sent.append(bytes(data))

    async def status(self):
        return PrinterStatus(drawer_level=self.level)


def test_printer_drawer_kicks_and_reads_the_sensor():
    p = _Printer(level=True)
    d = PrinterDrawer(p, pin=5, open_level=True)
    run(d.open())
    assert p.sent == [b"\x1bp\x01\x32\x32"]
    assert run(d.is_open()) is True
    assert run(PrinterDrawer(p, open_level=False).is_open()) is False
    assert run(PrinterDrawer(p, sensor=False).is_open()) is None
    raises(ValueError, PrinterDrawer, p, 3)


class _Port:
    """A line for ``PolledLink``: takes ``room`` bytes, then nothing until given more room;
    ``answer`` is what the device sends back for each byte string it is sent whole."""

    def __init__(self, room=1 << 20, answers=None):
        self.room = room
        self.got = b""
        self.incoming = b""
        self.answers = answers or {}

    def put(self, data):
        n = min(len(data), self.room)
        self.room -= n
        self.got += bytes(data[:n])
        for query, answer in self.answers.items():
            if self.got.endswith(query):
                self.incoming += answer
        return n

    def take(self, n):
        out, self.incoming = self.incoming[:n], self.incoming[n:]
        return out

    def close(self):
        pass


def test_polled_link_sends_in_bursts_and_times_out_without_progress():
    port = _Port(room=5)
    link = PolledLink(port, "pty0")
    e = raises(DeviceError, run, link.send(b"0123456789", 50))
    assert "pty0 takes no data (5 of 10 bytes sent)" in str(e)
    port.room = 100
    run(link.send(b"abc", 50))
    assert port.got == b"01234abc"
    assert "pty0 does not answer" in str(raises(DeviceError, run, link.recv(1, 30)))
    port.incoming = b"late"
    link.reset()  # a late answer is dropped, the next recv waits for the next answer
    raises(DeviceError, run, link.recv(1, 0))


def test_link_printer_reads_status_and_a_silent_printer_is_an_error():
    # DLE EOT 1: online, drawer pin high; 2: cover open; 4: paper fine
    answers = {b"\x10\x04\x01": b"\x16", b"\x10\x04\x02": b"\x16", b"\x10\x04\x04": b"\x12"}
    port = _Port(answers=dict(answers))
    printer = LinkPrinter(PolledLink(port, "ttyS1"))
    st = run(printer.status())
    assert st.online and st.drawer_level and st.cover_open and not st.ready
    port.answers = {}
    e = raises(DeviceError, run, printer.status())
    assert str(e) == "printer: ttyS1 does not answer"
    port.answers = dict(answers)
    port.answers[b"\x10\x04\x01"] = b"\xff"
    assert "not a status byte" in str(raises(ProtocolError, run, printer.status()))


async def _show_on_a_stuck_line(display, port):
    await display.show("eins")
    await asyncio.sleep(0.05)  # the writer task is stuck on the full line with the first frame
    await display.show("zwei")
    await display.show("drei")  # replaces "zwei", which never went out
    port.room = 1 << 20
    await display.flush()


def test_dmd_display_bytes_and_a_stuck_line_holds_only_the_latest_frame():
    port = _Port()
    d = DmdDisplay(PolledLink(port, "pty1"))
    run(d.show("Brötchen", "0,45 EUR"))
    run(d.flush())
    init = b"\x1b@\x1bt\x13\x1f\x01\x1fC\x00\x0c"  # init, PC858, overwrite, cursor off, clear
    frame = b"\x1f$\x01\x01Br\x94tchen" + b" " * 12 + b"\x1f$\x01\x02" + b" " * 12 + b"0,45 EUR"
    assert port.got == init + frame
    assert d.frame("x" * 30, "").count(b"x") == 20  # cut to the display's width
    port = _Port(room=0)
    d = DmdDisplay(PolledLink(port, "pty1"))
    run(_show_on_a_stuck_line(d, port))
    assert port.got == init + d.frame("eins", "") + d.frame("drei", "")


def _board(devices, overrides=None):
    return Board({"name": "t", "devices": devices}, "t", overrides)


def test_board_entries_and_overrides():
    b = _board(
        {
            "printer": {"driver": "tcp-printer", "port": 9100},
            "reader": {
                "driver": "pcsc-reader",
                "reader": "X",
                "micropython": {"driver": "vpcd-reader", "port": 1},
            },
        },
        {"printer": {"port": 9200}, "reader": {"port": 2}},
    )
    assert b.entries["printer"]["port"] == 9200
    want = "vpcd-reader" if sys.implementation.name == "micropython" else "pcsc-reader"
    assert b.entries["reader"]["driver"] == want and b.entries["reader"]["port"] == 2  # override wins
    assert _board({"a": {"driver": "tcp-printer"}}, {"a": None}).names() == []
    e = raises(ConfigError, _board, {"a": {"driver": "laser"}})
    assert "devices.a.driver" in str(e) and "tcp-printer" in str(e)
    raises(ConfigError, _board, {"a": {"driver": "tcp-printer"}}, {"b": {}})
    e = raises(ConfigError, _board({"p": {"driver": "tcp-printer", "port": "x"}}).get, "p")
    assert "devices.p.port" in str(e)
    raises(DeviceError, _board({}).get, "printer")


def test_board_imports_drivers_lazily():
    b = _board({"d": {"driver": "dmd-display", "path": "/dev/null"}})
    mods = [m for m in sys.modules if m.startswith("hal.mpy")]
    _board({"dr": {"driver": "pin-drawer", "kick": 1}})  # named, never asked for
    assert [m for m in sys.modules if m.startswith("hal.mpy")] == mods
    display = b.get("d")
    assert b.get("d") is display  # created once
    b.close()


def test_board_files_are_valid():
    for name in ("sim", "linux-generic", "esp32-s3-pos"):
        b = Board.load(ROOT + "/boards/%s.json" % name)
        assert "printer" in b.names() and "tse" in b.names(), name
    raises(ConfigError, Board.load, ROOT + "/boards/missing.json")
