"""The QEMU target (tools/qemu): boot time from QEMU's start to the service console's prompt
in the arm64 guest (cortex-a53, TCG; goals <= 6 s on MicroPython, <= 9 s on CPython, issue
17), the image's sizes, and bench_sale's firmware time per sale run in the guest next to the
same on this host (the ratio is TCG's cost, not a board's speed).
"""

import json
import os
import shutil
import sys
import tempfile
import time

from tools import upy
from tools.bench.bench_sale import SALE, _run, row
from tools.qemu import image
from tools.qemu.machine import ONLY_CONSOLE_AND_CARD, Machine
from tools.sim.launch import SIM_CONSOLE
from tools.sim.tse.server import CardServer

GOAL_S = {"micropython": 6, "cpython": 9}


def run():
    if not shutil.which("qemu-system-aarch64"):
        name = "QEMU boot to the console prompt"
        return [row(name, runtime, None, "s", "<= %d s" % goal, False) for runtime, goal in GOAL_S.items()]
    rows = []
    for runtime, goal in GOAL_S.items():
        img = image.build(runtime)
        rows.append(row("QEMU guest initramfs", runtime, round(img["sizes"]["initrd"] / 1e6, 1), "MB"))
        with tempfile.TemporaryDirectory() as out:
            card = CardServer(os.path.join(out, "card"), control_port=0).start()
            config = {"platform": "linux", "board": "boards/qemu-virt.json", "data_dir": "/mnt/data/ecr"}
            config.update(console=SIM_CONSOLE, devices={name: None for name in ONLY_CONSOLE_AND_CARD})
            machine = Machine(out, runtime, card.nbd.address, config)
            try:
                started = time.monotonic()
                machine.start()
                up = machine.wait_for("service console on", 60)
                seconds = round(time.monotonic() - started, 1) if up else None
            finally:
                machine.stop()
                card.close()
        ok = seconds is not None and seconds <= goal
        rows.append(row("QEMU boot to the console prompt", runtime, seconds, "s", "<= %d s" % goal, ok))
        host = _run([sys.executable] if runtime == "cpython" else upy.command([]), SALES)["median_us"]
        guest = sale_in_guest(runtime)
        rows.append(row(SALE + ", in the guest", runtime, guest / 1000.0, "ms"))
        rows.append(row(SALE + ", guest / host", runtime, round(guest / host, 1), "x"))
    return rows


SALES = 300


def sale_in_guest(runtime):
    """bench_sale's workload (tools/bench/sale_workload.py) as the guest's job: its median in µs."""
    with tempfile.TemporaryDirectory() as out:
        card = CardServer(os.path.join(out, "card"), control_port=0).start()
        job = ["-m", "tools.bench.sale_workload", "/tmp/journal", str(SALES)]  # the guest's tmpfs
        machine = Machine(out, runtime, card.nbd.address, {}, run=job)
        printed = []

        def talk(line):
            with line.makefile("r") as lines:
                printed.extend(text for text in lines if text.strip())

        try:
            status = machine.run_job(talk)
        finally:
            card.close()
    if status != 0 or not printed:
        raise RuntimeError("the sale workload failed in the guest: %s" % "\n".join(machine.lines[-20:]))
    return json.loads(printed[-1])["median_us"]
