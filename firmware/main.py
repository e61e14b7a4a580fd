"""Entry point: load the configuration, select the platform, run the firmware on asyncio.

    python -m firmware [--config FILE]                 # CPython (host or embedded Linux)
    MICROPYPATH=.frozen:. micropython -m firmware      # MicroPython unix port
    # on a board, main.py:  from firmware.main import start; start([])

Without ``--config`` the embedded defaults apply (platform ``sim``). A bad configuration
is reported in one line and the process exits with status 2; Ctrl-C stops cleanly.
"""

import asyncio
import sys

from core.cli import options
from core.errors import EcrError
from core.storage import exists
from firmware import VERSION
from firmware import config as configuration
from firmware.log import LEVELS, Logger
from hal import platform as platforms
from hal.board import Board

USAGE = "usage: firmware [--config FILE]"
CLOUD_PUK = "tse-cloud-puk.json"  # in data_dir: the cloud TSS's admin PUK, for the owner


# What recovery at boot did (Till.recover), for the operator screen.
_RECOVERED = {
    "completed": "Bon %d war beim Stromausfall bezahlt: fertig signiert und gespeichert",
    "signed late": "Bon %d (ohne TSE verkauft) ist jetzt nachsigniert",
    "aborted": "Der offene Verkauf wurde beim Stromausfall abgebrochen: Bon %d (Abbruch), bitte neu erfassen",
    "tse unavailable": "TSE nicht erreichbar: offene TSE-Vorgänge werden später geschlossen (%s)",
}


async def cloud_tse(cfg, client_id, clock, log, puk_file):
    """The client and service of a TSE behind the API of tse_sd/cloud.py (``cfg``: the ``tse``
    section; ``tse.cloud``): a cloud TSE, or the store's shared one (tseservice/share.py); its
    TSS (a cloud's) or this register as its client set up at first boot. A TSE that does not
    answer leaves the service failed: selling goes on under the failure rules."""
    from hal.http import request
    from tse_sd.cloud import Api, CloudTseClient, CloudTseService, uuid_of
    from tse_sd.errors import TseError

    cloud = cfg["cloud"]
    log.add_secret(cloud["api_secret"])
    log.add_secret(cloud["admin_pin"])
    tls = None
    if cloud["ca"]:
        tls = platforms.tls_client(platforms.read_certificate(cloud["ca"]))
    api = Api(
        cloud["host"],
        cloud["port"],
        cloud["api_key"],
        cloud["api_secret"],
        request,
        clock,
        tls,
        cloud["timeout_ms"],
        cloud["retries"],
    )
    tss_id = cloud["tss_id"] or uuid_of("tss:" + client_id)
    client = CloudTseClient(api, tss_id, log, puk_file)
    service = CloudTseService(client, clock, log, client_id, backend=cfg["backend"])
    try:
        if cfg["setup"]:
            if await client.setup("", cloud["admin_pin"], "", client_id, clock.now()):
                log.warning("cloud TSS %s created; its admin PUK kept in %s", tss_id, puk_file)
        await service.boot()
    except TseError as e:
        log.error("%s TSE not ready at boot (selling goes on, receipts note it): %s", cfg["backend"], e)
        service.failed(e)
    return client, service


