"""Sales until killed: the firmware side of tests/host/test_crash.py, on either runtime.

    crash_workload.py --nbd 127.0.0.1:PORT --journal DIR --seed N [--sales K]

Opens the journal (cutting a torn tail), reconciles with the TSE, prints ``ready`` and then
rings up sales (some split, some aborted) until killed, or ``K`` of them.
"""

import asyncio
import sys

from support import demo_master

from firmware.journal import Journal
from firmware.log import Logger
from firmware.till import Till
from hal.clock import SystemClock
from tools.workloads.tse_exercise import Lcg
from tse_sd.client import TseClient
from tse_sd.nbd import NbdBlockDevice
from tse_sd.transport import BlockTransport

PLUS = ("1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008")


def say(text):
    sys.stdout.write(text + "\n")
    if hasattr(sys.stdout, "flush"):
        sys.stdout.flush()


async def work(till, rng, sales):
    done = await till.recover()
    say("ready %d" % len(done))
    n = 0
    while sales < 0 or n < sales:
        till.open_bon()
        for _ in range(1 + rng.below(4)):
            await till.ring("add_plu", PLUS[rng.below(len(PLUS))], 1000 * (1 + rng.below(3)))
        if rng.below(10) == 0:
            await till.abort()
        else:
            if rng.below(3) == 0 and till.due > 100:
                till.pay("ECKarte", 100)
            till.pay("Bar", till.due + rng.below(500))
            await till.finish()
        n += 1


def main(argv):
    opts = {"sales": "-1"}
    while argv:
        opts[argv[0][2:]] = argv[1]
        argv = argv[2:]
    host, _, port = opts["nbd"].rpartition(":")
    clock = SystemClock()
    client = TseClient(lambda: BlockTransport(NbdBlockDevice.connect(host, int(port), "tse")), clock)
    journal = Journal(opts["journal"], clock)
    till = Till(demo_master(), journal, client, clock, Logger(ring=20))
    asyncio.run(work(till, Lcg(int(opts["seed"])), int(opts["sales"])))
    journal.close()
    client.close()
    return 0


sys.exit(main(sys.argv[1:]))
