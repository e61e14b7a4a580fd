"""The driver side of bench_tse, run as a script on MicroPython or CPython:

    tse_driver_workload.py HOST PORT N [heap]   -> N Start+Finish over NBD, one JSON line

Prints the wall time; with ``heap`` (MicroPython) also the most heap in live use, taken after a
collection following each transaction (which costs time: not for the CPU measurement).
"""

import asyncio
import gc
import json
import sys

from firmware.fiscal.processdata import PROCESS_TYPE, kassenbeleg_v1
from hal.clock import SystemClock
from tse_sd.client import TseClient
from tse_sd.nbd import NbdBlockDevice
from tse_sd.transport import BlockTransport

CLIENT_ID = "BENCH-1"
DATA = kassenbeleg_v1("Beleg", (1190, 535, 0, 0, 0), [(1000, "Bar"), (725, "Unbar")])


async def work(client, n, heap):
    most = 0
    for _ in range(n):
        start = await client.start_transaction(CLIENT_ID)
        await client.finish_transaction(CLIENT_ID, start.number, DATA, PROCESS_TYPE)
        if heap:
            gc.collect()
            most = max(most, gc.mem_alloc())
    return most


def main(host, port, n, heap):
    clock = SystemClock()
    client = TseClient(lambda: BlockTransport(NbdBlockDevice.connect(host, port, "tse")), clock)
    t0 = clock.ticks_ms()
    most = asyncio.run(work(client, n, heap))
    wall = clock.ticks_diff(clock.ticks_ms(), t0)
    client.close()
    print(json.dumps({"n": n, "wall_ms": wall, "heap_max": most}))


main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:] == ["heap"])
