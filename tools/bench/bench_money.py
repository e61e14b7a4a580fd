"""VAT split + German formatting of one receipt line, per second, on both runtimes.

Not a goal of its own: it shows the harness measuring device code under MicroPython the
way later benchmarks (TSE driver, sale, export) do.
"""

import json
import subprocess
import sys

from tools import upy

LOOPS = 20000

# Runs on both runtimes: time.ticks_us exists only on MicroPython.
SCRIPT = """
import time, json
from core.money import vat_split, format_cents
try:
    now_us, diff = time.ticks_us, time.ticks_diff
except AttributeError:
    now_us, diff = (lambda: time.perf_counter_ns() // 1000), (lambda a, b: a - b)
t0 = now_us()
for g in range(%d):
    net, vat = vat_split(g, 1900)
    format_cents(net); format_cents(vat)
us = diff(now_us(), t0)
print(json.dumps({"per_s": %d * 1000000 // max(us, 1)}))
""" % (LOOPS, LOOPS)


def _row(runtime, per_s):
    return {
        "benchmark": "money: vat_split + 2x format_cents",
        "runtime": runtime,
        "value": per_s,
        "unit": "ops/s",
    }


def run():
    rows = []
    for runtime, argv in (
        ("cpython", [sys.executable, "-c", SCRIPT]),
        ("micropython", upy.command(["-c", SCRIPT])),
    ):
        proc = subprocess.run(argv, cwd=upy.ROOT, env=upy.env(), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError("%s failed: %s" % (runtime, proc.stderr))
        rows.append(_row(runtime, json.loads(proc.stdout)["per_s"]))
    return rows
