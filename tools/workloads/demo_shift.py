"""A scripted shift on the simulator, headless: ``make demo`` (``python -m tools.demo``) runs this
on CPython or MicroPython against the emulated TSE card.

    demo_shift.py --nbd 127.0.0.1:PORT --control PORT --out out/demo [--printer 127.0.0.1:9100]

The shift: opening float; more than twenty sales over 19/7/0 % VAT with quantities, a weighed
article, a line void, line and receipt discounts, cash with change, an external card terminal,
a split payment, deposit (Pfand) and empties returned, a voucher sold and redeemed, a tip; a
training sale; an aborted sale; a Storno of an earlier receipt; a return; a cash withdrawal;
the TSE card pulled in mid-shift and put back; the Z closing with counted cash.

It writes ``OUT/summary.json`` (runtime, and per receipt: number, BON_TYP, total in cents, TSE
transaction number, QR string or the TSE failure), ``OUT/receipts/NNNN.txt`` and ``NNNN.escpos``,
``OUT/z0001.txt``, ``OUT/tse-export.tar`` (everything the card signed), the DSFinV-K export
``OUT/dsfinvk.zip``, the ELSTER notification ``OUT/elster-146a.xml``, and the journal in
``OUT/journal/``. Last, the card's store is freed the way a technician does it: an
incremental export into ``OUT/tse-exports/``, checked, then deleteStoredData. With
``--printer`` every receipt is also printed over TCP to that ESC/POS printer (emupos in the
simulator); a printer that fails is reported and the shift goes on.
"""

import asyncio
import json
import sys

from core.cli import options
from core.errors import DeviceError
from core.storage import makedirs
from firmware import VERSION
from firmware.config import DEFAULTS
from firmware.exports.dsfinvk import DsfinvkExport
from firmware.exports.elster import aufzeichnung_146a
from firmware.exports.tse_export import TseExports
from firmware.journal import Journal, receipts
from firmware.log import Logger
from firmware.receipts import receipt, to_escpos, to_text
from firmware.register.bon import TRAINING
from firmware.register.master import load_master
from firmware.reports import report, totals
from firmware.till import Till
from hal.clock import SystemClock
from hal.sim.printer import NetworkPrinter
from hal.sim.tse_control import TseControl
from tools.workloads.tse_exercise import DEMO_ADMIN_PIN, DEMO_PUK, DEMO_TIME_ADMIN_PIN
from tse_sd.client import TseClient
from tse_sd.nbd import NbdBlockDevice
from tse_sd.service import TseService
from tse_sd.transport import BlockTransport

USAGE = "usage: demo_shift.py --nbd HOST:PORT --control PORT --out DIR [--master FILE] [--printer HOST:PORT]"


async def sale(till, steps, payments):
    """One receipt: ``steps`` are (an entry of ``Till.ring`` or ``void``, args...), ``payments``
    (ZAHLART_TYP, cents)."""
    till.open_bon()
    for name, *args in steps:
        if name == "void":
            till.void(*args)
        else:
            await till.ring(name, *args)
    for typ, amount in payments:
        till.pay(typ, amount)
    return await till.finish()


async def shift(till, service, card):
    """The shift's Vorgänge, in order; returns their journal records."""
    done = [await till.cash("Anfangsbestand", 15000, "Wechselgeld")]

    async def add(steps, payments):
        done.append(await sale(till, steps, payments))

    await add([("add_plu", "1001"), ("add_plu", "1003", 4000)], [("Bar", 1000)])  # 7 % with quantity, change
    await add([("add_plu", "1006"), ("add_plu", "1007")], [("ECKarte", 469)])  # 19 %, external card
    await add([("add_weighed", "2001", 1234), ("add_plu", "1002")], [("Bar", 500)])  # weighed article
    await add([("add_plu", "1004", 6000)], [("Bar", 700)])  # six bottles with Einweg deposit
    await add([("add_plu", "1005", 2000), ("pfand_refund", "9002", 4)], [("ECKarte", 428)])  # empties back
    await add([("add_plu", "1008"), ("add_plu", "1003", 2000), ("void", 2)], [("Bar", 250)])  # line void
    await add([("add_plu", "1001", 2000), ("line_discount", 1, 1000)], [("Bar", 1000)])  # 10 % line discount
    await add(
        [("add_plu", "1006", 2000), ("add_plu", "1002", 3000), ("receipt_discount", None, 50)],
        [("Bar", 2000)],
    )  # receipt discount over two rates
    await add([("add_weighed", "2002", 250), ("add_plu", "1008")], [("Bar", 200), ("ECKarte", 423)])  # split
    await add([("sell_voucher", 2500, "G-2026-0001")], [("Bar", 2500)])  # voucher sold (not taxable)
    await add([("add_plu", "1001", 3000), ("redeem_voucher", 1000, "G-2026-0001")], [("Bar", 1000)])
    await add([("add_plu", "1007", 2000), ("add_tip", 120)], [("Kreditkarte", 700)])  # a tip
    await add([("add_open", "flowers", 2, 1890, "Blumenstrauß")], [("Bar", 2000)])  # open price
    await add([("add_plu", "1002", 2000), ("add_plu", "1003", 6000)], [("Bar", 508)])  # exact cash
    await add([("add_barcode", "4006381333931")], [("Bar", 600)])  # scanned barcode

    till.open_bon(TRAINING)  # training: marked, signed, never in the closing, no real money
    await till.ring("add_plu", "1005")
    till.pay("Bar", 300)
    done.append(await till.finish())

    till.open_bon()  # the customer changes their mind
    await till.ring("add_plu", "1006", 3000)
    done.append(await till.abort())

    done.append(await till.storno(done[2]["bon_nr"]))  # cancel the card sale of earlier

    await add([("add_return", "1006")], [("Bar", -179)])  # goods brought back
    done.append(await till.cash("Privatentnahme", -2000, "Privatentnahme Inhaber"))

    card.set(removed=True)  # the TSE card is pulled in mid-shift: selling goes on
    await add([("add_plu", "1003", 3000), ("add_plu", "1002")], [("Bar", 300)])
    await add([("add_plu", "1007")], [("ECKarte", 290)])
    card.set(removed=False)  # back: self-test and time, then signing resumes
    await service.boot()
    await add([("add_plu", "1001"), ("add_plu", "1004", 2000)], [("Bar", 1000)])
    await add([("add_plu", "1008", 2000), ("add_plu", "1006")], [("Bar", 1000)])
    await add([("add_weighed", "2001", 800)], [("Bar", 240)])
    await add([("add_plu", "1005", 1000)], [("ECKarte", 244)])
    return done


