"""The microSD TSE on embedded Linux: the mailbox files of the mounted card, opened with
``O_DIRECT | O_SYNC`` so that every read and write reaches the card (CPython only).

    mount = find_card()                        # the mount point whose root has TSE_COMM.DAT
    client = TseClient(lambda: FileTransport(mount), clock)

The page cache must never answer for the card: a cached read of ``TSE_COMM.DAT`` would show
the host its own command instead of the card's answer. ``O_DIRECT`` needs buffers, lengths and
offsets aligned to the device's logical block (512 bytes), so the transport does all I/O
through page-aligned ``mmap`` buffers. A file system that refuses direct I/O is an error
here, not something to work around with cached I/O. Same four methods as
``tse_sd.transport.BlockTransport``.
"""

import mmap
import os

from tse_sd.transport import store_place

BLOCK = 512
_FLAGS = os.O_RDWR | os.O_SYNC | os.O_DIRECT


def find_card(mounts="/proc/mounts"):
    """The mount point of the TSE card: the first mounted file system with ``TSE_COMM.DAT``."""
    with open(mounts) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 2:
                point = fields[1].replace("\\040", " ")
                if os.path.exists(os.path.join(point, "TSE_COMM.DAT")):
                    return point
    raise OSError("no mounted TSE card (no file system with TSE_COMM.DAT in %s)" % mounts)


class FileTransport:
    def __init__(self, mount_point):
        self._fds = []
        try:
            self._comm = self._open(mount_point, "TSE_COMM.DAT")
            self._info = self._open(mount_point, "TSE_INFO.DAT")
            self._store = []
            while os.path.exists(os.path.join(mount_point, "TSE_TAR.%03d" % (len(self._store) + 1))):
                self._store.append(self._open(mount_point, "TSE_TAR.%03d" % (len(self._store) + 1)))
            if not self._store:
                raise OSError("TSE_TAR.001 not found in %s" % mount_point)
            self.store_blocks = os.fstat(self._store[0]).st_size // BLOCK
        except Exception:
            self.close()
            raise
        self._block = mmap.mmap(-1, BLOCK)

    def _open(self, mount_point, name):
        path = os.path.join(mount_point, name)
        try:
            fd = os.open(path, _FLAGS)
        except OSError as e:
            raise OSError(e.errno, "cannot open %s with O_DIRECT|O_SYNC: %s" % (path, e.strerror))
        self._fds.append(fd)
        return fd

    def _read(self, fd, buf):
        if os.preadv(fd, [self._block], 0) != BLOCK:
            raise OSError("short read from the TSE card")
        buf[:BLOCK] = self._block

    def read_comm(self, buf):
        self._read(self._comm, buf)

    def read_info(self, buf):
        self._read(self._info, buf)

    def write_comm(self, buf):
        self._block[:] = bytes(buf)
        if os.pwritev(self._comm, [self._block], 0) != BLOCK:
            raise OSError("short write to the TSE card")

    def write_store(self, block, data):
        index, first = store_place(block, self.store_blocks, len(self._store))
        aligned = mmap.mmap(-1, len(data))
        aligned[:] = bytes(data)
        try:
            if os.pwritev(self._store[index], [aligned], first * BLOCK) != len(data):
                raise OSError("short write to the TSE store")
        finally:
            aligned.close()

    def close(self):
        for fd in self._fds:
            os.close(fd)
        self._fds = []


def create(s, board):
    """Board driver ``file-tse``: the microSD TSE mounted by Linux (``mount`` or found in
    /proc/mounts). Returns the transport opener for ``TseClient``."""
    mount = s.entry.get("mount")
    return lambda: FileTransport(mount or find_card())
