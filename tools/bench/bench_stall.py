"""The event loop's worst stall while the terminal works, on both runtimes (issue 14).

The terminal rings up and pays a sale every 500 ms for 30 s (tools/workloads/stall.py) in two
rooms, and a meter task in the firmware records the worst delay of a 2 ms sleep:

- **faulty**: the printer is a serial printer switched off (a pty nobody reads or answers),
  the drawer hangs on it, the customer display's pty is not read, and no card reader is
  there (CPython: no PC/SC service; MicroPython: its vpcd reader with no card coming);
- **healthy**: emupos as printer and drawer, the display's pty read as it comes, a card in
  the contactless reader (the firmware's vpcd reader on both runtimes, the card program of
  tools/sim/card.py).

Goal: at most 20 ms on CPython and 50 ms on MicroPython, in both rooms.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tty

from tools import upy
from tools.bench.bench_sale import row
from tools.sim.card import CardLink
from tools.sim.emupos import Emupos
from tools.sim.emv_card import EmvCard, SimCa
from tools.sim.launch import free_port_pair

WORKLOAD = str(upy.ROOT / "tools" / "workloads" / "stall.py")
SECONDS = 30
GOAL_MS = {"cpython": 20, "micropython": 50}


def pty():
    """A pty pair: (master fd, the slave's path). The slave is raw, as a serial line."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    os.close(slave)
    return master, path


def _drain(fd, stop):
    while not stop.is_set():
        try:
            os.read(fd, 4096)
        except OSError:
            time.sleep(0.01)


def _insert(port, timeout=10):
    card = EmvCard.test_card(SimCa.make(), True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return CardLink(card, port).insert(timeout=2)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def measure(runtime, room, seconds=SECONDS):
    """Run the workload once; returns its JSON result."""
    masters, stop, threads, card, emu = [], threading.Event(), [], None, None
    port = free_port_pair()
    reader = {"driver": "vpcd-reader", "port": port}
    tap = {"driver": "vpcd-reader", "port": port + 1, "contactless": True}
    env = {"PYTHONPATH": str(upy.ROOT)}
    with tempfile.TemporaryDirectory(dir="/dev/shm") as tmp:
        try:
            display_fd, display = pty()
            masters.append(display_fd)
            devices = {"display": {"driver": "dmd-display", "path": display}}
            if room == "faulty":
                printer_fd, printer = pty()
                masters.append(printer_fd)
                devices["printer"] = {"driver": "link-printer", "path": printer}
                if runtime == "cpython":
                    reader = {"driver": "pcsc-reader", "reader": "smartECR virtual reader 00 00"}
                    tap = dict(reader, reader="smartECR virtual reader 00 01", contactless=True)
                    env["PCSCLITE_CSOCK_NAME"] = tmp + "/no-pcscd"
            else:
                emu = Emupos(tmp + "/emupos").start()
                devices["printer"] = {"driver": "tcp-printer", "port": emu.printer_port}
                threads.append(threading.Thread(target=_drain, args=(display_fd, stop), daemon=True))
            devices.update(drawer={"driver": "printer-drawer"}, card_reader=reader, contactless_reader=tap)
            board = tmp + "/board.json"
            with open(board, "w") as f:
                json.dump({"name": "bench-stall-" + room, "devices": devices}, f)
            argv = upy.command([]) if runtime == "micropython" else [sys.executable]
            for t in threads:
                t.start()
            proc = subprocess.Popen(
                argv + [WORKLOAD, board, str(seconds), tmp + "/journal"],
                cwd=upy.ROOT,
                env=upy.env(env),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            if room == "healthy":
                card = _insert(port + 1)
            out, err = proc.communicate(timeout=seconds + 120)
        finally:
            stop.set()
            if card is not None:
                card.close()
            if emu is not None:
                emu.stop()
            for fd in masters:
                os.close(fd)
    if proc.returncode:
        raise RuntimeError("stall workload (%s, %s) failed: %s%s" % (runtime, room, out, err))
    return json.loads(out.strip().splitlines()[-1])


def run():
    rows = []
    for runtime in ("cpython", "micropython"):
        goal = GOAL_MS[runtime]
        for room in ("faulty", "healthy"):
            got = measure(runtime, room)
            name = "event loop's worst stall over %d s, %s devices (%d sales)" % (SECONDS, room, got["sales"])
            rows.append(row(name, runtime, got["worst_ms"], "ms", "<= %d" % goal, got["worst_ms"] <= goal))
    return rows
