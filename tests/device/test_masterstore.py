"""Master data change only between closings (firmware/masterstore.py, DSFinV-K Tz. 3.3), on both
runtimes: a master file changed while the period has receipts waits for the closing; a changed
serial is not taken this way."""

import json

from support import ROOT, TempDir, run

from firmware.journal import Journal
from firmware.log import Logger
from firmware.masterstore import MasterStore
from firmware.register.master import load_master
from firmware.till import Till, period_has_vorgaenge
from hal.clock import ManualClock


def _demo():
    with open(ROOT + "/data/demo-master.json") as f:
        return json.load(f)


def _boot(d, data, clock, log):
    path = d.write("master.json", json.dumps(data))
    journal = Journal(d.path + "/journal", clock)
    store = MasterStore(d.path, journal, log)
    master, waiting = store.open(load_master(path), period_has_vorgaenge(journal))
    till = Till(master, journal, None, clock, log)
    till.master_store, till.waiting_master = store, waiting
    return till


def _sell(till, plu="1001"):
    async def sale():
        till.open_bon()
        line = await till.ring("add_plu", plu)
        till.pay("Bar", line["amount"])
        await till.finish()
        return line["amount"]

    return run(sale())


def test_a_changed_master_file_waits_for_the_closing():
    d = TempDir()
    clock = ManualClock()
    log = Logger(ring=50)
    try:
        data = _demo()
        till = _boot(d, data, clock, log)
        assert till.waiting_master is None and _sell(till) == 549
        till.journal.close()
        data["articles"][0]["price"] = 599  # a new price list, deployed mid-day
        till = _boot(d, data, clock, log)
        assert till.waiting_master is not None and _sell(till) == 549  # the period's prices
        assert any("taken after the next closing" in line for line in log.tail(10))
        run(till.close_day(549 * 2))
        assert till.waiting_master is None and _sell(till) == 599  # the new period's
        masters = [r["data"] for r in till.journal.records() if r["type"] == "master"]
        assert len(masters) == 2 and masters[1]["digest"] != masters[0]["digest"]
        till.journal.close()
        till = _boot(d, data, clock, log)  # nothing new: nothing journaled
        assert till.waiting_master is None and _sell(till) == 599
        assert len([r for r in till.journal.records() if r["type"] == "master"]) == 2
        till.journal.close()
    finally:
        d.cleanup()


def test_a_serial_changed_in_the_file_is_refused():
    d = TempDir()
    clock = ManualClock()
    log = Logger(ring=50)
    try:
        data = _demo()
        till = _boot(d, data, clock, log)
        till.journal.close()
        data["register"]["serial"] = "KASSE-NEU"
        till = _boot(d, data, clock, log)  # the period is empty: only the serial stops it
        assert till.master.register["serial"] == "SMARTECR-SIM-0001" and till.waiting_master is None
        assert any("changes the register serial" in line for line in log.tail(10))
        till.journal.close()
    finally:
        d.cleanup()
