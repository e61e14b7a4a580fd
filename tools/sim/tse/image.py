"""The card as the host sees it: an SD card image whose mailbox sectors talk to the controller.

    build_image("card.img", store_blocks=8192)       # MBR + FAT16 made by mkfs.fat and mcopy
    image = CardImage(card, "card.img")
    image.read(offset, length) / image.write(offset, data) / image.flush()   # what NBD serves

The volume is made by the real tools (dosfstools' ``mkfs.fat``, mtools' ``mcopy``) in an MBR
partition at 1 MiB, as on an SD card, and holds ``TSE_COMM.DAT``, ``TSE_INFO.DAT`` and
``TSE_TAR.001``. The emulator finds their sectors with the driver's own FAT reader. Then:

- a write of the ``TSE_COMM.DAT`` sector is a command: the controller executes it;
- a read of that sector is the answer (busy while the command's latency runs);
- a read of ``TSE_INFO.DAT`` is the status block, generated fresh; writes to it are ignored;
- every other sector (FAT, directory, the store) is plain storage in the image file.

A pulled card (fault ``removed``) answers every request with EIO, or (``remove_mode: drop``)
drops the link: ``Disconnect``.
"""

import collections
import os
import struct
import subprocess
import tempfile
import threading

from tools.sim.tse.card import INVALID_CMD_SYNTAX, NO_RESPONSE_TO_FETCH
from tse_sd import protocol as p
from tse_sd.errors import TseProtocolError
from tse_sd.fat import FatVolume
from tse_sd.transport import locate, store_place

PARTITION_START = 2048  # sectors: 1 MiB, the usual SD card alignment
_EIO = 5
_EINVAL = 22


class Disconnect(Exception):
    """The link to the host must be dropped (card pulled with remove_mode drop, power loss)."""


