"""Firmware time per sale and a shift's memory on MicroPython (the sales core).

1. A sale of 20 articles paid in cash: ringing up, payment, the TSE steps and the journal
   records, excluding TSE signing and device I/O (tools/bench/sale_workload.py): median on
   CPython (goal <= 2 ms) and on MicroPython (goal <= 3x CPython). Its receipt (document and
   ESC/POS bytes) is timed apart and reported without a goal.
2. A 1,000-sale shift on MicroPython with ``-X heapsize=256K``, importing the device code as
   ``mpy-cross`` bytecode as a board does (compiling sources at import would need heap a board
   never spends): it must run; the most live heap is reported.
"""

import json
import subprocess
import sys
import tempfile

from tools import gates, upy

WORKLOAD = str(upy.ROOT / "tools" / "bench" / "sale_workload.py")
SALE = "sale of 20 items paid in cash (no signing, no I/O): median"
RECEIPT = "its receipt: document + ESC/POS bytes: median"


def _run(argv, sales, *extra, env=None):
    with tempfile.TemporaryDirectory(dir="/dev/shm") as tmp:
        proc = subprocess.run(
            argv + [WORKLOAD, tmp + "/journal", str(sales), *extra],
            cwd=upy.ROOT,
            env=env or upy.env({"PYTHONPATH": str(upy.ROOT)}),
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode:
        raise RuntimeError("sale workload failed: " + proc.stdout + proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def row(name, runtime, value, unit, goal=None, ok=None):
    out = {"benchmark": name, "runtime": runtime, "value": value, "unit": unit}
    if goal:
        out.update(goal=goal, ok=ok)
    return out


def run():
    cpy = _run([sys.executable], 300)
    mpy = _run(upy.command([]), 300)
    cpython, micropython = cpy["median_us"] / 1000.0, mpy["median_us"] / 1000.0
    bytecode = gates.build_mpy(upy.ROOT / "out" / "mpy")
    shift = _run(upy.command([], heapsize="256K"), 1000, "heap", env=upy.env(path=upy.path(bytecode)))
    return [
        row(SALE, "cpython", cpython, "ms", "<= 2", cpython <= 2.0),
        row(
            SALE,
            "micropython",
            micropython,
            "ms",
            "<= 3x CPython (%.2f)" % (3 * cpython),
            micropython <= 3 * cpython,
        ),
        row(RECEIPT, "cpython", cpy["receipt_us"] / 1000.0, "ms"),
        row(RECEIPT, "micropython", mpy["receipt_us"] / 1000.0, "ms"),
        row(
            "1,000-sale shift in -X heapsize=256K (bytecode): most live heap",
            "micropython",
            shift["heap_max"],
            "bytes",
            "runs in 256K",
            True,
        ),
    ]
