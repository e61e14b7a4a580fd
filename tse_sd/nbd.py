"""NBD (Network Block Device) client: the simulator's TSE card as a block device.

    dev = NbdBlockDevice.connect("127.0.0.1", 10809, "tse")   # or unix_path="/run/tse.sock"
    vol = FatVolume(dev)          # the same code path as machine.SDCard on a board
    dev.close()

Implements the fixed-newstyle handshake with ``NBD_OPT_GO`` and the transmission phase with
simple replies: READ, WRITE, FLUSH, DISC (NBD protocol, doc/proto.md of the NBD project).
The block device protocol is MicroPython's (``readblocks``/``writeblocks``/``ioctl``), so
``tse_sd.transport.BlockTransport`` cannot tell this from an SD card. Runs on MicroPython
and CPython. The codec functions and constants below are shared with the card emulator's
server (``tools/sim/nbd.py``), which plays the other role.

A dropped connection or a server error is ``OSError``: to the TSE driver, a pulled card.
"""

import socket
import struct
import sys

from micropython import const

NBDMAGIC = b"NBDMAGIC"
IHAVEOPT = b"IHAVEOPT"
OPT_REPLY_MAGIC = const(0x3E889045565A9)
REQUEST_MAGIC = const(0x25609513)
SIMPLE_REPLY_MAGIC = const(0x67446698)

FLAG_FIXED_NEWSTYLE = const(1)
FLAG_NO_ZEROES = const(2)

OPT_EXPORT_NAME = const(1)
OPT_ABORT = const(2)
OPT_LIST = const(3)
OPT_GO = const(7)

REP_ACK = const(1)
REP_SERVER = const(2)
REP_INFO = const(3)
REP_ERR_UNSUP = const(0x80000001)
REP_ERR_INVALID = const(0x80000003)
REP_ERR_UNKNOWN = const(0x80000006)
INFO_EXPORT = const(0)

TFLAG_HAS_FLAGS = const(1)
TFLAG_SEND_FLUSH = const(4)

CMD_READ = const(0)
CMD_WRITE = const(1)
CMD_DISC = const(2)
CMD_FLUSH = const(3)

EIO = const(5)
EINVAL = const(22)

_REQ = ">IHHQQI"  # magic, flags, type, cookie, offset, length: 28 bytes
_REPLY = ">IIQ"  # magic, error, cookie: 16 bytes


def encode_request(buf, kind, cookie, offset, length):
    struct.pack_into(_REQ, buf, 0, REQUEST_MAGIC, 0, kind, cookie, offset, length)
    return 28


def decode_request(header):
    """``(flags, type, cookie, offset, length)`` of a 28-byte request header."""
    magic, flags, kind, cookie, offset, length = struct.unpack(_REQ, header)
    if magic != REQUEST_MAGIC:
        raise OSError("NBD: bad request magic 0x%08X" % magic)
    return flags, kind, cookie, offset, length


def encode_reply(error, cookie):
    return struct.pack(_REPLY, SIMPLE_REPLY_MAGIC, error, cookie)


def encode_option(option, data=b""):
    return IHAVEOPT + struct.pack(">II", option, len(data)) + data


def encode_option_reply(option, kind, data=b""):
    return struct.pack(">QIII", OPT_REPLY_MAGIC, option, kind, len(data)) + data


def go_data(name):
    """``NBD_OPT_GO`` payload: the export name, no information requests."""
    raw = name.encode()
    return struct.pack(">I", len(raw)) + raw + struct.pack(">H", 0)


def _unix_address(path):
    # CPython's socket.connect takes the path; MicroPython's takes a raw sockaddr_un.
    if sys.implementation.name == "micropython":
        return struct.pack("H", socket.AF_UNIX) + path.encode() + b"\0"
    return path


