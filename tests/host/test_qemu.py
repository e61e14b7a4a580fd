"""The QEMU target: the firmware boots in an arm64 guest (qemu-system-aarch64, virt, cortex-a53)
built from Debian packages (tools/qemu/image.py), the TSE card the simulator's NBD export as a
virtio-blk disk that the guest kernel mounts, the service console on the guest's /dev/hvc0;
a sale through the operator link signed over the guest's block device, journaled on the
guest's own disk, and the journal still there after the machine lost its power."""

import io
import json
import random
import shutil
import socket
import time

import PIL.Image
import pytest
import serial
import zxingcpp

from hal.sim.tse_control import TseControl
from tools.audit.journal import verify_journal
from tools.console.client import ConsoleClient
from tools.qemu.machine import ONLY_CONSOLE_AND_CARD, Machine
from tools.sim import until
from tools.sim.launch import SIM_CONSOLE, Simulator
from tools.sim.tse.server import CardServer

pytestmark = pytest.mark.skipif(
    not shutil.which("qemu-system-aarch64") or not shutil.which("mmdebstrap"), reason="no QEMU here"
)
OPERATOR = 9120  # the operator link's port in the guest


@pytest.fixture(scope="module", params=["micropython", "cpython"])
def guest(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("qemu")
    card = CardServer(str(out / "card"), control_port=0).start()
    config = {
        "platform": "linux",
        "board": "boards/qemu-virt.json",
        "data_dir": "/mnt/data/ecr",
        "console": SIM_CONSOLE,
        "operator_port": OPERATOR,
        "operator_host": "0.0.0.0",  # the guest's own network: QEMU forwards a loopback port to it
        "devices": {name: None for name in ONLY_CONSOLE_AND_CARD},
    }
    machine = Machine(str(out), request.param, card.nbd.address, config, guest_ports=(OPERATOR,)).start()
    assert machine.wait_for("I ecr: ready", 120), "\n".join(machine.lines[-30:])
    yield machine, card
    machine.stop()
    card.close()


def _console(machine):
    port = serial.serial_for_url("socket://" + machine.console, timeout=1)
    con = ConsoleClient(port)
    assert con.run("login technician 246810")["ok"]
    return port, con


def _operator(machine, **request):
    with socket.create_connection(("127.0.0.1", machine.forward(OPERATOR)), timeout=60) as s:
        s.sendall((json.dumps(request) + "\n").encode())
        return json.loads(s.makefile("rb").readline())


def test_the_guest_boots_and_its_console_names_the_card_it_mounted(guest):
    machine, _ = guest
    line = machine.wait_for("smartECR guest:", 1)
    assert "aarch64" in line and machine.runtime in line and "/dev/vd" in line, line
    port, con = _console(machine)
    try:
        status = con.run("status")
        assert status["ok"], status
        data = status["data"]
        assert data["machine"] == "aarch64" and data["board"] == "qemu-virt"
        assert data["runtime"] == machine.runtime
        driver = {"cpython": "file-tse", "micropython": "ffi-file-tse"}[machine.runtime]  # O_DIRECT both ways
        assert data["tse_card"] == driver + " /mnt/tse" and data["tse"]["state"] == "ready", data["tse"]
    finally:
        port.close()


def test_a_sale_in_the_guest_is_signed_over_its_block_device_and_survives_a_power_cut(guest):
    machine, _ = guest
    reply = _operator(machine, op="plu", code="1001")
    assert reply["ok"], reply
    reply = _operator(machine, op="cash")
    assert reply["ok"] and reply["state"]["bon"] is None, reply
    receipt = reply["state"]["last_receipt"]
    assert "Kaffee Crema 250 g" in receipt and "TSE-Signatur" in receipt and "AUSGEFALLEN" not in receipt
    bon_nr = reply["state"]["last_bon_nr"]
    machine.kill()  # the power goes: the whole machine
    since = len(machine.lines)
    machine.start()
    assert machine.wait_for("I ecr: ready", 120, since), "\n".join(machine.lines[-30:])
    state = until(lambda: _operator(machine, op="state")["state"], 30)
    assert state["last_bon_nr"] == bon_nr  # journaled on the guest's disk, there after the cut


def test_the_card_pulled_in_the_guest_gives_a_failure_receipt_and_signing_resumes(guest):
    """The card's NBD export fails: the guest kernel's virtio disk answers EIO, the sale goes on
    with a "TSE AUSGEFALLEN" receipt; the card back, the next sale is signed again."""
    machine, card = guest
    control = TseControl(card.control_port)
    try:
        control.set(removed=True)
        assert _operator(machine, op="plu", code="1003")["ok"]
        reply = _operator(machine, op="cash")
        assert reply["ok"] and "TSE AUSGEFALLEN" in reply["state"]["last_receipt"], reply["state"]["messages"]
    finally:
        control.set(removed=False)
        control.close()
    signed = until(lambda: _signed_sale(machine), 60)
    assert signed and "AUSGEFALLEN" not in signed, signed


def _signed_sale(machine):
    """A sale that the card signs (None while the terminal still brings the card back)."""
    assert _operator(machine, op="plu", code="1002")["ok"]
    receipt = _operator(machine, op="cash")["state"]["last_receipt"]
    return receipt if "AUSGEFALLEN" not in receipt else None


def test_three_power_cuts_in_the_guest_at_random_points_of_sales(guest, tmp_path):
    """QEMU killed at a random moment of a sale, three times (the seed is printed for a replay);
    after each boot the guest's journal agrees with the card (``journal verify``: the chain
    and every signed receipt against the card's own log) and receipt numbers go on."""
    machine, _ = guest
    seed = random.randrange(1 << 30)
    print("power-cut seed", seed)
    rng = random.Random(seed)
    last = _operator(machine, op="state")["state"]["last_bon_nr"] or 0
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", machine.forward(OPERATOR)), timeout=60) as s:
            s.sendall(b'{"op": "plu", "code": "1001"}\n{"op": "cash"}\n')
            time.sleep(rng.uniform(0.0, 1.5))
            machine.kill()
        since = len(machine.lines)
        machine.start()
        assert machine.wait_for("I ecr: ready", 120, since), "\n".join(machine.lines[-30:])
        port, con = _console(machine)
        try:
            verified = con.run("journal verify")
            assert verified["ok"], (seed, verified)
        finally:
            port.close()
        now = until(lambda: _operator(machine, op="state")["state"], 30)["last_bon_nr"] or 0
        assert now >= last, (seed, now, last)  # nothing lost; a number is never given out twice
        last = now
    assert _signed_sale(machine), seed  # and the card signs the next sale
    machine.stop()  # the host's own audit tool on the journal the guest wrote to its disk
    machine.fetch("ecr/journal", str(tmp_path / "journal"))
    report = verify_journal(str(tmp_path / "journal"))
    assert report.problems == [] and report.signed >= 2, (seed, report.problems, report.signed)
    since = len(machine.lines)
    machine.start()  # the fixture's machine stays up for the tests after this one
    assert machine.wait_for("I ecr: ready", 120, since)


def test_make_sim_target_qemu_has_the_simulators_peripherals_around_the_guest(tmp_path):
    """``make sim TARGET=qemu``'s simulator: the guest's firmware prints into emupos (its QR
    code the TSE's), draws on the panels, takes a card with the PIN typed on the customer panel
    and the acquirer's approval, and a power cut of the machine finishes what it began."""
    sim = Simulator(str(tmp_path), "micropython", target="qemu").start()
    try:
        assert sim.missing == {} and sim.endpoints["qemu"].isdigit()
        before = len(sim.emupos.receipts())
        assert sim.operator(op="plu", code="1001")["ok"]
        reply = sim.operator(op="cash", given=1000)
        assert reply["ok"] and reply["state"]["bon"] is None, reply
        qr = [ln[5:] for ln in reply["state"]["last_receipt"].splitlines() if ln.startswith("[QR] ")][0]
        printed = sim.emupos.wait_receipts(before + 1)
        image = PIL.Image.open(io.BytesIO(sim.emupos.image(printed[0]["id"])))
        assert [c.text for c in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)] == [qr]
        assert sim.panels["operator"].wait_drawn() and sim.panels["customer"].wait_drawn()
        sim.pin("1234")
        sim.insert_card()
        assert sim.operator(op="plu", code="1002")["ok"]
        reply = sim.operator(op="card")
        sim.remove_cards()
        assert reply["ok"] and "Zahlung erfolgt" in reply["state"]["messages"][-1], reply["state"]["messages"]
        assert sim.operator(op="plu", code="1003")["ok"]
        sim.power_cut()
        st = sim.operator(op="state")["state"]
        assert st["bon"] is None and any("abgebrochen" in m for m in st["messages"]), st["messages"]
    finally:
        sim.stop()
