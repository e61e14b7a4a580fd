"""The card's mailbox files, over a block device or as the files of a card Linux mounted.

    transport = BlockTransport(machine.SDCard(slot=2))     # a board
    transport = BlockTransport(NbdBlockDevice.connect())   # the host simulator, both runtimes
    transport = FileTransport(find_card(), DirectFile)     # embedded Linux: the mounted card

A transport moves 512-byte blocks of the three kinds of file and nothing else; the mailbox
protocol is in ``tse_sd.protocol``, the SE-API in ``tse_sd.client``. ``FileTransport`` reaches
the files through a ``DirectFile`` class of the runtime: ``hal.linux.tse_file`` (CPython's
``os`` and ``mmap``) or ``hal.mpy.tse_file`` (MicroPython's ``ffi`` to libc), both opening
with ``O_DIRECT | O_SYNC`` so that the page cache never answers for the card. I/O errors are
``OSError``; the client turns them into ``TseUnavailable``.
"""

from core.storage import exists
from tse_sd.errors import TseProtocolError
from tse_sd.fat import SECTOR, FatVolume


def locate(vol):
    """``(TSE_COMM.DAT, TSE_INFO.DAT, [TSE_TAR.001, ...])`` of a card's volume, or OSError."""
    comm = vol.open("TSE_COMM.DAT")
    info = vol.open("TSE_INFO.DAT")
    store = []
    while True:
        try:
            store.append(vol.open("TSE_TAR.%03d" % (len(store) + 1)))
        except OSError:
            break
    if not store:
        raise OSError("TSE_TAR.001 not found on the card")
    return comm, info, store


def store_place(block, blocks_per_file, files):
    """``(file index, block in that file)`` of a store block the card assigned: file
    ``TSE_TAR.nnn`` number ``block // blocks per file``, block ``block % blocks per file``."""
    index, first = divmod(block, blocks_per_file)
    if index >= files:
        raise TseProtocolError("card assigned store block %d beyond its %d store files" % (block, files))
    return index, first


class BlockTransport:
    """Owns ``dev``: closes it on ``close()``, and when the card cannot be read at all."""

    def __init__(self, dev):
        self.dev = dev
        try:
            self._locate(FatVolume(dev))
        except Exception:
            self.close()
            raise

    def _locate(self, vol):
        comm, info, self._store = locate(vol)
        self._comm = comm.sector(0)
        self._info = info.sector(0)
        self.store_blocks = self._store[0].sectors

    def read_comm(self, buf):
        self.dev.readblocks(self._comm, buf)

    def write_comm(self, buf):
        self.dev.writeblocks(self._comm, buf)

    def read_info(self, buf):
        self.dev.readblocks(self._info, buf)

    def write_store(self, block, data):
        """Write ``data`` (a whole number of blocks) at store block ``block``, as assigned by the card."""
        index, first = store_place(block, self.store_blocks, len(self._store))
        mv = memoryview(data)
        pos = 0
        for sector, n in self._store[index].runs(first, len(data) // SECTOR):
            self.dev.writeblocks(sector, mv[pos : pos + n * SECTOR])
            pos += n * SECTOR

    def close(self):
        if hasattr(self.dev, "close"):
            self.dev.close()


def find_card(mounts="/proc/mounts"):
    """The mount point of the TSE card: the first mounted file system with ``TSE_COMM.DAT``."""
    with open(mounts) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 2:
                point = fields[1].replace("\\040", " ")
                if exists(point + "/TSE_COMM.DAT"):
                    return point
    raise OSError("no mounted TSE card (no file system with TSE_COMM.DAT in %s)" % mounts)


class FileTransport:
    """The card's files on a mounted volume, each opened as ``direct(path)``: an object with
    ``size``, ``read(buf)`` (block 0 into ``buf``), ``write(data, offset)`` and ``close()``.
    What was opened is closed again when a file is missing."""

    def __init__(self, mount_point, direct):
        self.files = []
        try:
            self._comm = self._open(direct, mount_point, "TSE_COMM.DAT")
            self._info = self._open(direct, mount_point, "TSE_INFO.DAT")
            self._store = []
            while exists("%s/TSE_TAR.%03d" % (mount_point, len(self._store) + 1)):
                self._store.append(self._open(direct, mount_point, "TSE_TAR.%03d" % (len(self._store) + 1)))
            if not self._store:
                raise OSError("TSE_TAR.001 not found in %s" % mount_point)
            self.store_blocks = self._store[0].size // SECTOR
        except Exception:
            self.close()
            raise

    def _open(self, direct, mount_point, name):
        f = direct(mount_point + "/" + name)
        self.files.append(f)
        return f

    def read_comm(self, buf):
        self._comm.read(buf)

    def read_info(self, buf):
        self._info.read(buf)

    def write_comm(self, buf):
        self._comm.write(buf, 0)

    def write_store(self, block, data):
        index, first = store_place(block, self.store_blocks, len(self._store))
        self._store[index].write(data, first * SECTOR)

    def close(self):
        for f in self.files:
            f.close()
        self.files = []
