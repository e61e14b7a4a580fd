"""Scene build and render of the operator's sale screen with a receipt of 30 lines on an
800 x 480 RGB565 panel and of the customer's on 480 x 272, whole frames
(tools/workloads/screen_time.py): goal <= 16 ms on CPython and <= 50 ms on MicroPython per
frame (issue 16). The panel's wire then carries only the rows that changed (hal/panel.py)."""

import json
import subprocess
import sys

from tools import upy
from tools.bench.bench_sale import row

WORKLOAD = str(upy.ROOT / "tools" / "workloads" / "screen_time.py")
GOAL_MS = {"cpython": 16, "micropython": 50}
NAMES = {
    "operator": "operator sale screen 800x480, 30 lines, whole frame: median",
    "customer": "customer sale scene 480x272, 30 lines, whole frame: median",
}


def run():
    rows = []
    for runtime, runs in (("cpython", 10), ("micropython", 20)):
        argv = [WORKLOAD, str(runs)]
        argv = upy.command(argv, "4M") if runtime == "micropython" else [sys.executable] + argv
        proc = subprocess.run(
            argv, cwd=upy.ROOT, env=upy.env({"PYTHONPATH": str(upy.ROOT)}), capture_output=True, text=True
        )
        if proc.returncode:
            raise RuntimeError("screen_time on %s failed: %s%s" % (runtime, proc.stdout, proc.stderr))
        for line in proc.stdout.strip().splitlines():
            got = json.loads(line)
            ms, goal = round(got["median_us"] / 1000, 1), GOAL_MS[runtime]
            rows.append(row(NAMES[got["screen"]], runtime, ms, "ms", "<= %d ms" % goal, ms <= goal))
    return rows
