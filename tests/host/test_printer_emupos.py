"""Receipts printed through our driver into emupos (an independent ESC/POS emulator), on both
runtimes: its rendered picture carries the TSE's QR code (read back with zxing-cpp), its text the
German characters; its faults reach our status; a printer that is not there is a clear error."""

import asyncio
import io
import json
import subprocess
import sys

import PIL.Image
import pytest
import zxingcpp

from tools import upy
from tools.sim.emupos import Emupos, free_port

sys.path.insert(0, str(upy.ROOT / "tests" / "device"))
import print_probe  # noqa: E402

RUNTIMES = ("cpython", "micropython")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    proc = subprocess.run(
        [sys.executable, "-m", "tools.demo", "--out", str(out)],
        cwd=upy.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out, json.loads((out / "summary.json").read_text())


@pytest.fixture
def emu(tmp_path):
    e = Emupos(tmp_path / "emupos").start()
    yield e
    e.stop()


def probe(runtime, port, files):
    if runtime == "cpython":
        return asyncio.run(print_probe.probe("127.0.0.1", port, [str(f) for f in files]))
    script = str(upy.ROOT / "tests" / "device" / "print_probe.py")
    proc = upy.run(
        [script, "127.0.0.1", str(port)] + [str(f) for f in files], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_printed_receipts_carry_the_tse_qr_code(runtime, demo, emu):
    out, summary = demo
    signed = [r for r in summary["receipts"] if r["qr"]][:3]
    failed = [r for r in summary["receipts"] if not r["qr"]][:1]
    chosen = signed + failed
    status = probe(
        runtime, emu.printer_port, [out / "receipts" / ("%04d.escpos" % r["bon_nr"]) for r in chosen]
    )
    assert status["ready"] and status["problems"] == []
    printed = emu.wait_receipts(len(chosen))
    assert len(printed) == len(chosen)
    by_number = {}
    for receipt in printed:  # emupos lists the newest first: match them by their receipt number
        text = emu.text(receipt["id"])
        number = int(text.split("\nBon ", 1)[1].split()[0])
        by_number[number] = (receipt, text)
    for expected in chosen:
        receipt, text = by_number[expected["bon_nr"]]
        image = PIL.Image.open(io.BytesIO(emu.image(receipt["id"])))
        codes = [c.text for c in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
        assert "Mustermann Feinkost GmbH" in text and "Hauptstraße 12" in text  # PC858 read back
        if expected["qr"]:
            assert codes == [expected["qr"]]
        else:
            assert codes == [] and "*** TSE AUSGEFALLEN ***" in text


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_printer_faults_reach_our_status(runtime, emu):
    for fault, field in (
        ("paper-out", "paper_out"),
        ("cover-open", "cover_open"),
        ("offline", "online"),
        ("paper-near-end", "paper_near_end"),
    ):
        emu.fault(fault)
        status = probe(runtime, emu.printer_port, [])
        assert status[field] == (fault != "offline"), (fault, status)
        assert status["ready"] == (fault == "paper-near-end")
        emu.fault(fault, active=False)
    assert probe(runtime, emu.printer_port, [])["ready"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_printer_that_is_not_there_is_a_clear_error(runtime):
    status = probe(runtime, free_port(), [])
    assert "not reachable" in status["error"]


def test_linux_python_escpos_driver_prints_and_reads_status(emu):
    from hal.board import Board
    from hal.escpos import EscPos

    board = Board(
        {"devices": {"printer": {"driver": "escpos-printer", "host": "127.0.0.1", "port": emu.printer_port}}}
    )
    printer = board.get("printer")
    try:
        assert asyncio.run(printer.status()).ready
        emu.fault("cover-open")
        assert "Druckerdeckel offen" in asyncio.run(printer.status()).problems()
        emu.fault("cover-open", active=False)
        asyncio.run(printer.write(EscPos().init().codepage().text("Grüße vom Linux-Treiber\n").cut().take()))
        done = emu.wait_receipts(1)
        assert "Grüße vom Linux-Treiber" in emu.text(done[0]["id"])
    finally:
        board.close()
