"""Our NBD server and client against independent peers: qemu-io (client) and qemu-nbd (server)."""

import hashlib
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tools import upy
from tools.sim.nbd import NbdServer

sys.path.insert(0, str(upy.ROOT / "tests" / "device"))
import nbd_probe  # noqa: E402
from test_tse_fat import make_volume, mcopy, write  # noqa: E402

RUNTIMES = ("cpython", "micropython")


class MemoryBackend:
    def __init__(self, size):
        self.data = bytearray(size)
        self.size = size
        self.flushes = 0

    def accepting(self):
        return True

    def read(self, offset, length):
        return bytes(self.data[offset : offset + length])

    def write(self, offset, data):
        self.data[offset : offset + len(data)] = data

    def flush(self):
        self.flushes += 1


def qemu_io(url, *commands):
    argv = ["qemu-io", "-f", "raw"]
    for c in commands:
        argv += ["-c", c]
    return subprocess.run(argv + [url], capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_qemu_io_reads_and_writes_through_our_server(transport, tmp_path):
    backend = MemoryBackend(1 << 20)
    backend.data[8192:8704] = b"\x5a" * 512
    kwargs = {"unix_path": str(tmp_path / "nbd.sock")} if transport == "unix" else {}
    server = NbdServer(backend, "tse", **kwargs).start()
    try:
        proc = qemu_io(server.address, "read -P 0x5a 8192 512", "write -P 0xab 4096 1536", "flush")
        assert proc.returncode == 0 and "Pattern verification failed" not in proc.stdout, (
            proc.stdout + proc.stderr
        )
        assert backend.data[4096:5632] == b"\xab" * 1536
        assert backend.flushes >= 1
        wrong = qemu_io(server.address, "read -P 0x00 8192 512")
        assert "Pattern verification failed" in wrong.stdout + wrong.stderr  # qemu really compares
        other = qemu_io(server.address.replace("/tse", "/nope"), "read 0 512")
        assert other.returncode != 0
    finally:
        server.close()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def qemu_nbd(tmp_path):
    image = tmp_path / "card.img"
    target = make_volume(image, 16, 16384, offset_sectors=2048)
    info = write(tmp_path / "TSE_INFO.DAT", 512, "info")
    write(tmp_path / "TSE_COMM.DAT", 512, "comm")
    (tmp_path / "TSE_TAR.001").write_bytes(bytes(64 * 512))
    mcopy(target, tmp_path / "TSE_COMM.DAT", tmp_path / "TSE_INFO.DAT", tmp_path / "TSE_TAR.001")
    port = _free_port()
    sock = str(tmp_path / "qemu.sock")
    procs = [
        subprocess.Popen(
            [
                "qemu-nbd",
                "-f",
                "raw",
                "-x",
                "card",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "-t",
                "--cache=writethrough",
                str(image),
            ]
        ),
        subprocess.Popen(["qemu-nbd", "-f", "raw", "-x", "card", "-k", sock, "-t", str(image)]),
    ]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not os.path.exists(sock):
        time.sleep(0.05)
    time.sleep(0.2)
    yield {"tcp": "127.0.0.1:%d" % port, "unix": "unix:" + sock}, image, target, info
    for p in procs:
        p.terminate()
        p.wait(10)


def _probe(runtime, address, export, block, pattern):
    if runtime == "cpython":
        return nbd_probe.probe(address, export, block, pattern)
    script = str(upy.ROOT / "tests" / "device" / "nbd_probe.py")
    proc = upy.run(
        [script, address, export, str(block), str(pattern)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_our_client_reads_a_card_served_by_qemu_nbd(runtime, transport, qemu_nbd, tmp_path):
    addresses, image, target, info = qemu_nbd
    pattern = 0x30 + (transport == "unix") + 2 * (runtime == "micropython")
    result = _probe(runtime, addresses[transport], "card", 7, pattern)
    assert result.get("info_sha256") == info, result
    assert result["store_blocks"] == 64 and result["blocks"] == (2048 * 512 + 16384 * 1024) // 512
    out = tmp_path / "back.bin"
    subprocess.run(
        ["mcopy", "-o", "-i", target, "::/TSE_TAR.001", str(out)],
        check=True,
        env=dict(os.environ, MTOOLS_SKIP_CHECK="1"),
    )
    store = out.read_bytes()
    assert store[7 * 512 : 8 * 512] == bytes((pattern,)) * 512  # the write landed in the file, seen by mtools
    assert hashlib.sha256(store[: 7 * 512]).digest() == hashlib.sha256(bytes(7 * 512)).digest()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_unknown_export_is_refused_clearly(runtime, qemu_nbd):
    addresses = qemu_nbd[0]
    result = _probe(runtime, addresses["tcp"], "nope", 0, 0)
    assert "refused" in result["error"]