def build_image(path, store_blocks=8192):
    """Make a card image: MBR, one FAT16 partition, the three mailbox files (contiguous)."""
    volume = max(32768, store_blocks + 8192)  # sectors; FAT16 with 512-byte clusters
    with open(path, "wb") as f:
        f.truncate((PARTITION_START + volume) * 512)
        mbr = bytearray(512)
        struct.pack_into(
            "<B3sB3sII", mbr, 446, 0, b"\xfe\xff\xff", 0x0E, b"\xfe\xff\xff", PARTITION_START, volume
        )
        mbr[510:512] = b"\x55\xaa"
        f.write(mbr)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(
        [
            "mkfs.fat",
            "-F",
            "16",
            "-s",
            "1",
            "-n",
            "SWISSBIT",
            "--offset",
            str(PARTITION_START),
            path,
            str(volume // 2),
        ],
        check=True,
        capture_output=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for name, size in (("TSE_COMM.DAT", 512), ("TSE_INFO.DAT", 512), ("TSE_TAR.001", store_blocks * 512)):
            with open(os.path.join(tmp, name), "wb") as f:
                f.truncate(size)
            names.append(os.path.join(tmp, name))
        subprocess.run(
            ["mcopy", "-i", "%s@@%d" % (path, PARTITION_START * 512)] + names + ["::/"],
            check=True,
            capture_output=True,
            env=env,
        )


class _FileBlocks:
    """A block device over the image file, for the FAT reader."""

    def __init__(self, fd):
        self.fd = fd

    def readblocks(self, block, buf):
        buf[:] = os.pread(self.fd, len(buf), block * 512)


class Mailbox:
    """The controller's side of ``TSE_COMM.DAT``: commands in, answer blocks out."""

    def __init__(self, card):
        self.card = card
        self.counter = 0
        self.block = bytearray(p.BLOCK)
        self._busy = bytearray(p.BLOCK)
        self.parts = collections.deque()
        self.busy_left = 0
        self.ready_at = None
        p.encode_response(self.block, 0, p.STATE_DONE)

    def write(self, request):
        try:
            code, params = p.decode_request(request)
        except TseProtocolError:
            self._answer(INVALID_CMD_SYNTAX, b"")
            return
        if code == p.CMD_FETCH_MORE:
            if self.parts:
                self._next_part()
            else:
                self._answer(NO_RESPONSE_TO_FETCH, b"")
            return
        status, data = self.card.execute(code, params)  # PowerLoss escapes: no answer at all
        faults = self.card.faults
        clock = self.card.clock
        self.busy_left = faults.busy_polls
        self.ready_at = clock.ticks_ms() + faults.latency_ms if faults.latency_ms else None
        self._answer(status, data)

    def _answer(self, status, data):
        self.parts.clear()
        pos = 0
        if not status:
            while len(data) - pos > p.MAX_DATA:
                self.parts.append((p.STATE_MORE, data[pos : pos + p.BLOCK - 7], 0))
                pos += p.BLOCK - 7
        self.parts.append((p.STATE_DONE, data[pos:], status))
        self._next_part()

    def _next_part(self):
        state, data, status = self.parts.popleft()
        self.counter = (self.counter + 1) & 0xFFFFFFFF
        p.encode_response(self.block, self.counter, state, data, status)

    def read(self):
        clock = self.card.clock
        if self.busy_left or (
            self.ready_at is not None and clock.ticks_diff(self.ready_at, clock.ticks_ms()) > 0
        ):
            self.busy_left = max(0, self.busy_left - 1)
            return bytes(p.encode_response(self._busy, self.counter, p.STATE_BUSY))
        self.ready_at = None
        return bytes(self.block)


class ImageBlocks:
    """A card image as a block device in this process (no NBD, no threads): for tests and
    benchmarks that want the card without its link."""

    def __init__(self, image):
        self.image = image

    def readblocks(self, block, buf):
        buf[:] = self.image.read(block * 512, len(buf))

    def writeblocks(self, block, buf):
        self.image.write(block * 512, bytes(buf))


class CardImage:
    """The NBD backend of one card: ``size``, ``read``, ``write``, ``flush``, ``accepting``."""

    def __init__(self, card, path):
        self.card = card
        self.lock = threading.RLock()
        self.fd = os.open(path, os.O_RDWR)
        self.size = os.fstat(self.fd).st_size
        self.comm_file, self.info_file, self.store = locate(FatVolume(_FileBlocks(self.fd)))
        self.comm = self.comm_file.sector(0)
        self.info = self.info_file.sector(0)
        self.store_blocks = self.store[0].sectors
        card.store_blocks_total = sum(f.sectors for f in self.store)
        card.read_store = self.read_store
        self.mailbox = Mailbox(card)

    def accepting(self):
        faults = self.card.faults
        return not (faults.removed and faults.remove_mode == "drop")

    def _check_present(self):
        faults = self.card.faults
        if faults.removed:
            if faults.remove_mode == "drop":
                raise Disconnect("card pulled")
            raise OSError(_EIO, "card pulled")

    def read(self, offset, length):
        with self.lock:
            self._check_present()
            data = bytearray(os.pread(self.fd, length, offset))
            for sector, fill in ((self.comm, self.mailbox.read), (self.info, self.card.info_block)):
                start = sector * 512
                if offset < start + 512 and start < offset + length:
                    block = fill()
                    lo, hi = max(offset, start), min(offset + length, start + 512)
                    data[lo - offset : hi - offset] = block[lo - start : hi - start]
            return bytes(data)

    def write(self, offset, data):
        with self.lock:
            self._check_present()
            end = offset + len(data)
            for sector in (self.comm, self.info):
                start = sector * 512
                if offset < start + 512 and start < end:
                    if sector == self.comm and (offset > start or end < start + 512):
                        raise OSError(_EINVAL, "the mailbox takes whole 512-byte blocks")
                    before, after = data[: start - offset], data[start + 512 - offset :]
                    if before:
                        os.pwrite(self.fd, before, offset)
                    if after:
                        os.pwrite(self.fd, after, start + 512)
                    if sector == self.comm:
                        self.mailbox.write(bytes(data[start - offset : start - offset + 512]))
                    return
            os.pwrite(self.fd, data, offset)

    def flush(self):
        with self.lock:
            os.fsync(self.fd)

    def read_store(self, block, nbytes):
        """What the host wrote at store block ``block`` (the card reading processData)."""
        index, first = store_place(block, self.store_blocks, len(self.store))
        out = bytearray()
        count = (nbytes + 511) // 512
        for sector, n in self.store[index].runs(first, count):
            out += os.pread(self.fd, n * 512, sector * 512)
        return bytes(out[:nbytes])

    def power_cycle(self):
        """Power off and on: the controller forgets what is volatile, the mailbox is idle."""
        with self.lock:
            self.card.power_on()
            self.mailbox = Mailbox(self.card)

    def close(self):
        os.close(self.fd)
