"""The embedded-Linux transport: the card mounted as a file system (FUSE), files opened O_DIRECT."""

import asyncio
import fcntl
import os

import pytest

from firmware.fiscal.qr import receipt_qr
from hal.clock import SystemClock
from hal.linux.tse_file import DirectFile
from tools.audit.tse import verify_qr, verify_tar
from tools.sim.tse.fuse_card import FuseCard
from tools.sim.tse.server import open_card
from tse_sd import errors
from tse_sd.client import TseClient
from tse_sd.service import TseService
from tse_sd.transport import FileTransport, find_card

SALE = "Beleg^2.38_0.00_0.00_0.00_0.00^2.38:Unbar"


class _Log:
    def __init__(self):
        self.lines = []

    def add_secret(self, s):
        pass

    def info(self, msg, *args):
        self.lines.append(msg % args)

    warning = error = info


@pytest.fixture
def mounted(tmp_path):
    card, image = open_card(str(tmp_path / "card"))
    mount = FuseCard(image, str(tmp_path / "mnt"))
    yield card, str(tmp_path / "mnt")
    mount.unmount()
    image.close()
    card.close()


def test_driver_works_through_the_mounted_files(mounted, tmp_path):
    card, mnt = mounted
    assert sorted(os.listdir(mnt)) == ["TSE_COMM.DAT", "TSE_INFO.DAT", "TSE_TAR.001"]
    clock = SystemClock()
    client = TseClient(lambda: FileTransport(mnt, DirectFile), clock)

    async def scenario():
        await client.setup("123456", "12345", "54321", "LINUX-1", clock.now())
        info = client.info()
        qrs = []
        for _ in range(3):
            start = await client.start_transaction("LINUX-1")
            finish = await client.finish_transaction("LINUX-1", start.number, SALE, "Kassenbeleg-V1")
            qrs.append(receipt_qr("LINUX-1", start, finish, "Kassenbeleg-V1", SALE, info.public_key))
        with open(tmp_path / "export.tar", "wb") as f:
            await client.export_tar(f.write)
        return qrs

    qrs = asyncio.run(scenario())
    for fd in [f.fd for f in client.transport.files]:
        assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT  # the page cache is bypassed
    client.close()
    assert all(verify_qr(q)[0] for q in qrs)
    report = verify_tar(str(tmp_path / "export.tar"))
    assert report.ok, report.problems
    assert [m.fields[2].decode() for _, m in report.logs if m.text(0) == "FinishTransaction"] == [SALE] * 3


def test_a_pulled_card_fails_cleanly_and_comes_back(mounted):
    card, mnt = mounted
    clock = SystemClock()
    client = TseClient(lambda: FileTransport(mnt, DirectFile), clock)
    service = TseService(client, clock, _Log(), "LINUX-1", "54321")

    async def scenario():
        await client.setup("123456", "12345", "54321", "LINUX-1", clock.now())
        card.faults.update({"removed": True})
        with pytest.raises(errors.TseUnavailable):
            await client.start_transaction("LINUX-1")
        card.faults.update({"removed": False})
        card.power_on()  # put back: the card starts without time and self-test
        assert await service.boot() == "ready"
        return await client.start_transaction("LINUX-1")

    assert asyncio.run(scenario()).number == 1
    client.close()


def test_the_card_is_found_among_the_mounts(mounted, tmp_path):
    _, mnt = mounted
    table = tmp_path / "mounts"
    table.write_text("proc /proc proc rw 0 0\ncard %s fuse rw 0 0\n" % mnt)
    assert find_card(str(table)) == mnt
    table.write_text("proc /proc proc rw 0 0\n")
    with pytest.raises(OSError, match="no mounted TSE card"):
        find_card(str(table))


def test_a_card_without_its_files_is_a_clear_error(tmp_path):
    folder = tmp_path / "not-a-card"
    folder.mkdir()
    with pytest.raises(OSError, match="cannot open .*TSE_COMM.DAT with O_DIRECT"):
        FileTransport(str(folder), DirectFile)
    for name in ("TSE_COMM.DAT", "TSE_INFO.DAT"):
        (folder / name).write_bytes(bytes(512))
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match="TSE_TAR.001 not found"):
        FileTransport(str(folder), DirectFile)
    assert len(os.listdir("/proc/self/fd")) == before  # what was opened is closed again
