"""The driver side of bench_tse, run as a script on MicroPython or CPython:

    tse_driver_workload.py HOST PORT N [heap]   -> N Start+Finish over NBD, one JSON line
    tse_driver_workload.py --config FILE SERIAL N   -> N Start+Finish through a network TSE

With ``--config`` (a firmware configuration: its ``tse`` section, a cloud TSE or the store's
shared one) the TSE is opened the way the firmware boots it (``firmware.main.cloud_tse``: the
TSS and the client ``SERIAL`` set up when missing) and the transactions go over HTTP(S).

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


async def work(client, n, heap, client_id=CLIENT_ID):
    most = 0
    for _ in range(n):
        start = await client.start_transaction(client_id)
        await client.finish_transaction(client_id, start.number, DATA, PROCESS_TYPE)
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


async def network(path, serial, n):
    from firmware.config import load
    from firmware.log import Logger
    from firmware.main import cloud_tse

    clock = SystemClock()
    log = Logger("bench", ring=20, clock=clock)
    client, service = await cloud_tse(load(path)["tse"], serial, clock, log, path + ".puk")
    if service.state != "ready":
        raise RuntimeError("the network TSE is %s: %s" % (service.state, service.reason))
    t0 = clock.ticks_ms()
    await work(client, n, False, serial)
    print(json.dumps({"n": n, "wall_ms": clock.ticks_diff(clock.ticks_ms(), t0)}))
    client.close()


if sys.argv[1] == "--config":
    asyncio.run(network(sys.argv[2], sys.argv[3], int(sys.argv[4])))
else:
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:] == ["heap"])
