"""The QEMU target's machine (host code): an arm64 guest on ``qemu-system-aarch64 -M virt``
(cortex-a53, TCG) running the firmware of tools/qemu/image.py.

    m = Machine(out, "cpython", tse="nbd://127.0.0.1:10809/tse", config={...}).start()
    m.console            # 127.0.0.1:PORT: the guest's /dev/hvc0 (virtconsole) on TCP
    m.forward(9120)      # a host port that reaches the guest's port 9120 (the operator link)
    m.wait_for("ready")  # a line of the guest's serial console (the firmware's log)
    m.kill(); m.start()  # a power cut of the whole machine, and power again

    job = Machine(out, "micropython", tse, config, run=["-m", "tools.workloads.demo_shift", ...])
    status = job.run_job(talk)       # talk(line): the job's stdio, on the console line
    job.fetch("demo", "out/demo")    # a job's outputs off its disk

Disks: the TSE card is the simulator's NBD export as a **virtio-blk** disk (a card that dies
is an I/O error in the guest, not the silent zeros of QEMU's SD card emulation), and the
terminal's storage a second virtio disk (a FAT image under ``out``: the journal survives a
power cut, and the firmware's configuration is copied onto it before each boot). The guest's
network is QEMU's user network: the host's loopback peripherals are at 10.0.2.2, and
``hostfwd`` forwards loopback ports to the guest. ``-nic none`` is not needed with an explicit
``virtio-net-device``; no ROM is asked for.
"""

import json
import os
import socket
import subprocess
import threading
import time

from tools.qemu import image
from tools.sim import stop_process, until

DATA_MB = 64
# boards/qemu-virt.json's devices other than the console and the TSE card: a guest without peers
ONLY_CONSOLE_AND_CARD = (
    "printer",
    "drawer",
    "scanner",
    "operator_panel",
    "customer_panel",
    "pinpad",
    "scale",
)
ONLY_CONSOLE_AND_CARD += ("card_reader", "contactless_reader")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Machine:
    def __init__(self, out, runtime, tse, config, guest_ports=(), forwards=None, files=None, run=None):
        self.out = os.path.abspath(out)
        self.runtime = runtime
        self.tse = tse
        self.config = config
        self.ports = {port: _free_port() for port in guest_ports}  # guest port -> host port
        self.ports.update(forwards or {})
        self.files = files or {}  # name on the guest's disk -> a host file copied there at boot
        self.run = run  # the arguments of a job the guest runs instead of the firmware
        self.console_port = _free_port()
        self.console = "127.0.0.1:%d" % self.console_port
        self.proc = None
        self.lines = []
        self._cond = threading.Condition()
        self.boots = 0
        self.data = os.path.join(self.out, "data.img")
        self.log_path = os.path.join(self.out, "guest.log")

    def forward(self, guest_port):
        return self.ports[guest_port]

    def _disk(self):
        if not os.path.exists(self.data):
            with open(self.data, "wb") as f:
                f.truncate(DATA_MB * 1024 * 1024)
            subprocess.run(["mkfs.vfat", "-n", "SMARTECR", self.data], check=True, capture_output=True)
        path = os.path.join(self.out, "config.json")
        with open(path, "w") as f:
            json.dump(self.config, f, indent=1)
        files = [("config.json", path)] + sorted(self.files.items())
        if self.run is not None:
            if any(not arg or any(c.isspace() for c in arg) for arg in self.run):
                raise ValueError("a job's arguments are words without spaces: %r" % (self.run,))
            job = os.path.join(self.out, "run")
            with open(job, "w") as f:
                f.write(" ".join(self.run) + "\n")
            files.append(("run", job))
        for name, source in files:
            mcopy = ["mcopy", "-o", "-i", self.data, source, "::" + name]
            subprocess.run(mcopy, check=True, capture_output=True)

    def command(self):
        img = image.build(self.runtime)
        forwards = "".join(",hostfwd=tcp:127.0.0.1:%d-:%d" % (h, g) for g, h in self.ports.items())
        return [
            "qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a53", "-m", "512", "-smp", "1",
            "-kernel", img["kernel"], "-initrd", img["initrd"],
            "-append", "console=ttyAMA0 rdinit=/init quiet",
            "-display", "none", "-no-reboot", "-nodefaults", "-serial", "stdio",
            "-drive", "file=%s,format=raw,if=none,id=tse,cache=none" % self.tse,
            "-device", "virtio-blk-device,drive=tse",
            "-drive", "file=%s,format=raw,if=none,id=data,cache=none" % self.data,
            "-device", "virtio-blk-device,drive=data",
            "-device", "virtio-serial-device",
            "-chardev", "socket,id=svc,host=127.0.0.1,port=%d,server=on,wait=off" % self.console_port,
            "-device", "virtconsole,chardev=svc",
            "-netdev", "user,id=net" + forwards, "-device", "virtio-net-device,netdev=net",
        ]  # fmt: skip

    def start(self):
        os.makedirs(self.out, exist_ok=True)
        self._disk()
        self.started = time.monotonic()
        log = open(self.log_path, "ab")
        out = subprocess.PIPE
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=log)
        log.close()
        self.boots += 1
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        return self

    def _read(self, proc):
        with open(self.log_path, "ab") as log:
            for raw in proc.stdout:
                log.write(raw)
                log.flush()
                with self._cond:
                    self.lines.append(raw.decode(errors="replace").rstrip("\r\n"))
                    self._cond.notify_all()
        proc.stdout.close()

    def wait_for(self, text, timeout=60, since=0):
        """The first guest console line from ``since`` on that holds ``text`` (None on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[since:]:
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc is not None and self.proc.poll() is not None):
                    return None
                self._cond.wait(min(left, 0.5))

    def connect_console(self, timeout=30):
        """A TCP connection to the guest's console line, once QEMU listens for it."""

        def attempt():
            try:
                return socket.create_connection(("127.0.0.1", self.console_port), timeout=timeout)
            except ConnectionRefusedError:
                return None

        line = until(attempt, timeout)
        if line is None:
            raise RuntimeError("QEMU's console line %s did not answer" % self.console)
        return line

    def wait_ended(self, timeout):
        """The guest's exit status of its job (None if it did not end within ``timeout``)."""
        line = self.wait_for("smartECR guest: the run ended", timeout)
        if line is None:
            return None
        self.proc.wait(30)  # /init powers off
        self._ended()
        return int(line.rsplit("(", 1)[1].rstrip(")"))

    def run_job(self, talk, timeout=120):
        """Boot the guest with its job, hand ``talk`` the console line (a connected socket: the
        job's stdin and stdout) and return the job's exit status once the guest has powered
        off (None if it did not end ``timeout`` s after ``talk`` returned); off either way."""
        self.start()
        try:
            with self.connect_console() as line:
                talk(line)
            return self.wait_ended(timeout)
        finally:
            if self.proc is not None:
                self.kill()

    def fetch(self, folder, dest):
        """Copy ``folder`` of the guest's disk (while the guest is off) to ``dest``."""
        os.makedirs(dest, exist_ok=True)
        mcopy = ["mcopy", "-s", "-n", "-i", self.data, "::" + folder + "/*", dest]
        proc = subprocess.run(mcopy, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError("mcopy %s: %s" % (folder, proc.stderr.strip()))

    def kill(self):
        """The power goes: QEMU is killed where it stands."""
        if self.proc is not None:
            self.proc.kill()
            self._ended()

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, 5)
            self._ended()

    def _ended(self):
        self.proc.wait()
        self._reader.join(5)  # the console's last lines read, its pipe closed
        self.proc = None
