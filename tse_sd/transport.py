"""The card's mailbox files over a block device: MicroPython boards and the NBD simulator.

    transport = BlockTransport(machine.SDCard(slot=2))     # a board
    transport = BlockTransport(NbdBlockDevice.connect())   # the host simulator, both runtimes

A transport moves 512-byte blocks of the three kinds of file and nothing else; the mailbox
protocol is in ``tse_sd.protocol``, the SE-API in ``tse_sd.client``. The same four methods
are offered by ``hal.linux.tse_file.FileTransport`` (files opened with O_DIRECT on a mounted
card). I/O errors are ``OSError``; the client turns them into ``TseUnavailable``.
"""

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
