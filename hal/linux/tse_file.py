"""The microSD TSE on embedded Linux under CPython: the mounted card's files opened with
``O_DIRECT | O_SYNC`` so that every read and write reaches the card.

    client = TseClient(lambda: FileTransport(find_card(), DirectFile), clock)

The page cache must never answer for the card: a cached read of ``TSE_COMM.DAT`` would show
the host its own command instead of the card's answer. ``O_DIRECT`` needs buffers, lengths and
offsets aligned to the device's logical block (512 bytes), so all I/O goes through
page-aligned ``mmap`` buffers. A file system that refuses direct I/O is an error here, not
something to work around with cached I/O. ``tse_sd.transport.FileTransport`` does the rest
(which file, which block); MicroPython's twin is ``hal.mpy.tse_file``.
"""

import mmap
import os

from tse_sd.transport import SECTOR, FileTransport, find_card

_FLAGS = os.O_RDWR | os.O_SYNC | os.O_DIRECT


class DirectFile:
    def __init__(self, path):
        try:
            self.fd = os.open(path, _FLAGS)
        except OSError as e:
            raise OSError(e.errno, "cannot open %s with O_DIRECT|O_SYNC: %s" % (path, e.strerror))
        self.size = os.fstat(self.fd).st_size
        self._block = mmap.mmap(-1, SECTOR)  # the mailbox block's buffer, polled often

    def read(self, buf):
        if os.preadv(self.fd, [self._block], 0) != SECTOR:
            raise OSError("short read from the TSE card")
        buf[:SECTOR] = self._block

    def write(self, data, offset):
        aligned = self._block if len(data) == SECTOR else mmap.mmap(-1, len(data))
        try:
            aligned[:] = bytes(data)
            if os.pwritev(self.fd, [aligned], offset) != len(data):
                raise OSError("short write to the TSE card")
        finally:
            if aligned is not self._block:
                aligned.close()

    def close(self):
        os.close(self.fd)
        self._block.close()


def create(s, board):
    """Board driver ``file-tse``: the microSD TSE mounted by Linux (``mount`` or found in
    /proc/mounts). Returns the transport opener for ``TseClient``."""
    mount = s.entry.get("mount")
    return lambda: FileTransport(mount or find_card(), DirectFile)
