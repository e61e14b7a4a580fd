"""emupos, the independent ESC/POS printer and cash-drawer emulator, as the simulator's printer.

    emu = Emupos("out/sim/emupos").start()     # printer on 127.0.0.1:<emu.printer_port>
    ... the firmware prints to it over TCP like to a real LAN printer ...
    emu.receipts()                             # what it has printed (one per cut)
    emu.image(rid), emu.text(rid)              # PNG as rendered, text as read
    emu.fault("paper-out")                     # paper-near-end, paper-out, cover-open, offline
    emu.scan("]E04006381333931")               # the serial scanner on 127.0.0.1:<emu.scanner_port>
    emu.drawer_open(), emu.close_drawer()      # the drawer the printer kicks, and its sensor
    emu.stop()

emupos runs in its own environment (.venv-emupos, Python 3.13, made by ``make setup``); it is
driven only through its configuration file and its control API on loopback.
"""

import json
import os
import socket
import subprocess
import time
import urllib.request

from tools.sim import stop_process
from tools.upy import ROOT

BIN = ROOT / ".venv-emupos" / "bin" / "emupos"
FAULTS = ("paper-near-end", "paper-out", "cover-open", "offline")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emupos:
    def __init__(self, folder, printer_port=0, api_port=0, profile="epson-tm-t20iii", scanner_port=0):
        if not BIN.exists():
            raise FileNotFoundError("emupos is not installed: run `make setup` (it needs Python 3.13)")
        self.folder = str(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.printer_port = printer_port or free_port()
        self.api_port = api_port or free_port()
        self.scanner_port = scanner_port or free_port()
        self.api = "http://127.0.0.1:%d/api/v1" % self.api_port
        self.config = os.path.join(self.folder, "emupos.yaml")
        with open(self.config, "w") as f:
            f.write(
                "schema: 1\n"
                "api: { host: 127.0.0.1, port: %d }\n"
                "devices:\n"
                "  - id: front\n"
                "    type: printer\n"
                "    profile: %s\n"
                "    connections:\n"
                "      - tcp: { host: 127.0.0.1, port: %d }\n"
                "    receipts_dir: ./receipts\n"
                "    drawer: { sensor_open_level: high }\n"
                "  - id: scanner\n"
                "    type: scanner\n"
                "    mode: serial\n"
                "    suffix: enter\n"
                "    connections:\n"
                "      - tcp: { host: 127.0.0.1, port: %d }\n"
                % (self.api_port, profile, self.printer_port, self.scanner_port)
            )
        self.proc = None

    def start(self, timeout=30):
        self._log = open(os.path.join(self.folder, "emupos.log"), "wb")
        self.proc = subprocess.Popen(
            [str(BIN), "run", "--config", self.config],
            cwd=self.folder,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("emupos stopped at start: see %s/emupos.log" % self.folder)
            try:
                self._get("/health")
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError("emupos did not answer within %d s" % timeout)

    def _get(self, path):
        with urllib.request.urlopen(self.api + path, timeout=10) as r:
            return r.read()

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.read()

    def receipts(self):
        return json.loads(self._get("/devices/front/receipts"))

    def wait_receipts(self, count, timeout=20):
        """The receipts once at least ``count`` are complete (a job completes at its cut)."""
        deadline = time.monotonic() + timeout
        while True:
            done = self.receipts()
            if len(done) >= count or time.monotonic() > deadline:
                return done
            time.sleep(0.1)

    def image(self, receipt_id):
        return self._get("/devices/front/receipts/%s/image" % receipt_id)

    def text(self, receipt_id):
        return self._get("/devices/front/receipts/%s/text" % receipt_id).decode()

    def fault(self, name, active=True):
        if name not in FAULTS:
            raise ValueError("unknown printer fault %r (%s)" % (name, ", ".join(FAULTS)))
        self._call("PUT" if active else "DELETE", "/devices/front/faults/" + name)

    def scan(self, data):
        """The serial scanner sends ``data`` and CR now (to every connected client)."""
        body = {"data": data, "countdown_seconds": 0}
        return json.loads(self._call("POST", "/devices/scanner/scans", body))

    def device(self, name="front"):
        return json.loads(self._get("/devices/" + name))

    def close_drawer(self):
        self._call("POST", "/devices/front/drawer/close")

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self._log.close()
        self.proc = None