class Firmware:
    """The running firmware: configuration, platform, logger and its tasks."""

    def __init__(self, config, stream=None):
        self.config = config
        self.platform = platforms.load(config)
        log_cfg = config["log"]
        self.log = Logger(
            "ecr", LEVELS[log_cfg["level"]], log_cfg["ring"], stream=stream, clock=self.platform.clock
        )
        self._stop = asyncio.Event()
        self.rebooting = False
        self.clock = self.platform.clock
        self.boot_ms = self.platform.clock.ticks_ms()

    async def _tse(self, board, client_id):
        """The TSE client and its service, or (None, None) on a board without a TSE."""
        if self.config["tse"]["backend"] != "card":  # cloud, or the store's shared TSE
            return await self._cloud_tse(client_id)
        if not board.has("tse"):
            return None, None
        from tse_sd.client import TseClient
        from tse_sd.errors import TseError
        from tse_sd.service import TseService

        clock, cfg = self.platform.clock, self.config["tse"]
        client = TseClient(board.get("tse"), clock)
        service = TseService(client, clock, self.log, client_id, cfg["time_admin_pin"])
        try:
            if cfg["setup"]:
                await client.setup(
                    cfg["puk"], cfg["admin_pin"], cfg["time_admin_pin"], client_id, clock.now()
                )
            await service.boot()
        except (TseError, OSError) as e:
            self.log.error("TSE not ready at boot (selling goes on, receipts note it): %s", e)
        return client, service

    def _cloud_tse(self, client_id):
        puk_file = self.config["data_dir"] + "/" + CLOUD_PUK
        return cloud_tse(self.config["tse"], client_id, self.platform.clock, self.log, puk_file)

    async def run(self):
        """Boot the terminal and run it until ``stop()``."""
        from firmware.cardledger import CardLedger
        from firmware.console.service import Console, ConsoleServices
        from firmware.console.users import Users
        from firmware.journal import Journal
        from firmware.masterstore import MasterStore
        from firmware.register.master import load_master
        from firmware.terminal import Terminal
        from firmware.till import Till, period_has_vorgaenge
        from payment.acquirer import Acquirer
        from payment.emv.capk import load_ca_keys
        from payment.emv.config import load_terminal
        from ui import operator

        cfg, clock = self.config, self.platform.clock
        self.log.info("smartECR %s on %s, platform %s", VERSION, sys.implementation.name, self.platform.name)
        board = Board.load(cfg["board"], cfg["devices"])
        emv = load_terminal(cfg["emv_terminal"])
        if not board.has("pinpad"):
            emv.without_pin()  # 9F33 claims no PIN the terminal cannot take
        ca_keys = load_ca_keys(cfg["emv_ca_keys"]) if cfg["emv_ca_keys"] else {}
        restored = configuration.restored_master_path(cfg["data_dir"])
        self.master_path = restored if exists(restored) else cfg["master"]
        journal = Journal(cfg["data_dir"] + "/journal", clock)
        acq = cfg["acquirer"]
        acquirer = None
        if acq["host"]:
            ledger = CardLedger(journal)
            ids = acq["terminal_id"], acq["merchant_id"]
            acquirer = Acquirer(acq["host"], acq["port"], ids[0], ids[1], acq["timeout_ms"], self.log, ledger)
            acquirer.stan, acquirer.owed = ledger.open()  # reversals a power cut left owed
            emv.online = True  # the terminal can go online: ARQCs reach the issuer
        store = MasterStore(cfg["data_dir"], journal, self.log)
        master, waiting = store.open(load_master(self.master_path), period_has_vorgaenge(journal))
        self.client_id = master.register["serial"]
        client, service = await self._tse(board, self.client_id)
        till = Till(master, journal, client, clock, self.log, service=service)
        till.master_store, till.waiting_master = store, waiting
        self.till = till
        done = await till.recover()
        if done:
            self.log.info("reconciled with the TSE at boot: %s", done)
            if service is not None:
                await service.maintain()  # the status shows the card as recovery left it
        report = await till.check_journal()
        self.terminal = Terminal(
            till, board, self.log, clock, cfg["drawer_warn_s"], service, emv, ca_keys, acquirer
        )
        if cfg["tse"]["backend"] != "card":
            self.terminal.tse_wait_ms = cfg["tse"]["cloud"]["wait_ms"]
        for what, detail in done:  # the cashier hears what the power cut did to the sale
            self.terminal.say(_RECOVERED[what] % detail)
        if acquirer is not None and acquirer.owed:
            traces = ", ".join(fields[11] for _, fields in acquirer.owed)
            self.log.warning("card requests without a receipt, to be reversed: trace %s", traces)
            self.terminal.say("Kartenzahlung ohne Bon (Stromausfall): wird storniert (Trace %s)" % traces)
        for problem in report.problems:  # Till.check_journal logged them
            self.terminal.say("Journal passt nicht zur TSE: %s" % problem)
        self._digital(journal)  # before the terminal's tasks start: they upload what waits
        if master.loyalty.accounts:
            from firmware.digital.loyalty import PointsBook
            from firmware.journal import receipts as all_receipts

            self.terminal.points = PointsBook(master.loyalty)
            self.terminal.points.load(all_receipts(journal.records()))
        tasks = [asyncio.create_task(self.terminal.run())]
        tasks.append(asyncio.create_task(self._store(journal, till, service).run()))
        zvt_server = await self._zvt(board, journal, tasks)
        self._qr(journal, tasks)
        if service is not None:
            tasks.append(asyncio.create_task(service.run()))
        if board.has("console"):
            users = Users(cfg["console"], master, cfg["data_dir"] + "/console", clock)
            services = ConsoleServices(
                cfg,
                self.log,
                clock,
                board,
                journal,
                till,
                self.terminal,
                service,
                client,
                self.client_id,
                self.platform.name,
                self.boot_ms,
                self.reboot,
            )
            tasks.append(asyncio.create_task(Console(services, users).run()))
        if board.has("operator_panel") or board.has("customer_panel"):
            from ui.touch import Screens

            tasks.append(asyncio.create_task(Screens(self.terminal, board, self.log).run()))
        server = None
        if cfg["operator_port"]:
            server = await operator.serve(self.terminal, cfg["operator_port"], cfg["operator_host"])
            self.log.info("operator link on %s:%d", cfg["operator_host"], cfg["operator_port"])
        self.log.info("ready: board %s, devices %s", board.name, ", ".join(board.names()))
        try:
            await self._stop.wait()
        finally:
            self.terminal.stop()
            for task in tasks:
                task.cancel()
            if server is not None:
                await server.close()
            if zvt_server is not None:
                zvt_server.close()
            board.close()
            journal.close()
            if client is not None:
                client.close()
            self.log.info("stopped")

    async def _zvt(self, board, journal, tasks):
        """ZVT both ways: the external payment terminal the sale's card payments may go to
        (board device ``zvt_terminal``), and our PT side for an external register (TCP on
        ``zvt.port``; the board's ``zvt_ecr`` serial port). Returns the TCP server, or None."""
        from firmware import zvt

        cfg, term = self.config["zvt"], self.terminal
        term.card_terminal = cfg["card"]
        if board.has("zvt_terminal"):
            try:
                term.zvt = zvt.External(board.get("zvt_terminal"), journal, self.log, term.zvt_status)
            except EcrError as e:
                term.say("zvt_terminal: %s" % e)
            else:
                term.zvt.load(journal.records())
                if term.zvt.open is not None:
                    tasks.append(asyncio.create_task(term.zvt.recover()))
        if cfg["card"] == "external" and term.zvt is None:
            term.say("Kartenzahlung über externes Terminal eingestellt, aber keins angeschlossen")
        if not cfg["port"] and not board.has("zvt_ecr"):
            return None
        from payment.zvt.pt import PtServer
        from payment.zvt.wire import TcpWire

        backend = zvt.PtBackend(term, journal, cfg["tid"], "smartECR " + VERSION)
        backend.load(journal.records())
        pt = PtServer(backend, cfg["password"], self.log)
        if board.has("zvt_ecr"):
            tasks.append(asyncio.create_task(pt.serve(board.get("zvt_ecr"))))
        if not cfg["port"]:
            return None
        server = await asyncio.start_server(
            lambda r, w: pt.serve(TcpWire(r, w, "ecr")), cfg["host"], cfg["port"]
        )
        self.log.info("zvt: our payment terminal on %s:%d", cfg["host"], cfg["port"])
        return server

    def _qr(self, journal, tasks):
        """QR payments: the acquirer for consumer-presented EMVCo codes, the wallet host for
        wallet tokens and our merchant-presented code, the IBAN for GiroCode transfers."""
        from firmware.qrpay import QrPayments
        from payment.qr.wallet import WalletHost

        cfg = self.config["wallet"]
        host = None
        if cfg["host"]:
            serial = self.till.master.register["serial"]
            host = WalletHost(cfg["host"], cfg["port"], serial, wait_ms=cfg["wait_s"] * 1000)
        qr = QrPayments(self.terminal, journal, host, cfg, self.log)
        self.terminal.qr = qr
        if host is not None:
            qr.load(journal.records())
            if qr.open:
                tasks.append(asyncio.create_task(qr.recover()))

    def _digital(self, journal):
        """Digital receipts: the outbox under the data folder, the receipt server to upload to."""
        cfg = self.config["digital"]
        if not cfg["base_url"]:
            return
        from firmware.digital.outbox import Outbox, ReceiptClient

        term = self.terminal
        term.outbox = Outbox(
            self.config["data_dir"] + "/outbox", journal, self.clock, cfg["base_url"], self.log
        )
        if cfg["host"]:
            serial = self.till.master.register["serial"]
            term.receipt_client = ReceiptClient(cfg["host"], cfg["port"], serial, cfg["token"])

    def _store(self, journal, till, service):
        """The store server link (it waits while the terminal is not enrolled)."""
        from firmware.storelink import StoreLink

        cfg, term = self.config["store"], self.terminal

        def health():
            tse = service.status() if service is not None else None
            return {
                "tse": tse["state"] if tse else "none",
                "paper": "; ".join(term.printer_problems) or "ok",
                "firmware": VERSION,
            }

        serial = till.master.register["serial"]
        tls = None
        if cfg["ca"]:
            try:
                tls = platforms.tls_client(platforms.read_certificate(cfg["ca"]))
            except (OSError, ValueError) as e:  # no link rather than an unchecked one
                self.log.error("store.ca %s: %s; the store link stays off", cfg["ca"], e)
                cfg = {"host": "", "port": 0, "token": ""}
        term.store = StoreLink(
            journal,
            till,
            cfg["host"],
            cfg["port"],
            cfg["token"],
            serial,
            self.config["data_dir"],
            self.log,
            self.clock,
            health,
            tls,
        )
        return term.store

    def stop(self):
        self._stop.set()

    def reboot(self):
        """Stop, then boot again with the configuration as saved (the console's ``reboot``)."""
        self.rebooting = True
        self.stop()