class NbdBlockDevice:
    """A block device served over NBD, with 512-byte blocks."""

    def __init__(self, sock, size):
        self._sock = sock
        self.size = size
        self._cookie = 0
        self._header = bytearray(28 + 512)
        self._reply = bytearray(16)
        self._reply_mv = memoryview(self._reply)

    @classmethod
    def connect(cls, host="127.0.0.1", port=10809, name="tse", unix_path=None, timeout=10):
        if unix_path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address = _unix_address(unix_path)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = socket.getaddrinfo(host, port)[0][-1]
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            if not unix_path:
                try:
                    sock.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY: one block per round trip
                except OSError:
                    pass
            size = cls._handshake(sock, name)
        except Exception:
            sock.close()
            raise
        return cls(sock, size)

    @staticmethod
    def _handshake(sock, name):
        hello = _recv_exact(sock, 18)
        if hello[:8] != NBDMAGIC or hello[8:16] != IHAVEOPT:
            raise OSError("NBD: the server does not speak the newstyle protocol")
        flags = struct.unpack(">H", hello[16:18])[0]
        if not flags & FLAG_FIXED_NEWSTYLE:
            raise OSError("NBD: the server is not fixed-newstyle")
        sock.sendall(struct.pack(">I", FLAG_FIXED_NEWSTYLE | (flags & FLAG_NO_ZEROES)))
        sock.sendall(encode_option(OPT_GO, go_data(name)))
        size = None
        while True:
            magic, option, kind, length = struct.unpack(">QIII", _recv_exact(sock, 20))
            data = _recv_exact(sock, length) if length else b""
            if magic != OPT_REPLY_MAGIC or option != OPT_GO:
                raise OSError("NBD: unexpected option reply")
            if kind == REP_INFO and len(data) >= 12 and struct.unpack(">H", data[:2])[0] == INFO_EXPORT:
                size = struct.unpack(">Q", data[2:10])[0]
            elif kind == REP_ACK:
                if size is None:
                    raise OSError("NBD: the server did not tell the export size")
                return size
            elif kind & 0x80000000:
                raise OSError("NBD: export %r refused (error 0x%08X)" % (name, kind))

    def _request(self, kind, offset, length, data=None):
        """Send one request (with the data of a write) and check its reply header."""
        self._cookie += 1
        encode_request(self._header, kind, self._cookie, offset, length)
        if data is not None and len(data) <= 512:  # header and data in one segment
            self._header[28 : 28 + len(data)] = data
            self._sock.sendall(memoryview(self._header)[: 28 + len(data)])
        else:
            self._sock.sendall(memoryview(self._header)[:28])
            if data is not None:
                self._sock.sendall(data)
        _recv_into(self._sock, self._reply_mv, 16)
        magic, error, cookie = struct.unpack(_REPLY, self._reply)
        if magic != SIMPLE_REPLY_MAGIC or cookie != self._cookie:
            raise OSError("NBD: reply out of step (magic 0x%08X, cookie %d)" % (magic, cookie))
        if error:
            raise OSError(error, "NBD: server error %d at offset %d" % (error, offset))

    def readblocks(self, block, buf):
        self._request(CMD_READ, block * 512, len(buf))
        _recv_into(self._sock, memoryview(buf), len(buf))

    def writeblocks(self, block, buf):
        self._request(CMD_WRITE, block * 512, len(buf), buf)

    def ioctl(self, op, arg):
        if op == 3:  # sync
            self._request(CMD_FLUSH, 0, 0)
            return 0
        if op == 4:  # number of blocks
            return self.size // 512
        if op == 5:  # block size
            return 512
        return None

    def close(self):
        try:
            self._sock.sendall(struct.pack(_REQ, REQUEST_MAGIC, 0, CMD_DISC, 0, 0, 0))
        except OSError:
            pass
        self._sock.close()


def _recv_exact(sock, n):
    buf = bytearray(n)
    _recv_into(sock, memoryview(buf), n)
    return bytes(buf)


def _recv_into(sock, mv, n):
    got = 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            raise OSError("NBD: connection closed by the server")
        mv[got : got + len(chunk)] = chunk
        got += len(chunk)


def create(s, board):
    """Board driver ``nbd-tse``: the simulator's TSE card. Returns the transport opener the
    ``TseClient`` calls (again after a pulled card)."""
    from tse_sd.transport import BlockTransport

    host, port, name = s.str("host", "127.0.0.1"), s.int("port", 10809, 1, 65535), s.str("export", "tse")
    return lambda: BlockTransport(NbdBlockDevice.connect(host, port, name))
