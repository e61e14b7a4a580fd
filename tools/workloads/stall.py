"""The firmware side of the event-loop stall benchmark (device code, both runtimes): the
terminal at work with the devices a board file names, and how late the event loop ever was.

    stall.py BOARD_JSON SECONDS JOURNAL_DIR   -> one JSON line

For SECONDS the terminal runs (its scanner, device and display tasks) while a sale of three
articles is rung up and paid in cash every 500 ms (the display shows each line, the receipt
is queued for the printer, the drawer is kicked) and a card payment is tried every fourth
sale before the cash. A meter task asks to sleep 2 ms, again and again, and records how much
later than that it woke: the worst is the longest anything held the loop. The TSE is
``InstantTse``: signing is the card's time, not the loop's, and the TSE has its own rows.
"""

import asyncio
import json
import sys

from firmware.journal import Journal
from firmware.log import WARNING, Logger
from firmware.register.master import load_master
from firmware.terminal import Terminal
from firmware.till import Till
from hal.board import Board
from hal.clock import SystemClock
from payment.emv.config import load_terminal
from tools.workloads.instant_tse import InstantTse
from tools.workloads.ticks import diff_us, now_us

NAP_US = 2000


async def meter(stop, out):
    while not stop.is_set():
        t0 = now_us()
        await asyncio.sleep(NAP_US / 1000000)
        late = diff_us(now_us(), t0) - NAP_US
        out["wakes"] += 1
        if late > out["worst_us"]:
            out["worst_us"] = late


async def cashier(term, seconds, out):
    sales = int(seconds * 2)
    for i in range(sales):
        await term.plu("1001")
        await term.plu("1002", 2000)
        await term.plu("1003")
        if i % 4 == 3:
            await term.pay_card()
        if term.till.open_sale:
            await term.pay_cash(5000)
        out["sales"] += 1
        await asyncio.sleep(0.5)


async def main(board_path, seconds, folder):
    clock = SystemClock()
    log = Logger(level=WARNING, ring=16)
    journal = Journal(folder, clock)
    till = Till(load_master("data/demo-master.json"), journal, InstantTse(), clock, log)
    emv = load_terminal("data/emv/terminal.json")
    term = Terminal(till, Board.load(board_path), log, clock, emv=emv)
    out = {"worst_us": 0, "wakes": 0, "sales": 0}
    stop = asyncio.Event()
    running = asyncio.create_task(term.run())
    await asyncio.sleep(0.5)  # boot: every device opened, the welcome on the display
    watch = asyncio.create_task(meter(stop, out))
    await cashier(term, seconds, out)
    stop.set()
    await watch
    out["queued"] = len(term.queue)
    out["last_bon_nr"] = till.last_bon_nr
    out["messages"] = term.messages
    term.stop()
    await running
    term.board.close()
    journal.close()
    out["worst_ms"] = out.pop("worst_us") / 1000
    print(json.dumps(out))


asyncio.run(main(sys.argv[1], float(sys.argv[2]), sys.argv[3]))
