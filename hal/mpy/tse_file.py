"""The microSD TSE on embedded Linux under MicroPython's unix port: the mounted card's files
opened with ``O_DIRECT | O_SYNC`` through ``ffi`` to libc (the unix port's ``open`` takes no
flags), the twin of CPython's ``hal.linux.tse_file``.

    client = TseClient(lambda: FileTransport("/mnt/tse", DirectFile), clock)

Direct I/O needs the buffer in memory aligned to the device's logical block, which no
MicroPython object guarantees, so each file gets a page-aligned block from libc's
``aligned_alloc`` (seen as a bytearray with ``uctypes.bytearray_at``), freed on ``close()``.
``O_DIRECT``'s value depends on the CPU architecture (0o200000 on arm64, 0o40000 on x86_64):
it is looked up by ``uname``'s machine, and an unknown machine is an error, not a guess.
"""

import errno
import os

import ffi
import uctypes

from core.errors import DeviceError
from tse_sd.transport import SECTOR, FileTransport, find_card

_PAGE = 4096
_O_RDWR = 0o2
_O_SYNC = 0o4010000  # the same on every Linux architecture
_O_DIRECT = {"aarch64": 0o200000, "armv7l": 0o200000, "armv8l": 0o200000, "x86_64": 0o40000}
_O_DIRECT.update({"i686": 0o40000, "riscv64": 0o40000})

_libc = None


class _Libc:
    def __init__(self):
        lib = ffi.open("libc.so.6")
        self.open = lib.func("i", "open", "si")
        self.close = lib.func("i", "close", "i")
        self.pread = lib.func("l", "pread", "ipll")
        self.pwrite = lib.func("l", "pwrite", "ipll")
        self.aligned_alloc = lib.func("p", "aligned_alloc", "ll")
        self.free = lib.func("v", "free", "p")
        self._errno = lib.func("p", "__errno_location", "")
        uname = lib.func("i", "uname", "p")
        buf = bytearray(6 * 65)  # struct utsname: six 65-byte strings, the machine fifth
        if uname(buf):
            raise DeviceError("uname failed")
        machine = bytes(buf[260:325]).split(b"\0")[0].decode()
        if machine not in _O_DIRECT:
            raise DeviceError("O_DIRECT is not known for machine %r" % machine)
        self.flags = _O_RDWR | _O_SYNC | _O_DIRECT[machine]

    def error(self, what):
        code = int.from_bytes(uctypes.bytearray_at(self._errno(), 4), "little")
        return OSError(code, "%s: %s" % (what, errno.errorcode.get(code, "errno %d" % code)))


def libc():
    global _libc
    if _libc is None:
        _libc = _Libc()
    return _libc


class DirectFile:
    def __init__(self, path):
        self._c = c = libc()
        self.fd = c.open(path, c.flags)
        if self.fd < 0:
            raise c.error("cannot open %s with O_DIRECT|O_SYNC" % path)
        self._buf = 0  # the page-aligned buffer's address, and its size
        self._capacity = 0
        try:
            self.size = os.stat(path)[6]
        except OSError:
            self.close()
            raise

    def _aligned(self, n):
        """A page-aligned buffer of at least ``n`` bytes, kept for the next call."""
        if n > self._capacity:
            if self._buf:
                self._c.free(self._buf)
            capacity = (n + _PAGE - 1) // _PAGE * _PAGE
            self._buf = self._c.aligned_alloc(_PAGE, capacity)
            if not self._buf:
                self._capacity = 0
                raise OSError(errno.ENOMEM, "no aligned buffer for the TSE card")
            self._capacity = capacity
        return uctypes.bytearray_at(self._buf, n)

    def read(self, buf):
        block = self._aligned(SECTOR)
        got = self._c.pread(self.fd, self._buf, SECTOR, 0)
        if got < 0:
            raise self._c.error("TSE card read")
        if got != SECTOR:
            raise OSError("short read from the TSE card")
        buf[:SECTOR] = block

    def write(self, data, offset):
        self._aligned(len(data))[:] = data
        done = self._c.pwrite(self.fd, self._buf, len(data), offset)
        if done < 0:
            raise self._c.error("TSE card write")
        if done != len(data):
            raise OSError("short write to the TSE card")

    def close(self):
        if self.fd >= 0:
            self._c.close(self.fd)
            self.fd = -1
        if self._buf:
            self._c.free(self._buf)
            self._buf = self._capacity = 0


def create(s, board):
    """Board driver ``ffi-file-tse``: the microSD TSE mounted by Linux (``mount`` or found in
    /proc/mounts), on MicroPython. Returns the transport opener for ``TseClient``."""
    mount = s.entry.get("mount")
    return lambda: FileTransport(mount or find_card(), DirectFile)
