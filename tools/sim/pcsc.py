"""pcscd with the virtual reader vpcd: the simulator's PC/SC card reader (CPython firmware).

    pcsc = Pcscd("out/sim/pcsc", port=35963).start()   # readers "<name> 00 00" (chip) and "00 01"
    CardLink(VirtualCard.test_card(), pcsc.port).insert()          # a card in the chip slot
    CardLink(VirtualCard.test_card(True), pcsc.port + 1).insert()  # one on the contactless slot
    pcsc.stop()

vpcd opens one slot per port (``port`` and ``port + 1``) and waits for a card to connect.
Facts of the Debian packages (pcsc-lite 1.9.9, vsmartcard 3.3): pcscd needs root, its socket
is fixed at /run/pcscd/pcscd.comm so only one can run at a time, and vpcd listens on all
interfaces, not only loopback (our cards connect to 127.0.0.1).
"""

import os
import subprocess
import time

from tools.sim import stop_process

DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
SOCKET = "/run/pcscd/pcscd.comm"
READER = "smartECR virtual reader"


class PcscUnavailable(RuntimeError):
    pass


def running_pid():
    """The pid of a pcscd already running, or None."""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().split()
            except OSError:
                continue
            if fields[1] == "(pcscd)" and fields[2] != "Z":  # a zombie is gone already
                return int(pid)
    return None


class Pcscd:
    def __init__(self, folder, port=35963, name=READER):
        self.folder = str(folder)
        self.port = port
        self.name = name
        self.proc = None

    def start(self, timeout=10):
        if not os.path.exists(DRIVER) or not os.path.exists("/usr/sbin/pcscd"):
            raise PcscUnavailable("pcscd or vpcd is not installed: run `make setup`")
        if os.geteuid() != 0:
            raise PcscUnavailable("pcscd needs root")
        other = running_pid()
        if other is not None:
            raise PcscUnavailable("another pcscd is running (pid %d); stop it first" % other)
        conf = os.path.join(self.folder, "reader.conf.d")
        os.makedirs(conf, exist_ok=True)
        with open(os.path.join(conf, "vpcd"), "w") as f:
            f.write(
                'FRIENDLYNAME "%s"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n'
                % (self.name, self.port, DRIVER, self.port)
            )
        self._log = open(os.path.join(self.folder, "pcscd.log"), "wb")
        self.proc = subprocess.Popen(
            ["/usr/sbin/pcscd", "--foreground", "--info", "--config", conf],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise PcscUnavailable("pcscd did not start (see %s/pcscd.log)" % self.folder)
            time.sleep(0.05)
        return self

    def _ready(self):
        if not os.path.exists(SOCKET):
            return False
        with open(os.path.join(self.folder, "pcscd.log"), "rb") as f:
            return b"daemon ready" in f.read()

    def reader(self, slot=0):
        """The PC/SC name of slot 0 (chip) or 1 (contactless)."""
        return "%s 00 %02d" % (self.name, slot)

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
            self._log.close()
