"""A scripted shift on the simulator, headless: ``make demo`` (``python -m tools.demo``) runs this
on CPython or MicroPython against the emulated TSE card.

    demo_shift.py --nbd 127.0.0.1:PORT --control PORT --out out/demo [--printer 127.0.0.1:9100]
                  [--reader PORT --pinpad PORT --acquirer PORT --capk FILE]
    demo_shift.py --tse-mount /mnt/tse --peers 10.0.2.2 --listen 0.0.0.0 ...   # the QEMU guest

With ``--tse-mount`` the card is the file system Linux mounted (the board drivers ``file-tse``
on CPython, ``ffi-file-tse`` on MicroPython: O_DIRECT either way) instead of the NBD export;
``--peers`` is where the card's control port and the acquirer are (default 127.0.0.1), and
``--listen`` the address the card readers and the PIN pad listen on (default 127.0.0.1).

    demo_shift.py --tse-config tse.json --serial SMARTECR-SIM-0002 --out DIR ...   # a network TSE

With ``--tse-config`` (a firmware configuration file; its ``tse`` section) the shift signs with a
cloud TSE (``tse.backend = cloud``) or the store's shared TSE (``shared``), set up as the firmware
does at first boot; where the card is pulled, the host is asked ``tse down`` (it cuts the
internet, or this register's link to the service) and later ``tse up``; at the end the TSE's
logs are exported into ``OUT/tse-exports/`` but not deleted (such a TSE keeps them itself).
``--serial`` gives the register another serial number than the master data's (one register of
several in a store); it is also its TSE client id.

The shift: opening float; more than twenty sales over 19/7/0 % VAT with quantities, a weighed
article, a line void, line and receipt discounts, cash with change, an external card terminal,
a split payment, deposit (Pfand) and empties returned, a voucher sold and redeemed, a tip; a
training sale; an aborted sale; a Storno of an earlier receipt; a return; a cash withdrawal;
the TSE card pulled in mid-shift and put back; the Z closing with counted cash.

With ``--reader`` (the firmware's vpcd readers: PORT chip, PORT+1 contactless), ``--pinpad``
(the keypad PIN pad's port), ``--acquirer`` (the acquirer simulator) and ``--capk`` (its test CA
keys) the shift takes card payments through the terminal (``Terminal.pay_card``: the EMV
kernel, the PIN pad, the acquirer link, the journal's crash rules), one per ``CARD_PAYMENTS``
row, and ends the card terminal's day before the Z closing. For each it asks the host on
stdout, ``card <profile> chip|contactless <PINs or -> <acquirer fault or ->``, and waits for a
line on stdin: the host (tools/demo.py) has put that virtual card in and typed the PINs ahead.
A declined card is paid in cash instead.

With ``--zvt-terminal`` (the simulated external ZVT terminal), ``--wallet`` (the wallet host)
and ``--zvt`` (the port our PT side listens on) the shift also pays ``OTHER_PAYMENTS``: through
the external terminal (once with its result lost and asked again), wallet tokens read by the
scan engine (one used twice, one declined), a consumer-presented EMVCo code to the acquirer,
our merchant-presented code paid from the host's phone, a GiroCode transfer; then the host's
ZVT register pays 12,50 EUR through our PT side with a card on our reader.

With ``--receipts`` (the receipt server's port) three more sales: the loyalty customer earns
points on paper, an anonymous customer takes a digital receipt, she redeems points and takes
hers digitally (into her account); ``OUT/digital.json`` lists the digital ones (receipt
number, the URL as the customer screen showed it, the id, the upload's journal record).

It writes ``OUT/summary.json`` (runtime, the machine's CPU, the TSE backend that signed:
``card``, ``cloud`` or ``shared``, and per receipt: number, BON_TYP,
total in cents, TSE transaction number, QR string or the TSE failure),
``OUT/receipts/NNNN.txt`` and ``NNNN.escpos``, ``OUT/z0001.txt``, ``OUT/tse-export.tar``
(everything the card signed), the DSFinV-K export ``OUT/dsfinvk.zip``, the ELSTER notification
``OUT/elster-146a.xml``, and the journal in
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
from firmware.receipts import payment_slips, receipt, response_code, to_escpos, to_text
from firmware.register.bon import TRAINING
from firmware.register.master import load_master
from firmware.reports import report, totals
from firmware.till import Till
from hal.board import Board
from hal.clock import SystemClock
from hal.platform import machine
from hal.sim.printer import NetworkPrinter
from hal.sim.tse_control import TseControl
from tools.workloads.tse_exercise import DEMO_ADMIN_PIN, DEMO_PUK, DEMO_TIME_ADMIN_PIN
from tse_sd.client import TseClient
from tse_sd.nbd import NbdBlockDevice
from tse_sd.service import TseService
from tse_sd.transport import BlockTransport

USAGE = "usage: demo_shift.py --nbd HOST:PORT|--tse-mount DIR|--tse-config FILE [--control PORT] --out DIR "
USAGE += "[--master FILE] [--serial SERIAL] [--printer HOST:PORT] [--peers HOST] [--listen HOST]"


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


async def tse_fault(card, on):
    """The TSE gone (``on``) or back: the card pulled from its slot (``card``: its control
    port), or, with a TSE behind the network (``card`` None), the host asked on stdout (``tse
    down``, ``tse up``: it cuts the internet or this register's link) and its line awaited."""
    if card is not None:
        card.set(removed=on)
    else:
        say("tse %s" % ("down" if on else "up"))
        sys.stdin.readline()


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

    await tse_fault(card, True)  # the TSE card pulled in mid-shift, or the TSE unreachable: selling goes on
    await add([("add_plu", "1003", 3000), ("add_plu", "1002")], [("Bar", 300)])
    await add([("add_plu", "1007")], [("ECKarte", 290)])
    await tse_fault(card, False)  # back: self-test and time (a network TSE: a round), then signing resumes
    await service.boot()
    await add([("add_plu", "1001"), ("add_plu", "1004", 2000)], [("Bar", 1000)])
    await add([("add_plu", "1008", 2000), ("add_plu", "1006")], [("Bar", 1000)])
    await add([("add_weighed", "2001", 800)], [("Bar", 240)])
    await add([("add_plu", "1005", 1000)], [("ECKarte", 244)])
    return done


# what, the sale's entries, the card profile (data/cards/), contactless, PINs typed, acquirer fault
CARD_PAYMENTS = (
    ("Visa chip, offline PIN", [("add_plu", "1001", 5000)], "visa-credit", False, ("4321",), None),
    ("Mastercard tap under the CVM limit", [("add_plu", "1007", 3000)], "mastercard-debit", True, (), None),
    ("girocard tap, online PIN", [("add_plu", "1001", 12000)], "girocard", True, ("0000",), None),
    ("wallet tap above the CVM limit, CDCVM", [("add_plu", "1006", 40000)], "wallet", True, (), None),
    ("wrong PIN, then right", [("add_plu", "1001", 2000)], "mastercard-debit", False, ("9999", "1234"), None),
    ("declined by the issuer", [("add_plu", "1002", 3000)], "mastercard-debit", True, (), "decline"),
    ("host timeout, then a reversal", [("add_plu", "1003", 50000)], "visa-credit", True, (), "timeout"),
    ("refund to the card on a return", [("add_return", "1006")], "mastercard-debit", True, (), None),
)  # fmt: skip
PIN_KEY = "data/emv/pin-key-test.json"  # the acquirer simulator's test key
CARD_FIELDS = ("scheme", "aid", "pan", "entry", "result", "reason", "cvm", "tvr", "atc", "cryptogram")
CARD_FIELDS += ("cryptogram_type", "auth_code", "trace", "cdcvm")


def say(text):
    sys.stdout.write(text + "\n")
    if hasattr(sys.stdout, "flush"):
        sys.stdout.flush()


def card_terminal(opts, till, service, log, clock):
    """The Terminal with the demo's card readers, PIN pad and acquirer (no printer: the shift
    prints every receipt at the end)."""
    from firmware.cardledger import CardLedger
    from firmware.terminal import Terminal
    from payment.acquirer import Acquirer
    from payment.emv.capk import load_ca_keys
    from payment.emv.config import load_terminal

    port, pinpad, host = int(opts["reader"]), int(opts["pinpad"]), opts["listen"]
    reader = {"driver": "vpcd-reader", "host": host}
    board = Board(
        {
            "devices": {
                "card_reader": dict(reader, port=port),
                "contactless_reader": dict(reader, port=port + 1, contactless=True),
                "pinpad": {"driver": "keypad-pinpad", "host": host, "port": pinpad, "pin_key": PIN_KEY},
            }
        },
        "demo",
    )
    for name in board.names():  # listening before the host puts a card in or types a PIN
        board.get(name)
    acquirer = Acquirer(opts["peers"], int(opts["acquirer"]), "SECR0001", "SMARTECR-SIM-01", 2000, log)
    acquirer.ledger = CardLedger(till.journal)
    emv = load_terminal(DEFAULTS["emv_terminal"])
    emv.online = True
    return Terminal(till, board, log, clock, 30, service, emv, load_ca_keys(opts["capk"]), acquirer)


async def _present(reader):
    for _ in range(200):
        if await reader.present():
            return True
        await asyncio.sleep(0.05)
    return False


async def card_sales(term, till):
    """The ``CARD_PAYMENTS``; returns the summary row of each."""
    rows = []
    for what, steps, profile, contactless, pins, fault in CARD_PAYMENTS:
        till.open_bon()
        for name, *args in steps:
            await till.ring(name, *args)
        mode = "contactless" if contactless else "chip"
        say("card %s %s %s %s" % (profile, mode, ",".join(pins) or "-", fault or "-"))
        sys.stdin.readline()  # the host has put the card in
        reader = term.board.get("contactless_reader" if contactless else "card_reader")
        if not await _present(reader):
            raise DeviceError("the %s card never came" % profile)
        term.card = None
        record = await term.pay_card()
        term.queue = []  # printed with the others at the end
        card = term.card or {}
        row = {"what": what, "profile": profile, "bon_nr": record["bon_nr"] if record else None}
        row.update((k, card[k]) for k in CARD_FIELDS if k in card)
        row["response_code"] = response_code(card)
        if record is None:  # declined: the customer pays cash
            row["paid_instead"] = "Bar"
            till.pay("Bar", till.due)
            row["bon_nr"] = (await till.finish())["bon_nr"]
        rows.append(row)
        say("done")
    return rows


# the other ways to pay: what, the sale's entries, how (see other_sales)
OTHER_PAYMENTS = (
    ("external ZVT terminal", [("add_plu", "1007", 2000)], "zvt", "-"),
    ("external ZVT terminal, result lost, Repeat Receipt", [("add_plu", "1008")], "zvt", "lose"),
    ("wallet token read by the scan engine", [("add_plu", "1001", 2000)], "wallet", "-"),
    ("the same wallet token again: refused", [("add_plu", "1002")], "replay", "-"),
    ("a declined wallet token", [("add_plu", "1003", 2000)], "wallet", "declined"),
    ("EMVCo consumer-presented code", [("add_plu", "1006", 3000)], "cpm", "-"),
    ("our EMVCo code on the customer screen, paid from the phone", [("add_plu", "1005")], "mpm", "-"),
    ("GiroCode: a SEPA transfer awaited", [("add_plu", "1001", 3000)], "transfer", "-"),
)  # fmt: skip
OTHER_FIELDS = ("via", "label", "pan", "token", "reference", "pt_receipt", "tid", "auth_code", "trace")


def other_terminal(opts, term, journal, log):
    """The demo Terminal's external ZVT terminal, wallet host and our PT side."""
    from firmware.qrpay import QrPayments
    from firmware.zvt import External
    from hal.board import Settings
    from payment.qr.wallet import WalletHost
    from payment.zvt.wire import Terminal as ZvtTerminal

    device = ZvtTerminal(Settings({"host": opts["peers"], "port": int(opts["zvt-terminal"])}, "zvt"))
    term.zvt = External(device, journal, log, term.zvt_status)
    cfg = dict(DEFAULTS["wallet"], iban="DE02100500000054540402", bic="BELADEBEXXX", wait_s=30)
    host = WalletHost(opts["peers"], int(opts["wallet"]), term.till.master.register["serial"], wait_ms=30000)
    term.qr = QrPayments(term, journal, host, cfg, log)


async def other_sales(term, till):
    """The ``OTHER_PAYMENTS``; returns the summary row of each. The host (tools/demo.py) is
    asked on stdout: ``zvt <fault>`` (it sets the fault on its ZVT terminal, answers ``in``),
    ``qr <kind> <fault>`` (it answers the code the customer's app shows), ``show <code>`` (the
    phone pays our code: no answer)."""
    from hal.scanner import Symbol

    rows = []
    for what, steps, how, fault in OTHER_PAYMENTS:
        till.open_bon()
        for name, *args in steps:
            await till.ring(name, *args)
        term.card = None
        record = None
        if how == "zvt":
            say("zvt %s" % fault)
            sys.stdin.readline()
            record = await term.pay_card("external")
        elif how == "mpm":
            task = term.show_qr()
            while term.showing is None and not task.done():
                await asyncio.sleep(0.05)
            if term.showing is not None:
                say("show %s" % term.showing[0])
            record = await task
        elif how == "transfer":
            record = await term.pay_transfer()
        else:
            say("qr %s %s" % (how, fault))
            code = sys.stdin.readline().strip()
            record = await term.scan(Symbol("QR", code))
        term.queue = []  # printed with the others at the end
        card = term.card or {}
        row = {"what": what, "how": how, "bon_nr": record["bon_nr"] if record else None}
        row.update((k, card[k]) for k in OTHER_FIELDS if k in card)
        if record is None:
            row["refused"] = term.messages[-1] if term.messages else ""
            row["paid_instead"] = "Bar"
            till.pay("Bar", till.due)
            row["bon_nr"] = (await till.finish())["bon_nr"]
        else:
            row["typ"] = record["payments"][0]["typ"]
        rows.append(row)
        say("done")
    return rows


async def external_register(term, journal, opts):
    """Our PT side, driven by the host's ZVT register (tools/zvt.py) over TCP: ``ecr <cents>
    <profile>`` asks it to put the card on our reader and pay; we serve until the payment is
    booked (or a minute has passed)."""
    from firmware.zvt import PtBackend
    from payment.zvt.pt import PtServer
    from payment.zvt.wire import TcpWire

    backend = PtBackend(term, journal, "52000001", "smartECR " + VERSION)
    backend.load(journal.records())
    pt = PtServer(backend, "000000", term.log)
    server = await asyncio.start_server(
        lambda r, w: pt.serve(TcpWire(r, w)), opts["listen"], int(opts["zvt"])
    )
    try:
        booked = len(backend.turnover)
        say("ecr 1250 mastercard-debit")
        for _ in range(1200):
            if len(backend.turnover) > booked:
                break
            await asyncio.sleep(0.05)
        record = backend.last() if len(backend.turnover) > booked else None
        say("done")
    finally:
        server.close()
    if record is None:
        return {"ok": False}
    keys = ("amount", "receipt_no", "trace", "pan", "card_name", "aid", "auth_code", "tid")
    return dict({k: record[k] for k in keys if k in record}, ok=True)


RECEIPT_TOKEN = "demo-receipt-token"  # the demo register's enrolment at the receipt server
LOYALTY_CARD = "4000100017"  # the demo shop's customer, Erika Musterfrau (data/demo-master.json)


async def digital_sales(term, journal, opts):
    """Digital receipts (``--receipts``, the receipt server's port): the loyalty customer earns
    points on a paper receipt; an anonymous customer takes a digital one; she redeems points and
    takes hers digitally, into her account. Returns digital.json's rows."""
    from firmware.digital.loyalty import PointsBook
    from firmware.digital.outbox import Outbox, ReceiptClient

    till = term.till
    base = "http://%s:%s/r/" % (opts["receipt-host"], opts["receipts"])
    term.outbox = Outbox(opts["out"] + "/outbox", journal, term.clock, base, term.log)
    term.receipt_client = ReceiptClient(
        opts["peers"], int(opts["receipts"]), till.master.register["serial"], RECEIPT_TOKEN
    )
    term.points = PointsBook(till.master.loyalty)
    rows = []

    async def sale(steps, how, card=None, redeem=0):
        if card is not None:
            await term.set_customer(card)
        for name, *args in steps:
            await till.ring(name, *args)
        term.set_receipt(how)
        if redeem:
            await term.redeem(redeem)
        record = await term.pay_cash()
        term.queue = []  # printed with the others at the end
        if how != "paper":
            rows.append(dict(term.issued, kunde=record.get("kunde")))
        return record

    await sale([("add_plu", "1006", 20000)], "paper", LOYALTY_CARD)  # her points, on paper
    await sale([("add_plu", "1001", 2000)], "digital")  # anonymous: the code on the screen only
    await sale([("add_plu", "1007", 3000)], "digital", LOYALTY_CARD, redeem=25)  # hers, 25 points off
    for _ in range(40):  # the outbox drains once the server answers
        if await term.outbox.drain(term.receipt_client):
            break
        await asyncio.sleep(0.25)
    uploaded = {r["data"]["id"]: r["seq"] for r in journal.records() if r["type"] == "receipt_upload"}
    for row in rows:
        row["uploaded"] = uploaded.get(row["id"])
    return rows


async def end_of_day(term, journal, clock):
    """The card terminal's end of day (``payment close``: firmware.cardledger) before the Z; no
    answer from the acquirer closes nothing and leaves the code None (tools/demo.py says so)."""
    from firmware.cardledger import end_of_day as close

    closed = await close(journal, term.acquirer, clock)
    if closed is None:
        return {"totals": None, "code": None}
    totals, code, _ = closed
    return {"totals": totals, "code": code}


def elster_xml(journal, master, backend):
    """The § 146a notification of this register and its (first) TSE (ArtTSE 3 for a cloud TSE;
    the store's shared card is an SD card)."""
    first_use = next(journal.records())["t"]
    tse = next(journal.records(kind="tse"))
    settings = dict(DEFAULTS["elster"], tse_kind=3 if backend == "cloud" else 1)
    return aufzeichnung_146a(master, tse["data"], tse["t"], settings, VERSION, first_use)


def parse_args(argv):
    names = ("nbd", "tse-mount", "tse-config", "control", "out", "master", "serial", "printer", "peers")
    names += (
        "listen",
        "reader",
        "pinpad",
        "acquirer",
        "capk",
        "zvt-terminal",
        "zvt",
        "wallet",
        "receipts",
        "receipt-host",
    )
    defaults = {"master": "data/demo-master.json", "peers": "127.0.0.1", "listen": "127.0.0.1"}
    defaults["receipt-host"] = "127.0.0.1"  # the receipt server as the customer's phone reaches it
    opts = options(argv, USAGE, names, ("out",), defaults)
    if sum(1 for k in ("nbd", "tse-mount", "tse-config") if k in opts) != 1:
        raise ValueError("the TSE is --nbd HOST:PORT, --tse-mount DIR or --tse-config FILE; %s" % USAGE)
    if "tse-config" not in opts and "control" not in opts:
        raise ValueError("the card needs its --control PORT; %s" % USAGE)
    return opts


def tse_transport(opts):
    """The card's transport opener: the NBD export, or the mounted card's files."""
    if "nbd" in opts:
        host, _, port = opts["nbd"].rpartition(":")
        return lambda: BlockTransport(NbdBlockDevice.connect(host, int(port), "tse"))
    entry = {"driver": "file-tse", "mount": opts["tse-mount"], "micropython": {"driver": "ffi-file-tse"}}
    return Board({"devices": {"tse": entry}}, "demo").get("tse")


async def open_tse(opts, client_id, clock, log):
    """``(backend, client, service, card control or None)``: the emulated card, set up here
    (``--nbd``, ``--tse-mount``), or the TSE of ``--tse-config`` (a firmware configuration
    whose ``tse`` section names a cloud TSE or the store's shared one), set up as the firmware
    does it at first boot."""
    if "tse-config" in opts:
        from firmware.config import load
        from firmware.main import cloud_tse

        cfg = load(opts["tse-config"])["tse"]
        client, service = await cloud_tse(cfg, client_id, clock, log, opts["out"] + "/tse-cloud-puk.json")
        return cfg["backend"], client, service, None
    client = TseClient(tse_transport(opts), clock)
    await client.setup(DEMO_PUK, DEMO_ADMIN_PIN, DEMO_TIME_ADMIN_PIN, client_id, clock.now())
    service = TseService(client, clock, log, client_id, DEMO_TIME_ADMIN_PIN)
    await service.boot()
    return "card", client, service, TseControl(int(opts["control"]), opts["peers"])


async def free_or_archive(backend, client, journal, out, clock):
    """The TSE's store freed the way a technician does it (an incremental export, checked, then
    deleteStoredData; ``(its record, True)``), or, for a TSE that keeps its logs itself (a
    cloud's, the store's shared card), the incremental export kept only: ``(record, False)``."""
    exports = TseExports(client, journal, out + "/tse-exports", clock)
    if backend == "card":
        return await exports.delete_stored_data(DEMO_ADMIN_PIN), True
    return await exports.export(), False


async def run(opts):
    out = opts["out"]
    makedirs(out + "/receipts")
    master = load_master(opts["master"])
    if "serial" in opts:  # one of several registers of the store
        master.register["serial"] = opts["serial"]
    clock = SystemClock()
    log = Logger("demo", ring=200, clock=clock)
    journal = Journal(out + "/journal", clock)
    client = card = None
    try:
        client_id = master.register["serial"]
        backend, client, service, card = await open_tse(opts, client_id, clock, log)
        till = Till(master, journal, client, clock, log, service=service)
        await till.recover()
        await shift(till, service, card)
        cards, card_close = [], None
        others, external, digital = [], None, []
        if "reader" in opts:
            term = card_terminal(opts, till, service, log, clock)
            cards = await card_sales(term, till)
            if "zvt-terminal" in opts:
                other_terminal(opts, term, journal, log)
                others = await other_sales(term, till)
                external = await external_register(term, journal, opts)
            if "receipts" in opts:
                digital = await digital_sales(term, journal, opts)
                with open(out + "/digital.json", "w") as f:
                    f.write(json.dumps(digital))
            card_close = await end_of_day(term, journal, clock)
            term.board.close()
        expected = totals(journal.records(segment=till.z_nr))["cash"]
        closing = await till.close_day(counted=expected - 50)  # 0,50 short in the drawer
        summary = []
        printer = None
        if "printer" in opts:
            p_host, _, p_port = opts["printer"].rpartition(":")
            printer = NetworkPrinter(p_host, int(p_port))
        issued = {
            r["data"]["bon_nr"]: r["data"]["how"] for r in journal.records() if r["type"] == "receipt_issue"
        }
        for rec in receipts(journal.records()):
            name = "%s/receipts/%04d" % (out, rec["bon_nr"])
            doc = receipt(rec, master, 42)
            with open(name + ".txt", "w") as f:
                f.write(to_text(doc))
            data = to_escpos(doc)
            with open(name + ".escpos", "wb") as f:
                f.write(data)
            slips = payment_slips(rec, master, 42)  # after their receipt
            if slips:
                data += to_escpos(slips)
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
                    "issued": issued.get(rec["bon_nr"], "paper"),
                }
            )
        with open(out + "/z%04d.txt" % closing["z_nr"], "w") as f:
            f.write(to_text(report("Z", closing["totals"], master, closing=closing)))
        with open(out + "/tse-export.tar", "wb") as f:
            await client.export_tar(f.write)
        export = DsfinvkExport(journal, master)
        export.write_zip(out + "/dsfinvk.zip", export.select(), out + "/.dsfinvk", clock.now())
        with open(out + "/elster-146a.xml", "w") as f:
            f.write(elster_xml(journal, master, backend))
        archive, freed = await free_or_archive(backend, client, journal, out, clock)
        ok, problems = journal.verify()
        with open(out + "/summary.json", "w") as f:
            f.write(
                json.dumps(
                    {
                        "runtime": sys.implementation.name,
                        "serial": client_id,
                        "machine": machine(),
                        "receipts": summary,
                        "cards": cards,
                        "other_payments": others,
                        "external_register": external,
                        "card_close": card_close,
                        "closing": {k: closing[k] for k in ("z_nr", "counted", "expected", "difference")},
                        "tse_backend": backend,
                        "tse_archive": archive,
                        "tse_freed": freed,
                        "journal_ok": ok,
                        "journal_problems": problems,
                    }
                )
            )
        return len(summary), closing
    finally:
        journal.close()
        if client is not None:
            client.close()
        if card is not None:
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