def parse_args(argv):
    """``{"config": path or None}`` from the command line, or ``ValueError`` with the usage."""
    return options(argv, USAGE, ("config",), defaults={"config": None})


def start(argv, stream=sys.stdout, err=sys.stderr):
    """Run the firmware until interrupted. Returns the process exit status.

    Log lines go to ``stream``; a configuration or usage error goes to ``err`` as one line.
    """
    while True:
        try:
            opts = parse_args(argv)
            config = configuration.load(opts["config"]) if opts["config"] else configuration.DEFAULTS
            config = with_settings(config, err)
            firmware = Firmware(config, stream=stream)
        except (ValueError, EcrError) as e:
            err.write("smartECR: %s\n" % (e,))
            return 2
        try:
            asyncio.run(firmware.run())
        except KeyboardInterrupt:
            firmware.log.info("stopped by Ctrl-C")
        except (EcrError, OSError) as e:
            err.write("smartECR: %s\n" % (e,))
            return 2
        if not firmware.rebooting:
            return 0


def with_settings(config, err):
    """``config`` with the settings changed on the terminal (``<data_dir>/settings.json``).
    Settings that no longer validate (a firmware update changed a key) are reported and left
    out, so the terminal still boots."""
    try:
        return configuration.with_settings(config, configuration.load_settings(config["data_dir"]))
    except (ValueError, EcrError) as e:
        err.write("smartECR: settings changed on the terminal ignored: %s\n" % (e,))
        return config