def elster_xml(journal, master):
    """The § 146a notification of this register and its (first) TSE."""
    first_use = next(journal.records())["t"]
    tse = next(journal.records(kind="tse"))
    return aufzeichnung_146a(master, tse["data"], tse["t"], DEFAULTS["elster"], VERSION, first_use)


def parse_args(argv):
    return options(
        argv,
        USAGE,
        ("nbd", "control", "out", "master", "printer"),
        ("nbd", "control", "out"),
        {"master": "data/demo-master.json"},
    )


async def run(opts):
    out = opts["out"]
    makedirs(out + "/receipts")
    master = load_master(opts["master"])
    clock = SystemClock()
    log = Logger("demo", ring=200, clock=clock)
    host, _, port = opts["nbd"].rpartition(":")
    client = TseClient(lambda: BlockTransport(NbdBlockDevice.connect(host, int(port), "tse")), clock)
    card = TseControl(int(opts["control"]))
    journal = Journal(out + "/journal", clock)
    try:
        client_id = master.register["serial"]
        await client.setup(DEMO_PUK, DEMO_ADMIN_PIN, DEMO_TIME_ADMIN_PIN, client_id, clock.now())
        service = TseService(client, clock, log, client_id, DEMO_TIME_ADMIN_PIN)
        await service.boot()
        till = Till(master, journal, client, clock, log, service=service)
        await till.recover()
        await shift(till, service, card)
        expected = totals(journal.records(segment=till.z_nr))["cash"]
        closing = await till.close_day(counted=expected - 50)  # 0,50 short in the drawer
        summary = []
        printer = None
        if "printer" in opts:
            p_host, _, p_port = opts["printer"].rpartition(":")
            printer = NetworkPrinter(p_host, int(p_port))
        for rec in receipts(journal.records()):
            name = "%s/receipts/%04d" % (out, rec["bon_nr"])
            doc = receipt(rec, master, 42)
            with open(name + ".txt", "w") as f:
                f.write(to_text(doc))
            data = to_escpos(doc)
            with open(name + ".escpos", "wb") as f:
                f.write(data)
            if printer is not None:
                try:
                    await printer.write(data)
                except DeviceError as e:
                    log.error("receipt %d not printed: %s", rec["bon_nr"], e)
            tse = rec.get("tse")
            summary.append(
                {
                    "bon_nr": rec["bon_nr"],
                    "bon_typ": rec["bon_typ"],
                    "total": rec["total"],
                    "tse_number": tse["number"] if tse else rec.get("tse_number"),
                    "qr": tse["qr"] if tse else None,
                    "tse_failure": rec.get("tse_failure"),
                }
            )
        with open(out + "/z%04d.txt" % closing["z_nr"], "w") as f:
            f.write(to_text(report("Z", closing["totals"], master, closing=closing)))
        with open(out + "/tse-export.tar", "wb") as f:
            await client.export_tar(f.write)
        export = DsfinvkExport(journal, master)
        export.write_zip(out + "/dsfinvk.zip", export.select(), out + "/.dsfinvk", clock.now())
        with open(out + "/elster-146a.xml", "w") as f:
            f.write(elster_xml(journal, master))
        freed = await TseExports(client, journal, out + "/tse-exports", clock).delete_stored_data(
            DEMO_ADMIN_PIN
        )
        ok, problems = journal.verify()
        with open(out + "/summary.json", "w") as f:
            f.write(
                json.dumps(
                    {
                        "runtime": sys.implementation.name,
                        "receipts": summary,
                        "closing": {k: closing[k] for k in ("z_nr", "counted", "expected", "difference")},
                        "tse_freed": freed,
                        "journal_ok": ok,
                        "journal_problems": problems,
                    }
                )
            )
        return len(summary), closing
    finally:
        journal.close()
        client.close()
        card.close()


def main(argv):
    try:
        opts = parse_args(argv)
    except ValueError as e:
        print(e)
        return 2
    count, closing = asyncio.run(run(opts))
    print(json.dumps({"receipts": count, "z_nr": closing["z_nr"], "difference": closing["difference"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
