"""Power cuts at random points of sales: the firmware process is killed (SIGKILL) over and over,
on both runtimes against one card and one journal; afterwards journal and TSE reconcile exactly.

What must hold after the last restart (KassenSichV; docs/compliance.md):
- the journal's chain is intact (torn tails were cut, nothing else changed);
- no transaction of the register is left open on the TSE;
- every transaction the TSE signed is in the journal, with exactly the processData signed;
- every journal receipt is signed or has its TSE failure recorded;
- receipt numbers are continuous and unique.
"""

import asyncio
import os
import random
import select
import signal
import subprocess
import sys
import time

import pytest

from firmware.journal import Journal
from hal.clock import SystemClock
from tools import upy
from tools.sim.tse.server import CardServer
from tools.sim.tse.tar import export
from tse_sd.client import TseClient
from tse_sd.nbd import NbdBlockDevice
from tse_sd.transport import BlockTransport

sys.path.insert(0, str(upy.ROOT / "tests" / "host"))
from test_till import agree  # noqa: E402

CUTS = 100  # per runtime: 200 in all
WORKLOAD = str(upy.ROOT / "tests" / "device" / "crash_workload.py")


def command(runtime, port, journal, seed, sales=-1):
    args = [
        WORKLOAD,
        "--nbd",
        "127.0.0.1:%d" % port,
        "--journal",
        journal,
        "--seed",
        str(seed),
        "--sales",
        str(sales),
    ]
    if runtime == "micropython":
        return upy.command(args)
    return [sys.executable] + args


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_kills_at_random_points_leave_journal_and_tse_in_agreement(runtime, tmp_path):
    card = CardServer(str(tmp_path / "card")).start()
    clock = SystemClock()
    setup = TseClient(lambda: BlockTransport(NbdBlockDevice.connect("127.0.0.1", card.nbd.port)), clock)
    asyncio.run(setup.setup("123456", "12345", "54321", "SMARTECR-SIM-0001", clock.now()))
    setup.close()
    journal = str(tmp_path / "journal")
    env = upy.env({"PYTHONPATH": "%s:%s" % (upy.ROOT, upy.ROOT / "tests" / "device")})
    rng = random.Random(4711)
    recovered = 0
    try:
        for cut in range(CUTS):
            proc = subprocess.Popen(
                command(runtime, card.nbd.port, journal, cut),
                cwd=upy.ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            line = proc.stdout.readline() if ready else ""
            if not line.startswith("ready"):
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                out, err = proc.stdout.read(), proc.stderr.read()  # what readline() had buffered too
                raise AssertionError(
                    "cut %d: exit %s, no ready: %s%s%s" % (cut, proc.returncode, line, out, err)
                )
            recovered += int(line.split()[1])
            time.sleep(rng.uniform(0, 0.05))
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        final = subprocess.run(
            command(runtime, card.nbd.port, journal, 0, sales=0),
            cwd=upy.ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert final.returncode == 0, final.stderr
    finally:
        card.close()
    card2 = CardServer(str(tmp_path / "card"))  # the card's state as stored
    j = Journal(journal, clock)
    try:
        ok, problems = j.verify()
        assert ok, problems

        agree(card2.card, j)
        records = list(j.records())
        assert sum(1 for r in records if r["type"] == "beleg") > CUTS  # sales really happened
        assert recovered > 0 and any(r["type"] == "recovery" for r in records)  # cuts hit open sales
        assert len(export(card2.card)[0]) > 0
    finally:
        j.close()
        card2.close()
    assert os.path.isdir(journal)
