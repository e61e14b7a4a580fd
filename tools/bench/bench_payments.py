"""The payment parsers' time per message, on both runtimes (issue 18): the ZVT Status
Information of a real terminal read into the payment record, our EMVCo merchant-presented code
parsed with its CRC, a consumer-presented code's chip data, a ZVT serial frame deframed with
its CRC (tools/workloads/payment_time.py). Goals: a register reads a terminal's answer, and a
terminal a customer's code, well inside the 100 ms a cashier's key is answered in — 1 ms each on
MicroPython, 0.5 ms on CPython."""

import json
import subprocess
import sys

from tools import upy
from tools.bench.bench_sale import row

WORKLOAD = str(upy.ROOT / "tools" / "workloads" / "payment_time.py")
GOAL_MS = {"cpython": 0.5, "micropython": 1.0}
WHAT = (
    ("zvt_status_information_us", "zvt: status information (04 0F) parsed"),
    ("zvt_serial_frame_us", "zvt: serial frame deframed, CRC checked"),
    ("emvco_mpm_us", "qr: EMVCo merchant-presented code parsed, CRC checked"),
    ("emvco_cpm_us", "qr: EMVCo consumer-presented code read"),
)


def run():
    rows = []
    for runtime in ("cpython", "micropython"):
        argv = upy.command([WORKLOAD]) if runtime == "micropython" else [sys.executable, WORKLOAD]
        env = upy.env({"PYTHONPATH": str(upy.ROOT)})
        proc = subprocess.run(argv, cwd=upy.ROOT, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError("payment_time on %s failed: %s" % (runtime, proc.stderr))
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        goal = GOAL_MS[runtime]
        for key, name in WHAT:
            ms = got[key] / 1000.0
            rows.append(row(name, runtime, ms, "ms", "<= %g ms" % goal, ms <= goal))
    return rows
