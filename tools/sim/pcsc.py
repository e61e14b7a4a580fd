"""pcscd with the virtual reader vpcd: the simulator's PC/SC card reader (CPython firmware).

    pcsc = Pcscd("out/sim/pcsc", port=35963).start()   # readers "<name> 00 00" (chip) and "00 01"
    env = pcsc.client_env()                             # {"PCSCLITE_CSOCK_NAME": its socket}
    CardLink(EmvCard.test_card(SimCa.make()), pcsc.port).insert()  # a card in the chip slot
    CardLink(EmvCard.test_card(ca, True), pcsc.port + 1).insert()  # one on the contactless slot
    pcsc.wait_present(timeout=5)                        # until pcscd has seen a card in a slot
    pcsc.stop()

    PCSCLITE_CSOCK_NAME=... python -m tools.sim.pcsc wait TIMEOUT READER...   # 0: a card is in

vpcd opens one slot per port (``port`` and ``port + 1``) and waits for a card to connect.
Facts of the Debian packages (pcsc-lite 1.9.9, vsmartcard 3.3): pcscd needs root and keeps its
socket and pid file in the fixed folder ``/run/pcscd`` (no option moves them), so a second
pcscd, say the one a developer's PC runs for its own card reader, would collide. Each simulator
therefore runs its own: in a private mount namespace (``unshare --mount``) where ``/run/pcscd``
is a folder of its own; PC/SC clients reach it by the environment variable
``PCSCLITE_CSOCK_NAME`` (read by libpcsclite), so two simulators and a system pcscd live side by
side. vpcd listens on all interfaces, not only loopback (our cards connect to 127.0.0.1).
"""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time

from tools import upy
from tools.sim import stop_process

DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
READER = "smartECR virtual reader"
# In the private namespace: our folder over /run/pcscd, then pcscd itself (the same pid).
_PRIVATE = 'mkdir -p /run/pcscd && mount --bind "$0" /run/pcscd && exec "$@"'


class PcscUnavailable(RuntimeError):
    pass


class PortTaken(PcscUnavailable):
    """vpcd could not listen on its port: another program has it (choose others)."""


class Pcscd:
    def __init__(self, folder, port=35963, name=READER):
        self.folder = str(folder)
        self.port = port
        self.name = name
        self.proc = None
        self.run_dir = None
        self.socket = None

    def start(self, timeout=10):
        if not os.path.exists(DRIVER) or not os.path.exists("/usr/sbin/pcscd"):
            raise PcscUnavailable("pcscd or vpcd is not installed: run `make setup`")
        if os.geteuid() != 0:
            raise PcscUnavailable("pcscd needs root")
        if shutil.which("unshare") is None:
            raise PcscUnavailable("unshare (util-linux) is not installed")
        conf = os.path.join(self.folder, "reader.conf.d")
        os.makedirs(conf, exist_ok=True)
        with open(os.path.join(conf, "vpcd"), "w") as f:
            f.write(
                'FRIENDLYNAME "%s"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n'
                % (self.name, self.port, DRIVER, self.port)
            )
        # a short path: a unix socket's name has at most 107 bytes
        self.run_dir = tempfile.mkdtemp(prefix="smartecr-pcscd-")
        self.socket = os.path.join(self.run_dir, "pcscd.comm")
        self._log = open(os.path.join(self.folder, "pcscd.log"), "wb")
        pcscd = ["/usr/sbin/pcscd", "--foreground", "--info", "--config", conf]
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", _PRIVATE, self.run_dir] + pcscd,
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
        if not os.path.exists(self.socket):
            return False
        with open(os.path.join(self.folder, "pcscd.log"), "rb") as f:
            log = f.read()
        if b"Could not initialize connection to virtual ICC" in log:
            self.stop()
            raise PortTaken("vpcd's ports %d and %d are not both free" % (self.port, self.port + 1))
        return b"daemon ready" in log

    def client_env(self):
        """What a PC/SC client process needs in its environment to reach this pcscd."""
        return {"PCSCLITE_CSOCK_NAME": self.socket}

    def reader(self, slot=0):
        """The PC/SC name of slot 0 (chip) or 1 (contactless)."""
        return "%s 00 %02d" % (self.name, slot)

    def wait_present(self, timeout=5):
        """True once pcscd sees a card in either slot (it polls them), False after ``timeout``.
        Asked in a child process: libpcsclite takes the socket name once per process."""
        env = dict(os.environ, PYTHONPATH=str(upy.ROOT), **self.client_env())
        argv = [sys.executable, "-m", "tools.sim.pcsc", "wait", str(timeout), self.reader(0), self.reader(1)]
        return subprocess.run(argv, cwd=upy.ROOT, env=env, check=False, timeout=timeout + 30).returncode == 0

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
            self._log.close()
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None


async def _present(name):
    from hal.linux.pcsc import PcscReader

    reader = PcscReader(name)
    try:
        return await reader.present()
    finally:
        reader.close()


def _wait(timeout, names):
    from core.errors import DeviceError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(asyncio.run(_present(name)) for name in names):
                return 0
        except DeviceError:
            pass  # the readers not yet listed
        time.sleep(0.1)
    return 1


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] != "wait":
        print("usage: python -m tools.sim.pcsc wait TIMEOUT READER...", file=sys.stderr)
        sys.exit(2)
    sys.exit(_wait(float(sys.argv[2]), sys.argv[3:]))
