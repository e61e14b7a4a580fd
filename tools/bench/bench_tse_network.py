"""Benchmarks of the TSE behind the network (issue 21): a cloud TSE and the store's shared one.

1. Firmware overhead per cloud-signed sale (a Start and a Finish, the receipt's two PUTs),
   excluding the injected latency: the simulated cloud TSE (tools/sim/cloudtse.py, HTTPS with
   the test CA) answers every request after ``LATENCY_MS``; the register's own CPU time (rusage
   of its process: HTTP, TLS, JSON, the checks on the answer) is taken for a short and a long
   run, and the difference over the extra transactions removes start-up and set-up. The
   service's work and the latency are in another process's time, not in this figure. Goals:
   <= 10 ms on CPython, <= 60 ms on MicroPython (TLS in software). The same over plain HTTP
   shows what TLS costs: each request is a connection of its own (hal/http), so a sale pays
   two TLS handshakes. The wall time per sale, latency included, is reported next to it.
2. Sales/s (Start+Finish) of three registers signing at once on one shared card through the
   store's TSE service (tools/sim/sharedtse.py: HTTPS, the card over NBD), next to one register
   on its own card over NBD: the card signs for all three in turn, so the three together should
   not fall far below one register alone. Reported, no goal (the card's signing rate and this
   machine's two cores bound both).
"""

import asyncio
import json
import os
import sys
import tempfile
import threading

from hal.clock import SystemClock
from tools import upy
from tools.bench.bench_tse import _setup, run_workload  # the driver benchmark's card set-up and runner
from tools.sim.cloudtse import CloudTseSim
from tools.sim.sharedtse import SharedTseSim
from tools.sim.tse.server import CardServer
from tools.threaded import AppThread
from tse_sd.client import TseClient
from tse_sd.nbd import NbdBlockDevice
from tse_sd.transport import BlockTransport

LATENCY_MS = 20
SHORT, LONG = 10, 60  # transactions in the short and the long run
SALES = 60  # per register, for the rates


def _config(folder, name, tse):
    path = os.path.join(folder, name + ".json")
    with open(path, "w") as f:
        json.dump({"tse": tse}, f)
    return path


def _cpu_per_sale(argv, path, serial):
    """``(CPU ms, wall ms)`` per Start+Finish: a long run less a short one, over the extra."""
    small, cpu_small = run_workload(argv, ["--config", path, serial, str(SHORT)])
    large, cpu_large = run_workload(argv, ["--config", path, serial, str(LONG)])
    cpu = 1000.0 * (cpu_large - cpu_small) / (LONG - SHORT)
    return cpu, (large["wall_ms"] - small["wall_ms"]) / (LONG - SHORT)


def cloud_overhead(tmp):
    cloud = CloudTseSim(os.path.join(tmp, "cloud")).start()
    plain = AppThread("cloud-tse-plain", cloud.api.app).start()  # the same service without TLS
    cloud.api.faults["latency_ms"] = LATENCY_MS
    rows = []
    try:
        for runtime, argv, goal in (
            ("cpython", [sys.executable], 10.0),
            ("micropython", upy.command([]), 60.0),
        ):
            serial = "BENCH-CLOUD-" + runtime.upper()
            tse = cloud.settings()
            tse["cloud"].update(host="127.0.0.1", ca=cloud.ca)
            cost, wall = _cpu_per_sale(argv, _config(tmp, serial, tse), serial)
            tse["cloud"].update(port=plain.port, ca="")
            bare, _ = _cpu_per_sale(argv, _config(tmp, serial + "-plain", tse), serial)
            what = "cloud TSE: firmware CPU per signed sale (Start+Finish, latency excluded)"
            rows.append(
                {
                    "benchmark": what + " over HTTPS",
                    "runtime": runtime,
                    "value": cost,
                    "unit": "ms",
                    "goal": "<= %g" % goal,
                    "ok": cost <= goal,
                }
            )
            rows.append(dict(benchmark=what + " over plain HTTP", runtime=runtime, value=bare, unit="ms"))
            rows.append(
                {
                    "benchmark": "cloud TSE: wall time per signed sale, %d ms latency each request"
                    % LATENCY_MS,
                    "runtime": runtime,
                    "value": wall,
                    "unit": "ms",
                }
            )
    finally:
        plain.stop()
        cloud.stop()
    return rows


def _together(argv, jobs):
    """The workloads ``jobs`` (argument lists) at once; their JSON lines."""
    results = [None] * len(jobs)

    def one(i):
        results[i] = run_workload(argv, jobs[i])[0]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if None in results:
        raise RuntimeError("a register's TSE workload failed")
    return results


def shared_rate(tmp):
    own = CardServer(os.path.join(tmp, "own-card")).start()
    try:
        client = TseClient(
            lambda: BlockTransport(NbdBlockDevice.connect("127.0.0.1", own.nbd.port)), SystemClock()
        )
        asyncio.run(_setup(client))
        client.close()
        alone = run_workload([sys.executable], ["127.0.0.1", str(own.nbd.port), str(SALES)])[0]
    finally:
        own.close()
    shared = SharedTseSim(os.path.join(tmp, "shared")).start()
    try:
        jobs = []
        for n in (1, 2, 3):
            serial = "BENCH-SHOP-%d" % n
            tse = shared.enrol(serial)
            tse["cloud"].update(host="127.0.0.1", ca=shared.ca)
            jobs.append(["--config", _config(tmp, serial, tse), serial, str(SALES)])
        three = _together([sys.executable], jobs)
    finally:
        shared.stop()
    one_rate = 1000.0 * SALES / alone["wall_ms"]
    three_rate = 1000.0 * 3 * SALES / max(r["wall_ms"] for r in three)
    return [
        {
            "benchmark": "one register on its own card (NBD): sales/s (Start+Finish)",
            "runtime": "cpython",
            "value": one_rate,
            "unit": "sales/s",
        },
        {
            "benchmark": "three registers at once on one shared card (TSE service, HTTPS): sales/s in all",
            "runtime": "cpython",
            "value": three_rate,
            "unit": "sales/s",
        },
    ]


def run():
    with tempfile.TemporaryDirectory() as tmp:
        return cloud_overhead(tmp) + shared_rate(tmp)
