"""Scene build and render of the customer screen's sale scene with 30 lines on a 480 x 272
RGB565 panel, whole frames (tools/workloads/screen_time.py): goal <= 16 ms on CPython and
<= 50 ms on MicroPython per frame (issue 16; partial redraws, not measured here, may get
there where whole frames do not)."""

import json
import subprocess
import sys

from tools import upy
from tools.bench.bench_sale import row

WORKLOAD = str(upy.ROOT / "tools" / "workloads" / "screen_time.py")
GOAL_MS = {"cpython": 16, "micropython": 50}
NAME = "customer screen, sale scene of 30 lines, whole frame: median"


def run():
    rows = []
    for runtime, runs in (("cpython", 10), ("micropython", 20)):
        argv = [WORKLOAD, str(runs)]
        argv = upy.command(argv) if runtime == "micropython" else [sys.executable] + argv
        proc = subprocess.run(
            argv, cwd=upy.ROOT, env=upy.env({"PYTHONPATH": str(upy.ROOT)}), capture_output=True, text=True
        )
        if proc.returncode:
            raise RuntimeError("screen_time on %s failed: %s%s" % (runtime, proc.stdout, proc.stderr))
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        ms, goal = round(got["median_us"] / 1000, 1), GOAL_MS[runtime]
        rows.append(row(NAME, runtime, ms, "ms", "<= %d ms" % goal, ms <= goal))
    return rows
