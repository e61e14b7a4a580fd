"""The host simulator: the firmware plus every virtual peripheral, wired at the wire level.

    sim = Simulator("out/sim", runtime="cpython").start()   # camera="/dev/video0": a camera scanner
    sim.endpoints        # {"console": "/dev/pts/5", "printer": "127.0.0.1:40123", "tse": "nbd://...", ...}
    sim.operator(op="plu", code="1001")      # the operator link (ui/operator.py)
    sim.insert_card() / sim.tap_card()       # a card into the chip slot / onto the contactless one
    sim.tse_card(removed=True)               # pull the TSE card; False puts it back
    sim.scale.put(1250)                      # 1,250 kg on the scale
    sim.pin("1234")                          # the customer types the PIN on the customer panel
    sim.power_cut()                          # SIGKILL the firmware and boot it again
    sim.stop()

Peripherals: the TSE card emulator over NBD (tools/sim/tse), the service console's serial
line (a null-modem pty pair, tools/sim/nullmodem.py), emupos for printer, drawer and
serial scanner, the virtual DM-D customer display on a pty, and the card reader (pcscd +
vpcd for the CPython firmware, the firmware's own vpcd reader on MicroPython) with a virtual
card. With ``camera`` (a V4L2 device or a video file) the scanner is the Linux camera driver
instead of emupos' serial scanner (CPython firmware only). A peer that cannot start (emupos
not installed, pcscd not available) is reported in ``missing`` and its devices are taken off
the firmware's board; everything else runs.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

from hal.sim.tse_control import TseControl
from tools import upy
from tools.receipts.server import ReceiptServer
from tools.sim import stop_process
from tools.sim.acquirer import AcquirerSim
from tools.sim.card import CardLink
from tools.sim.cloudtse import CloudTseSim
from tools.sim.display import VirtualDisplay
from tools.sim.emupos import Emupos, free_port
from tools.sim.emv_card import EmvCard, SimCa
from tools.sim.nullmodem import NullModem
from tools.sim.panels import PinRobot, VirtualPanel
from tools.sim.pcsc import Pcscd, PcscUnavailable, PortTaken
from tools.sim.phone import Phone
from tools.sim.scale import VirtualScale
from tools.sim.tse.server import CardServer
from tools.sim.wallet import WalletHostSim
from tools.sim.zvt import ZvtTerminalSim

# The simulator's console users (README: technician PIN 246810, read-only PIN 135790). Unlike a
# terminal in its factory state, scripts log in without having to change the PIN first.
SIM_CONSOLE = {
    "force_pin_change": False,
    "users": [
        {
            "name": "technician",
            "role": "technician",
            "pin": "pbkdf2-sha256$2000$5171ec0de5171ec0de5171ec0de5171e$"
            "0d2aee41ddb36e9456ea1bb735df00c75fa6f416c2c6ed5766e2ea4caedaf301",
        },
        {
            "name": "viewer",
            "role": "read-only",
            "pin": "pbkdf2-sha256$2000$0b5e7ae70b5e7ae70b5e7ae70b5e7ae7$"
            "82424dec3c85cc4d815ecdbcf6dde7f9aefce2594821f45f8b90119c6867343c",
        },
    ],
}


HEAP = "8M"  # the MicroPython firmware's heap in the simulator
GUEST_OPERATOR = 9120  # the operator link's port inside the QEMU guest
GUEST_ZVT = 20007  # our PT side's port inside the QEMU guest
IBAN, BIC = "DE02100500000054540402", "BELADEBEXXX"  # the demo shop's account (an example IBAN)
SIM_SERIAL, RECEIPT_TOKEN = "SMARTECR-SIM-0001", "sim-receipt-token"  # the register's enrolment


def free_port_pair():
    """A port ``p`` with ``p + 1`` free too, on loopback (vpcd's two slots)."""
    while True:
        port = free_port()
        if port + 1 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def _merge(config, settings):
    """``settings`` over ``config``, section by section: ``{"tse": {"cloud": {"timeout_ms": 900}}}``
    changes that one value and keeps the rest of the section."""
    for key, value in settings.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = dict(config[key])
            _merge(config[key], value)
        else:
            config[key] = value


class Simulator:
    def __init__(
        self,
        out="out/sim",
        runtime="cpython",
        settings=None,
        camera=None,
        devices=None,
        target="host",
        serial=SIM_SERIAL,
        store=None,
        tse="card",
        shared=None,
    ):
        if runtime not in ("cpython", "micropython"):
            raise ValueError("runtime is cpython or micropython")
        if target not in ("host", "qemu"):
            raise ValueError("target is host or qemu")
        if tse not in ("card", "cloud", "shared") or (tse == "shared") != (shared is not None):
            raise ValueError("tse is card, cloud, or shared (with shared=SharedTseSim)")
        self.backend = tse  # who signs: the card in the slot, the simulated cloud TSE, the store's
        self.shared = shared  # tools/sim/sharedtse.SharedTseSim (``tse="shared"``)
        self.cloud_tse = None  # tools/sim/cloudtse.CloudTseSim (``tse="cloud"``)
        self.cloud = None  # its API (CloudTse): faults, stats, TSSs
        self.target = target
        self.machine = None  # tools/qemu/machine.Machine on the QEMU target
        self.out = os.path.abspath(out)
        self.runtime = runtime
        self.settings = settings or {}  # more firmware configuration (drawer_warn_s, log...)
        self.camera = camera
        self.replaced = devices or {}  # board entries the caller puts in place of the emulators'
        self.missing = {}
        self.endpoints = {}
        self.devices = {}
        self.tse = self.emupos = self.display = self.pcscd = self.cable = self.scale = None
        self.proc = None
        self._control = None
        self._link = None
        self.cards = {}
        self.ca = None
        self.panels = {}  # "operator", "customer": tools/sim/panels.VirtualPanel
        self._turn = threading.RLock()  # one thread at a time on the operator link and the power
        self.tse_removed = False
        self.master_path = str(upy.ROOT / "data" / "demo-master.json")
        self.serial = serial  # the register serial (the demo master data's, or a copy's)
        self.store = store  # (port, token[, CA file]) of the store server this register is enrolled at
        self.robot = None
        self.acquirer = None
        self.zvt_terminal = None  # tools/sim/zvt.ZvtTerminalSim: the external payment terminal
        self.zvt_port = None  # our PT side's port (on the host; the guest's is forwarded)
        self.wallet = None  # tools/sim/wallet.WalletHostSim: the PSP of QR payments
        self.phone = None  # tools/sim/phone.Phone: the customer's wallet app
        self.receipts = None  # tools/receipts/server.ReceiptServer: the digital receipts' server

    # --- peers ---------------------------------------------------------------------------------

    def _start_tse(self):
        self.tse = CardServer(os.path.join(self.out, "tse-card"), control_port=0).start()
        self._control = TseControl(self.tse.control_port)
        self.devices["tse"] = {"port": self.tse.nbd.port}
        self.endpoints["tse"] = self.tse.nbd.address

    def _start_cloud(self):
        """The cloud TSE on HTTPS (its test CA trusted by the firmware); the card stays in its
        slot, unused, as it would in a terminal that signs in the cloud."""
        if self.backend != "cloud":
            return
        self.cloud_tse = CloudTseSim(os.path.join(self.out, "cloud-tse")).start()
        self.cloud = self.cloud_tse.api
        self.endpoints["tse"] = "https://127.0.0.1:%d/api/v2" % self.cloud_tse.port

    def _network_tse(self):
        """The TSE behind the network that signs here (SharedTseSim or CloudTseSim), or None."""
        return self.shared or self.cloud_tse

    def _start_emupos(self):
        try:
            self.emupos = Emupos(os.path.join(self.out, "emupos")).start()
        except (OSError, RuntimeError, TimeoutError) as e:
            self.missing["printer"] = str(e)
            self.devices.update(printer=None, drawer=None, scanner=None)
            return
        self.devices["printer"] = {"port": self.emupos.printer_port}
        self.devices["scanner"] = {"port": self.emupos.scanner_port}
        self.endpoints["printer"] = "127.0.0.1:%d" % self.emupos.printer_port
        self.endpoints["scanner"] = "127.0.0.1:%d" % self.emupos.scanner_port
        self.endpoints["emupos"] = self.emupos.api

    def _use_camera(self):
        if self.camera is None:
            return
        if self.runtime == "micropython":
            self.missing["camera"] = "the camera scanner runs on the CPython firmware (OpenCV, zxing-cpp)"
            return
        self.devices["scanner"] = {"driver": "camera-scanner", "device": os.path.abspath(self.camera)}
        self.endpoints["scanner"] = "camera " + self.camera

    def _start_console(self):
        if self.target == "qemu":
            return  # the guest's /dev/hvc0, on TCP once the machine exists
        self.cable = NullModem().start()
        self.devices["console"] = {"path": self.cable.device}
        self.endpoints["console"] = self.cable.path

    def _start_display(self):
        if self.target == "qemu":
            return  # a pty does not reach into the guest: the customer panel shows the customer
        self.display = VirtualDisplay().start()
        self.devices["display"] = {"path": self.display.path}
        self.endpoints["display"] = self.display.path

    def _start_acquirer(self):
        self.acquirer = AcquirerSim(os.path.join(self.out, "acquirer")).start()
        self.endpoints["acquirer"] = "127.0.0.1:%d" % self.acquirer.port

    def _start_zvt(self):
        self.zvt_terminal = ZvtTerminalSim(os.path.join(self.out, "zvt-terminal")).start()
        self.devices["zvt_terminal"] = {"port": self.zvt_terminal.port}
        self.endpoints["zvt terminal"] = "127.0.0.1:%d" % self.zvt_terminal.port

    def _start_receipts(self, port=0):
        """The receipt server (again on ``port`` after ``stop_receipts``: a network cut)."""
        folder = os.path.join(self.out, "receipt-server")
        self.receipts = ReceiptServer(folder, port, tokens={self.serial: RECEIPT_TOKEN}).start()
        self.endpoints["receipt server"] = "127.0.0.1:%d" % self.receipts.port

    def stop_receipts(self):
        """The receipt server goes away (the store's network is down); ``start_receipts`` again."""
        port = self.receipts.port
        self.receipts.stop()
        self.receipts = None
        return port

    def start_receipts(self, port):
        self._start_receipts(port)

    def _start_wallet(self):
        self.wallet = WalletHostSim(os.path.join(self.out, "wallet")).start()
        self.phone = Phone(self.wallet.port)
        self.endpoints["wallet host"] = "127.0.0.1:%d" % self.wallet.port

    def _start_panels(self):
        """The operator's and the customer's touch panels; the customer types the PIN on the
        customer panel (``pin()``: the robot finger of tools/sim/panels.py)."""
        board = json.loads((upy.ROOT / "boards" / "sim.json").read_text())["devices"]
        for name in ("operator_panel", "customer_panel"):
            entry = board[name]
            panel = VirtualPanel(name.split("_")[0], entry["width"], entry["height"]).start()
            self.panels[name.split("_")[0]] = panel
            self.devices[name] = {"port": panel.port}
            self.endpoints[name.replace("_", " ")] = "127.0.0.1:%d (%dx%d)" % (
                panel.port,
                panel.width,
                panel.height,
            )
        self.robot = PinRobot(self.panels["customer"])
        self.robot.start()

    def _start_scale(self):
        self.scale = VirtualScale().start()
        self.devices["scale"] = {"port": self.scale.port}
        self.endpoints["scale"] = "127.0.0.1:%d" % self.scale.port

    def pin(self, entry):
        """The customer types ``entry`` on the PIN pad of the customer panel and presses OK
        ("" for none, "C" to cancel; on the choice of a card's applications, "2" picks the
        second). Typed ahead of the prompt, it waits there for the next PIN the card asks."""
        self.robot.type(entry)

    def _start_readers(self):
        port = free_port_pair()
        if self.target == "qemu":  # the guest's vpcd readers, forwarded to port and port + 1
            self.reader_port = port
            self.endpoints["card reader"] = "vpcd 127.0.0.1:%d (chip), :%d (contactless)" % (port, port + 1)
            return
        if self.runtime == "micropython":  # the firmware is the reader: cards connect to it
            self.devices["card_reader"] = {"port": port}
            self.devices["contactless_reader"] = {"port": port + 1}
        else:
            tries = 5  # another program may take a port between our choice and vpcd's bind
            while True:
                try:
                    self.pcscd = Pcscd(os.path.join(self.out, "pcsc"), port).start()
                    break
                except PcscUnavailable as e:
                    tries -= 1
                    if isinstance(e, PortTaken) and tries:
                        port = free_port_pair()
                        continue
                    self.missing["card reader"] = str(e)
                    self.devices.update(card_reader=None, contactless_reader=None)
                    return
        self.reader_port = port
        self.endpoints["card reader"] = "vpcd 127.0.0.1:%d (chip), :%d (contactless)" % (port, port + 1)

    # --- the firmware -------------------------------------------------------------------------

    def _firmware_config(self, peers, **where):
        """The firmware's configuration: where it runs (``where``), the simulator's console
        users, the acquirer at ``peers``, and the caller's own settings over it all."""
        config = dict(where, console=SIM_CONSOLE)
        config["acquirer"] = {"host": peers, "port": self.acquirer.port, "timeout_ms": 5000}
        config["wallet"] = {"host": peers, "port": self.wallet.port, "iban": IBAN, "bic": BIC, "wait_s": 60}
        base = "http://127.0.0.1:%d/r/" % self.receipts.port  # what the customer's phone opens
        config["digital"] = {
            "host": peers,
            "port": self.receipts.port,
            "token": RECEIPT_TOKEN,
            "base_url": base,
        }
        if self.store is not None:  # (port, token[, CA certificate: HTTPS])
            config["store"] = {"host": peers, "port": self.store[0], "token": self.store[1]}
            if len(self.store) > 2:
                config["store"]["ca"] = "/mnt/data/store-ca.pem" if self.target == "qemu" else self.store[2]
        network = self._network_tse()
        if network is not None:  # the store's shared TSE, or the cloud's: reached at peers
            config["tse"] = self.shared.enrol(self.serial) if self.shared else network.settings()
            ca = "/mnt/data/cloud-ca.pem" if self.target == "qemu" else network.ca
            config["tse"]["cloud"].update(host=peers, ca=ca)
        if self.target == "qemu":  # our PT side: the guest's port, forwarded from the host's loopback
            config["zvt"] = {"port": GUEST_ZVT, "host": "0.0.0.0"}
        else:
            config["zvt"] = {"port": self.zvt_port, "host": "127.0.0.1"}
        _merge(config, self.settings)
        return config

    def _config(self):
        self.operator_port = free_port()
        self.zvt_port = self.zvt_port or free_port()
        self.endpoints["zvt"] = "127.0.0.1:%d" % self.zvt_port
        config = self._firmware_config(
            "127.0.0.1",
            platform="sim",
            board=str(upy.ROOT / "boards" / "sim.json"),
            master=self.master_path,
            data_dir=os.path.join(self.out, "data"),
            devices=self.devices,
            operator_port=self.operator_port,
            emv_ca_keys=self._ca_store(),
        )
        path = os.path.join(self.out, "config.json")
        with open(path, "w") as f:
            json.dump(config, f, indent=1)
        return path

    def _ca_store(self):
        """The simulator's test CA, and its key store for the terminal (every key marked test)."""
        if self.ca is None:
            self.ca = SimCa.make()
        path = os.path.join(self.out, "capk.json")
        with open(path, "w") as f:
            json.dump(self.ca.store(), f, indent=1)
        return path

    def _guest_config(self):
        """The firmware's configuration inside the QEMU guest: its board, its disk, the host's
        peers at 10.0.2.2 (boards/qemu-virt.json), the operator link on its own address."""
        devices = {
            name: dev for name, dev in self.devices.items() if name not in ("tse", "console", "display")
        }
        return self._firmware_config(
            "10.0.2.2",
            platform="linux",
            board="boards/qemu-virt.json",
            data_dir="/mnt/data/ecr",
            devices=devices,
            operator_port=GUEST_OPERATOR,
            operator_host="0.0.0.0",
            emv_ca_keys="/mnt/data/capk.json",
        )

    def _boot_guest(self, timeout):
        from tools.qemu.machine import Machine

        config = self._guest_config()
        if self.machine is None:
            forwards = {GUEST_OPERATOR: free_port(), 35963: self.reader_port, 35964: self.reader_port + 1}
            forwards[GUEST_ZVT] = free_port()
            files = {"capk.json": self._ca_store()}
            if self.store is not None and len(self.store) > 2:
                files["store-ca.pem"] = self.store[2]
            if self._network_tse() is not None:
                files["cloud-ca.pem"] = self._network_tse().ca
            guest = os.path.join(self.out, "qemu")
            self.machine = Machine(
                guest, self.runtime, self.tse.nbd.address, config, forwards=forwards, files=files
            )
            self.endpoints["console"] = "socket://" + self.machine.console  # tools.console --port
        self.machine.config = config
        since = len(self.machine.lines)
        self.machine.start()
        self.proc = self.machine.proc
        self.endpoints["qemu"] = str(self.proc.pid)
        self.operator_port = self.machine.forward(GUEST_OPERATOR)
        self.zvt_port = self.machine.forward(GUEST_ZVT)
        self.endpoints["zvt"] = "127.0.0.1:%d" % self.zvt_port
        if not self.machine.wait_for("I ecr: ready", timeout, since):
            raise RuntimeError("the guest did not come up; see %s" % self.machine.log_path)
        self._connect(timeout)
        self.endpoints["operator"] = "127.0.0.1:%d" % self.operator_port

    def _boot(self, timeout=60):
        if self.target == "qemu":
            self._boot_guest(max(timeout, 120))
            return
        config = self._config()
        log = open(os.path.join(self.out, "firmware.log"), "ab")
        if self.runtime == "micropython":
            # a board with the two RGB565 panels has PSRAM: 1 MB of framebuffers and their copies
            argv, env = upy.command(["-m", "firmware", "--config", config], HEAP), upy.env()
        else:
            argv = [sys.executable, "-m", "firmware", "--config", config]
            env = upy.env(dict(self.pcscd.client_env() if self.pcscd else {}, PYTHONPATH=str(upy.ROOT)))
        self.proc = subprocess.Popen(argv, cwd=upy.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._connect(timeout)
        self.endpoints["operator"] = "127.0.0.1:%d" % self.operator_port

    def _connect(self, timeout):
        """(Re)make the operator link once the firmware listens."""
        self._close_link()
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._link = socket.create_connection(("127.0.0.1", self.operator_port), timeout=30)
                self._lines = self._link.makefile("rb")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the firmware did not come up; see %s/firmware.log" % self.out
                    ) from None
                time.sleep(0.1)

    def _master(self):
        """A register other than the demo's: the demo master data with its own serial."""
        if self.serial == SIM_SERIAL:
            return
        with open(self.master_path) as f:
            master = json.load(f)
        master["register"]["serial"] = self.serial
        self.master_path = os.path.join(self.out, "master-%s.json" % self.serial)
        with open(self.master_path, "w") as f:
            json.dump(master, f, indent=1, ensure_ascii=False)

    def start(self):
        os.makedirs(self.out, exist_ok=True)
        self._master()
        try:
            self._start_tse()
            self._start_cloud()
            self._start_console()
            self._start_emupos()
            self._use_camera()
            self._start_display()
            self._start_readers()
            self._start_panels()
            self._start_scale()
            self._start_acquirer()
            self._start_zvt()
            self._start_wallet()
            self._start_receipts()
            self.devices.update(self.replaced)
            self._boot()
        except BaseException:
            self.stop()
            raise
        return self

    # --- what an operator does ------------------------------------------------------------------

    def cash_sale(self, code="1001"):
        """One article paid exactly in cash, the drawer closed after: the terminal's state."""
        if not self.operator(op="plu", code=code)["ok"]:
            raise RuntimeError("article %s was not rung up" % code)
        reply = self.operator(op="cash")
        if not reply["ok"] or reply["state"]["bon"] is not None:
            raise RuntimeError("the cash sale did not finish: %r" % reply)
        self.emupos.close_drawer()
        return reply["state"]

    def operator(self, **request):
        """One request on the operator link; returns the reply (``ok``, ``state``, ``error``).
        If the terminal restarted (a console ``reboot``, a power cut) the link is made again
        and the reply says so (``"restarted": true``; the request was not run). Threads take
        turns (the browser terminal's power switch and a script, say)."""
        with self._turn:
            return self._operator(request)

    def _operator(self, request):
        try:
            if self._link is None:
                raise OSError("no operator link")
            self._link.sendall((json.dumps(request) + "\n").encode())
            line = self._lines.readline()
        except OSError:
            line = b""
        if line:
            return json.loads(line)
        self._connect(60)
        reply = self._operator({"op": "state"})
        reply.update(
            ok=False,
            restarted=True,
            error="the terminal restarted (reboot or power cut): the operator link is back;"
            " %r was not run" % request.get("op"),
        )
        return reply

    def journal(self, kind=None):
        """The firmware's journal records as written, oldest first (``kind``: only those): what
        a test reads after the fact (the host target; the guest's journal is on its disk)."""
        folder = os.path.join(self.out, "data", "journal")
        out = []
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), "rb") as f:
                out += [json.loads(line.split(b"\t", 1)[0]) for line in f]
        return [r for r in out if kind is None or r["type"] == kind]

    def operator_nowait(self, **request):
        """Send a request on the operator link and do not wait for its reply (a test that cuts
        the power while the terminal works on it; the reply is lost with the link)."""
        self._link.sendall((json.dumps(request) + "\n").encode())

    def _card(self, slot, contactless, profile=None):
        if slot in self.missing or (
            self.target == "host" and self.runtime == "cpython" and self.pcscd is None
        ):
            raise RuntimeError("no card reader: %s" % self.missing.get("card reader", "not started"))
        link = self.cards.get(slot)
        if link is None or not link.inserted:
            if profile is None:
                card = EmvCard.test_card(self.ca, contactless)
            else:
                path = str(upy.ROOT / "data" / "cards" / (profile + ".json"))
                card = EmvCard.load(path, self.ca, contactless=contactless)
            link = CardLink(card, self.reader_port + (1 if contactless else 0)).insert()
            self.cards[slot] = link
        return link

    def insert_card(self, profile=None):
        """A chip card in the slot: the everyday test card, or ``profile`` of data/cards/."""
        return self._card("chip", False, profile)

    def tap_card(self, profile=None):
        """A card in the contactless field: the everyday test card, or ``profile``."""
        return self._card("contactless", True, profile)

    def remove_cards(self):
        for link in self.cards.values():
            link.remove()
        self.cards = {}

    def wait_card(self, timeout=5):
        """Give the reader time to notice the card (pcscd polls its slots)."""
        if self.runtime == "cpython" and self.target == "host":
            return self.pcscd.wait_present(timeout)
        return True

    def tse_card(self, removed):
        self.tse_removed = removed
        return self._control.set(removed=removed)

    def power_cut(self, while_off=None):
        """The power goes: the firmware dies where it stands; then it boots again.
        ``while_off()`` runs while it is off (someone at the storage card, say)."""
        with self._turn:
            self._power_cut(while_off)

    def _power_cut(self, while_off):
        self._close_link()
        if self.proc is not None:
            if self.machine is not None:
                self.machine.kill()  # the whole machine
            else:
                self.proc.kill()
                self.proc.wait()
        self.remove_cards()
        self.robot.clear()  # what the customer meant to type went with the payment
        if while_off is not None:
            while_off()
        self._boot()

    # --- shutting down ------------------------------------------------------------------------

    def _close_link(self):
        if self._link is not None:
            self._lines.close()
            self._link.close()
            self._link = None

    def stop(self):
        self._close_link()
        self.remove_cards()
        if self.robot is not None:
            self.robot.stop()
        if self.acquirer is not None:
            self.acquirer.stop()
            self.acquirer = None
        if self.zvt_terminal is not None:
            self.zvt_terminal.stop()
            self.zvt_terminal = None
        if self.wallet is not None:
            self.wallet.stop()
            self.wallet = None
        if self.receipts is not None:
            self.receipts.stop()
            self.receipts = None
        if self.machine is not None:
            self.machine.stop()
        elif self.proc is not None:
            stop_process(self.proc)
        self.proc = None
        for peer in (self.pcscd, self.emupos, self.display, self.cable, self.scale, *self.panels.values()):
            if peer is not None:
                peer.stop()
        self.pcscd = self.emupos = self.display = self.cable = self.scale = None
        self.panels = {}
        if self._control is not None:
            self._control.close()
            self._control = None
        if self.tse is not None:
            self.tse.close()
            self.tse = None
        if self.cloud_tse is not None:
            self.cloud_tse.stop()
            self.cloud_tse = self.cloud = None
