"""TSE benchmarks: the emulator's signing rate, the driver's cost per transaction, its heap.

1. Emulator signatures/s (Start+Finish as mailbox blocks into the card image, log store
   included; no driver, no network) next to the raw ``cryptography`` brainpoolP384r1/SHA-384
   sign rate, in interleaved rounds so both see the same machine load. Goal: >= 90 %.
   The same with ``--fsync`` (every log fdatasync'd) is reported for information.
2. Driver cost per Start+Finish over NBD, excluding signing: the card is served by a separate
   process, and the driver's own CPU time (rusage of its process) is taken for a short and a
   long run; the difference over the extra transactions removes start-up. Goals: <= 2 ms on
   CPython, <= 6 ms on MicroPython.
3. The driver on MicroPython with ``-X heapsize=256K``: it must run (the benchmark fails if it
   does not); the most live heap, taken after a collection following each transaction, is reported.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from hal.clock import SystemClock
from tools import upy
from tools.sim.tse.image import ImageBlocks
from tools.sim.tse.server import open_card
from tse_sd import protocol as p
from tse_sd.client import TseClient
from tse_sd.nbd import NbdBlockDevice
from tse_sd.transport import BlockTransport

WORKLOAD = str(upy.ROOT / "tools" / "bench" / "tse_driver_workload.py")
CLIENT_ID = "BENCH-1"
SALES = 300


async def _setup(client):
    await client.setup("123456", "12345", "54321", CLIENT_ID, SystemClock().now())


def _mailbox(image, request):
    """One command as the card sees it: the request block in, the answer block out."""
    image.write(image.comm * 512, request)
    exchange = p.Exchange(-1)
    if exchange.feed(image.read(image.comm * 512, 512)) != p.DONE or exchange.status:
        raise RuntimeError("the emulator refused a benchmark command: 0x%04X" % (exchange.status or 0))
    return exchange.data


def emulator_rate(rounds=5, sales=60, fsync=False):
    """Median over interleaved rounds, so both rates see the same machine load."""
    data = b"Beleg^11.90_5.35_0.00_0.00_0.00^10.00:Bar_7.25:Unbar"
    padded = data + bytes(512 - len(data))
    start = p.encode_request(
        bytearray(512), p.CMD_OPEN_TRANSACTION, p.open_transaction_params(p.EVENT_START, CLIENT_ID, 0, 0, "")
    )
    close = bytes(p.encode_request(bytearray(512), p.CMD_CLOSE_TRANSACTION))
    key = ec.generate_private_key(ec.BrainpoolP384R1())
    message = bytes(260)  # about the size of a Finish log's signed part
    emulator, raw, ratio = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        card, image = open_card(tmp, fsync=fsync)
        client = TseClient(lambda: BlockTransport(ImageBlocks(image)), SystemClock())
        asyncio.run(_setup(client))
        store = image.store[0].runs(0, 1)[0][0] * 512
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(sales):
                _mailbox(image, bytes(start))
                number = p.parse_close(_mailbox(image, close)).number
                finish = p.open_transaction_params(
                    p.EVENT_FINISH, CLIENT_ID, number, len(data), "Kassenbeleg-V1"
                )
                block = p.parse_open(
                    _mailbox(image, bytes(p.encode_request(bytearray(512), p.CMD_OPEN_TRANSACTION, finish)))
                )
                image.write(store + block * 512, padded)
                _mailbox(image, close)
            emulator.append(2 * sales / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for _ in range(2 * sales):
                key.sign(message, ec.ECDSA(hashes.SHA384()))
            raw.append(2 * sales / (time.perf_counter() - t0))
            ratio.append(100.0 * emulator[-1] / raw[-1])
        image.close()
        card.close()
    median = statistics.median(ratio)
    if fsync:
        return [
            {
                "benchmark": "tse emulator / raw sign rate with --fsync (each log fdatasync'd)",
                "runtime": "cpython",
                "value": median,
                "unit": "%",
            }
        ]
    return [
        {
            "benchmark": "tse emulator: signatures/s (Start+Finish via mailbox)",
            "runtime": "cpython",
            "value": statistics.median(emulator),
            "unit": "sig/s",
        },
        {
            "benchmark": "tse raw cryptography brainpoolP384r1 sign rate",
            "runtime": "cpython",
            "value": statistics.median(raw),
            "unit": "sig/s",
        },
        {
            "benchmark": "tse emulator / raw sign rate (median of rounds)",
            "runtime": "cpython",
            "value": median,
            "unit": "%",
            "goal": ">= 90",
            "ok": median >= 90,
        },
    ]


def _driver_run(argv, n, port, *extra):
    return run_workload(argv, ["127.0.0.1", str(port), str(n), *extra])


def run_workload(argv, args):
    """tools/bench/tse_driver_workload.py with ``args`` on ``argv`` (a runtime): ``(its JSON
    line, its CPU seconds)``, the CPU time the process's own (rusage, by ``wait4``)."""
    proc = subprocess.Popen(
        argv + [WORKLOAD] + args,
        cwd=upy.ROOT,
        env=upy.env({"PYTHONPATH": str(upy.ROOT)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError("TSE workload failed: %s" % err.decode())
    return json.loads(out.decode().strip().splitlines()[-1]), usage.ru_utime + usage.ru_stime


def driver_cost():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [sys.executable, "-m", "tools.tse", "card", "serve", "--state", tmp, "--port", "0"],
            cwd=upy.ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            port = int(server.stdout.readline().rsplit(":", 1)[1].split("/")[0])
            client = TseClient(
                lambda: BlockTransport(NbdBlockDevice.connect("127.0.0.1", port)), SystemClock()
            )
            asyncio.run(_setup(client))
            client.close()
            for runtime, argv, goal in (
                ("cpython", [sys.executable], 2.0),
                ("micropython", upy.command([]), 6.0),
            ):
                small, cpu_small = _driver_run(argv, 20, port)
                large, cpu_large = _driver_run(argv, 220, port)
                cost = 1000.0 * (cpu_large - cpu_small) / 200
                wall = (large["wall_ms"] - small["wall_ms"]) / 200
                rows.append(
                    {
                        "benchmark": "tse driver CPU per Start+Finish over NBD (no signing)",
                        "runtime": runtime,
                        "value": cost,
                        "unit": "ms",
                        "goal": "<= %g" % goal,
                        "ok": cost <= goal,
                    }
                )
                rows.append(
                    {
                        "benchmark": "tse Start+Finish wall time, card signing included",
                        "runtime": runtime,
                        "value": wall,
                        "unit": "ms",
                    }
                )
            heap, _ = _driver_run(upy.command([], heapsize="256K"), 50, port, "heap")
            rows.append(
                {
                    "benchmark": "tse driver in -X heapsize=256K: most live heap",
                    "runtime": "micropython",
                    "value": heap["heap_max"],
                    "unit": "bytes",
                    "goal": "runs in 256K",
                    "ok": True,
                }
            )
        finally:
            server.terminate()
            server.wait(10)
    return rows


def run():
    return emulator_rate() + emulator_rate(fsync=True) + driver_cost()
