"""DSFinV-K export speed.

1. lines.csv rows per second: our exporter (firmware.exports.dsfinvk.write_lines, which also
   writes each line's lines_vat and itemamounts rows, then the stored ZIP) next to pretix's
   ``dsfinvk`` library writing the same lines as ``Bonpos`` records into its ZIP, same run.
   Goals: ours >= 100,000 rows/s on CPython and >= 3x pretix.
2. A 10,000-receipt closing exported on MicroPython in ``-X heapsize=256K`` (the journal is
   made on CPython first): it must finish; receipts per second are reported.
"""

import asyncio
import datetime
import json
import shutil
import tempfile
import time
from decimal import Decimal

from dsfinvk.collection import Collection
from dsfinvk.models import Bonpos

import firmware.journal
from firmware.exports.archive import zip_folder
from firmware.exports.dsfinvk import TABLES, Csv, write_lines
from firmware.journal import Journal
from firmware.log import Logger
from firmware.register.bon import Bon
from firmware.register.master import MasterData
from firmware.till import Till
from hal.clock import ManualClock
from tools import upy

MASTER = upy.ROOT / "data" / "demo-master.json"
RECEIPTS = 8000  # x 5 lines = 40,000 rows
UPY_RECEIPTS = 10000
BASKETS = (("1001", 1000), ("1002", 3000), ("1006", 1000), ("1003", 2000), ("1008", 1000))


def master():
    with open(MASTER) as f:
        return MasterData.from_dict(json.load(f))


def receipts(m, count):
    out = []
    for n in range(1, count + 1):
        bon = Bon(m)
        for plu, qty in BASKETS:
            bon.add_plu(plu, qty)
        record = bon.record([{"typ": "Bar", "name": "Bargeld", "amount": bon.total}])
        record["bon_id"] = str(n)
        out.append(record)
    return out


def ours(bons, folder):
    names = [name for name, _ in TABLES if name in ("lines.csv", "lines_vat.csv", "itemamounts.csv")]
    files = {name: Csv(folder + "/" + name, "header") for name in names}
    z_head = '"SMARTECR-SIM-0001";"2026-11-22T20:00:00";1;'
    for bon in bons:
        write_lines(files, z_head + '"%s";' % bon["bon_id"], bon)
    for f in files.values():
        f.close()
    zip_folder(folder, folder + "/ours.zip", ["lines.csv"])
    return files["lines.csv"].rows


def pretix(bons, folder):
    collection = Collection()
    made = datetime.datetime(2026, 11, 22, 20, 0, tzinfo=datetime.UTC)
    rows = 0
    for bon in bons:
        for line in bon["lines"]:
            collection.add(
                Bonpos(
                    Z_KASSE_ID="SMARTECR-SIM-0001",
                    Z_ERSTELLUNG=made,
                    Z_NR=1,
                    BON_ID=bon["bon_id"],
                    POS_ZEILE=str(line["pos"]),
                    ARTIKELTEXT=line["text"],
                    GV_TYP=line["gv_typ"],
                    INHAUS=False,
                    P_STORNO=line["storno"],
                    AGENTUR_ID=0,
                    ART_NR=line.get("plu", ""),
                    GTIN=line.get("gtin", ""),
                    WARENGR_ID=line.get("group_id", ""),
                    WARENGR=line.get("group", ""),
                    MENGE=Decimal(line["qty"]) / 1000,
                    EINHEIT=line.get("unit", "Stk"),
                    STK_BR=Decimal(line["price"]) / 100,
                )
            )
            rows += 1
    index = str(upy.ROOT / "data" / "dsfinvk" / "index.xml")
    collection.write(
        folder + "/pretix.zip", index, str(upy.ROOT / "data" / "dsfinvk" / "gdpdu-01-09-2004.dtd")
    )
    return rows


def rows_per_second(fn, bons, folder, rounds=3):
    best = None
    for _ in range(rounds):
        t0 = time.perf_counter()
        rows = fn(bons, folder)
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    return rows / best


def make_journal(folder, count):
    """A closed period of ``count`` cash receipts without a TSE (written without fsync: only the
    export is measured)."""
    real_sync = firmware.journal.sync
    firmware.journal.sync = lambda f: None
    try:
        journal = Journal(folder, ManualClock())
        till = Till(master(), journal, None, journal.clock, Logger(ring=16))

        async def shift():
            for _ in range(count):
                till.open_bon()
                for plu, qty in BASKETS[:3]:
                    await till.ring("add_plu", plu, qty)
                till.pay("Bar", till.due)
                await till.finish()
            await till.close_day(counted=0)

        asyncio.run(shift())
        journal.close()
    finally:
        firmware.journal.sync = real_sync


def micropython_export(tmp):
    journal = tmp + "/journal"
    make_journal(journal, UPY_RECEIPTS)
    argv = ["tests/device/export_probe.py", journal, str(MASTER), tmp + "/upy.zip", tmp + "/work"]
    proc = upy.run(argv, heapsize="256K", capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return None, (proc.stdout + proc.stderr).strip().splitlines()[-1:]
    return json.loads(proc.stdout), []


def run():
    tmp = tempfile.mkdtemp(prefix="bench-dsfinvk-")
    try:
        bons = receipts(master(), RECEIPTS)
        a = rows_per_second(ours, bons, tmp)
        b = rows_per_second(pretix, bons, tmp)
        result, problem = micropython_export(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [
        {
            "benchmark": "DSFinV-K lines.csv rows/s: ours",
            "runtime": "cpython",
            "value": a,
            "unit": "rows/s",
            "goal": ">= 100000",
            "ok": a >= 100000,
        },
        {
            "benchmark": "DSFinV-K lines.csv rows/s: pretix dsfinvk",
            "runtime": "cpython",
            "value": b,
            "unit": "rows/s",
        },
        {
            "benchmark": "DSFinV-K lines.csv, ours / pretix",
            "runtime": "cpython",
            "value": a / b,
            "unit": "x",
            "goal": ">= 3",
            "ok": a / b >= 3,
        },
    ]
    if result is None:
        rows.append(
            {
                "benchmark": "DSFinV-K export of %d receipts, heap 256K (failed: %s)"
                % (UPY_RECEIPTS, problem),
                "runtime": "micropython",
                "value": 0,
                "unit": "receipts/s",
                "goal": "finishes",
                "ok": False,
            }
        )
    else:
        rows.append(
            {
                "benchmark": "DSFinV-K export of %d receipts (%d rows), heap 256K"
                % (UPY_RECEIPTS, sum(result["rows"].values())),
                "runtime": "micropython",
                "value": UPY_RECEIPTS / result["seconds"],
                "unit": "receipts/s",
                "goal": "finishes",
                "ok": True,
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
