"""The firmware side of bench_sale, run as a script on MicroPython or CPython:

    sale_workload.py JOURNAL_DIR SALES [heap]   -> one JSON line

Each sale: 20 articles, cash with change, the TSE steps and the journal records (pending and
beleg); then, timed apart, its receipt document and ESC/POS bytes. What is left out is what the
goal leaves out: TSE signing (an instant stand-in answers) and device I/O (the journal is on
tmpfs, the ESC/POS bytes go to a counting sink). Prints per-sale and per-receipt medians in
microseconds and, with ``heap``, the most live heap after a collection every 50 sales.
"""

import asyncio
import gc
import json
import sys
import time

from firmware.journal import Journal
from firmware.log import Logger
from firmware.receipts import receipt, to_escpos
from firmware.register.master import MasterData
from firmware.till import Till
from hal.clock import SystemClock
from tools.workloads.instant_tse import InstantTse

PLUS = ("1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1002", "1003")

try:
    now_us, diff_us = time.ticks_us, time.ticks_diff
except AttributeError:
    now_us, diff_us = (lambda: time.perf_counter_ns() // 1000), (lambda a, b: a - b)


class _Printer:
    """The printer's side of the wire: counts what arrives."""

    received = 0

    def receive(self, data):
        self.received += len(data)


async def shift(till, master, sales, heap):
    times = [0] * sales  # made before the heap fragments; the shift itself must not need them
    prints = [0] * sales
    most = 0
    paper = _Printer()
    for i in range(sales):
        t0 = now_us()
        till.open_bon()
        for k in range(20):
            await till.ring("add_plu", PLUS[(i + k) % len(PLUS)])
        till.pay("Bar", till.due + 1000)
        record = await till.finish()
        t1 = now_us()
        to_escpos(receipt(record, master, 42), sink=paper.receive)
        times[i] = diff_us(t1, t0)
        prints[i] = diff_us(now_us(), t1)
        if heap and i % 50 == 49:
            gc.collect()
            most = max(most, gc.mem_alloc())
    return times, prints, most


def main(folder, sales, heap):
    with open("data/demo-master.json") as f:
        master = MasterData.from_dict(json.load(f))
    clock = SystemClock()
    journal = Journal(folder, clock)
    till = Till(master, journal, InstantTse(), clock, Logger(ring=16))
    times, prints, most = asyncio.run(shift(till, master, sales, heap))
    journal.close()
    times.sort()
    prints.sort()
    print(
        json.dumps(
            {
                "sales": sales,
                "median_us": times[len(times) // 2],
                "receipt_us": prints[len(prints) // 2],
                "heap_max": most,
            }
        )
    )


main(sys.argv[1], int(sys.argv[2]), sys.argv[3:] == ["heap"])
