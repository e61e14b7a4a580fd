"""The microSD TSE's file mailbox, sans-I/O: blocks in, events out.

Theory of operation
-------------------
The card's FAT volume holds three kinds of special file (see docs/tse.md):

- ``TSE_COMM.DAT``: one 512-byte block, the command/response mailbox;
- ``TSE_INFO.DAT``: one 512-byte status block that the card rewrites after each command;
- ``TSE_TAR.001``, ``TSE_TAR.002``...: the data store. processData does not travel
  through the mailbox: the card assigns a block of the store, the host writes the data there.

A command is one request block written to ``TSE_COMM.DAT``::

    u16be length || u8 code || 00 || parameters || zero padding to 512

after which the host re-reads the block until the card has answered::

    u32be counter || u8 state || u16be length || payload

``state`` is ``0xF3`` busy (read again later), ``0xFD`` a part of a longer answer (payload =
``length`` bytes of data; write ``83 00`` to fetch the next part), or ``0xFF`` done (payload =
``length - 2`` bytes of data followed by the u16be command status, 0 = OK). ``counter`` grows
by one with every answer, so a block whose counter has not moved is still the old one.

``Exchange`` is the state machine of one command. The host-side I/O (``tse_sd.client``) and
the card emulator (``tools/sim/tse``) both use the encoders here.

Numbered invariants:

1. A request never exceeds one block; an over-long parameter is our bug (``by_peer=False``).
2. A response whose length field overruns the block, or whose state byte is unknown, is the
   card's fault (``by_peer=True``) and changes nothing on the host.
3. Parts of a multi-part answer are delivered in order, and only once.
"""

import struct

from micropython import const
from tse_sd.errors import TseProtocolError

BLOCK = const(512)
_ZEROS = memoryview(bytes(BLOCK))
_HEADER = const(7)  # counter(4) + state(1) + length(2)
MAX_DATA = const(503)  # BLOCK - header - command status

# Command codes (first byte of the command; the second byte is 00). Codes marked "ours" are
# assignments of this project: the public reverse-engineering does not name them.
CMD_LOGIN = const(0x20)
CMD_LOGOUT = const(0x21)  # ours
CMD_UNBLOCK = const(0x22)  # ours
CMD_CHANGE_PUK = const(0x23)
CMD_CHANGE_PIN = const(0x24)  # ours
CMD_SELF_TEST = const(0x40)
CMD_REGISTER_CLIENT = const(0x41)
CMD_DEREGISTER_CLIENT = const(0x42)
CMD_LIST_CLIENTS = const(0x43)
CMD_CTSS_ENABLE = const(0x60)
CMD_CTSS_DISABLE = const(0x61)
CMD_INITIALIZE = const(0x70)
CMD_DECOMMISSION = const(0x71)  # ours
CMD_UPDATE_TIME = const(0x80)
CMD_FETCH_MORE = const(0x83)
CMD_LIST_STARTED = const(0x85)
CMD_READ_CERTIFICATE = const(0x86)
CMD_EXPORT_TAR = const(0x87)  # ours
CMD_DELETE_STORED_DATA = const(0x88)  # ours
CMD_OPEN_TRANSACTION = const(0x90)
CMD_CLOSE_TRANSACTION = const(0x95)
CMD_LAST_RESPONSE = const(0x96)  # ours

STATE_BUSY = const(0xF3)
STATE_MORE = const(0xFD)
STATE_DONE = const(0xFF)

# Users of login/logout/change-PIN/unblock (WormUserId).
USER_ADMIN = const(1)
USER_TIME_ADMIN = const(2)

# Transaction events of CMD_OPEN_TRANSACTION.
EVENT_START = const(0)
EVENT_UPDATE = const(1)
EVENT_FINISH = const(2)

# Export filters of CMD_EXPORT_TAR (ours).
EXPORT_ALL = const(0)
EXPORT_TIME = const(1)
EXPORT_TRANSACTIONS = const(2)
EXPORT_SIGNATURES = const(3)  # incremental: every log from signature counter ``first`` on

# Exchange.feed results.
WAIT = const(0)  # nothing new: read the block again (after a pause)
FETCH = const(1)  # a part arrived: send CMD_FETCH_MORE, then keep reading
DONE = const(2)  # the answer is complete: .data and .status

CLIENT_ID_MAX = const(30)  # Swissbit keeps client ids in char[31]
CLIENT_ENTRY = const(32)  # bytes per id in a client-list answer
CLIENTS_PER_PAGE = const(16)
STARTED_PER_PAGE = const(62)


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


def lv(data, what="parameter"):
    """A u8-length-prefixed field."""
    if isinstance(data, str):
        data = data.encode()
    if len(data) > 255:
        raise TseProtocolError("%s longer than 255 bytes" % what, by_peer=False)
    return bytes((len(data),)) + data


def client_id(cid):
    """A client id as bytes, checked: 1..30 printable ASCII characters."""
    raw = cid.encode() if isinstance(cid, str) else bytes(cid)
    if not 1 <= len(raw) <= CLIENT_ID_MAX or any(b < 0x20 or b > 0x7E for b in raw):
        raise ValueError("client id must be 1..%d printable ASCII characters: %r" % (CLIENT_ID_MAX, cid))
    return raw


def encode_request(buf, code, params=b""):
    """Write a request block for command ``code`` into ``buf`` (512 bytes, reused)."""
    n = 2 + len(params)
    if n > BLOCK - 2:
        raise TseProtocolError(
            "command 0x%02X with %d parameter bytes does not fit a block" % (code, len(params)), False
        )
    buf[0] = n >> 8
    buf[1] = n & 0xFF
    buf[2] = code
    buf[3] = 0
    end = 4 + len(params)
    buf[4:end] = params
    buf[end:BLOCK] = _ZEROS[end:]
    return buf


def decode_request(block):
    """``(code, params)`` of a request block; the card side of ``encode_request``."""
    n = (block[0] << 8) | block[1]
    if n < 2 or n > BLOCK - 2 or block[3] != 0:
        raise TseProtocolError("malformed request block (length %d)" % n)
    return block[2], bytes(block[4 : 2 + n])


def encode_response(buf, counter, state, data=b"", status=0):
    """Write a response block (the card side): busy, a part (``STATE_MORE``) or done."""
    struct.pack_into(">IB", buf, 0, counter, state)
    if state == STATE_BUSY:
        n, end = 0, _HEADER
    elif state == STATE_MORE:
        n, end = len(data), _HEADER + len(data)
    else:
        n, end = len(data) + 2, _HEADER + len(data) + 2
    if end > BLOCK:
        raise TseProtocolError("response of %d bytes does not fit a block" % len(data), False)
    struct.pack_into(">H", buf, 5, n)
    buf[_HEADER : _HEADER + len(data)] = data
    if state == STATE_DONE:
        struct.pack_into(">H", buf, end - 2, status)
    buf[end:BLOCK] = _ZEROS[end:]
    return buf


def response_counter(block):
    return struct.unpack_from(">I", block, 0)[0]


class Exchange:
    """One command's answer, assembled from the blocks the host reads back.

    ex = Exchange(last_counter)
    while True:
        r = ex.feed(read_comm_block())
        if r == DONE: return ex.status, ex.data
        if r == FETCH: write_request(CMD_FETCH_MORE)
        ... pause on WAIT ...
    """

    def __init__(self, last_counter, sink=None):
        self.counter = last_counter
        self.sink = sink  # if given, each part goes there at once instead of into .data
        self.parts = []
        self.data = b""
        self.status = None

    def _part(self, data):
        if self.sink is not None:
            if data:
                self.sink(data)
        else:
            self.parts.append(data)

    def feed(self, block):
        counter = response_counter(block)
        state = block[4]
        if state == STATE_BUSY or counter == self.counter:
            return WAIT  # still working, or the block has not changed since the last answer
        n = (block[5] << 8) | block[6]
        if state == STATE_MORE:
            if n > BLOCK - _HEADER:
                raise TseProtocolError("part length %d overruns the block" % n)
            self.counter = counter
            self._part(bytes(block[_HEADER : _HEADER + n]))
            return FETCH
        if state != STATE_DONE:
            raise TseProtocolError("unknown mailbox state 0x%02X" % state)
        if n < 2 or n > BLOCK - _HEADER:
            raise TseProtocolError("response length %d out of range" % n)
        self.counter = counter
        self.status = (block[_HEADER + n - 2] << 8) | block[_HEADER + n - 1]
        last = bytes(block[_HEADER : _HEADER + n - 2])
        if self.status:  # an error's data (retries left...) never goes to the sink
            self.data = last
        else:
            self._part(last)
            self.data = b"".join(self.parts)
        self.parts = []
        return DONE


# --- parameters of each command -------------------------------------------------------


def login_params(user, pin):
    return bytes((user,)) + lv(pin, "PIN")


def change_puk_params(old_puk, new_puk):
    return lv(old_puk, "PUK") + lv(new_puk, "PUK")


def change_pin_params(user, old_pin, new_pin):
    return bytes((user,)) + lv(old_pin, "PIN") + lv(new_pin, "PIN")


def unblock_params(user, puk, new_pin):
    return bytes((user,)) + lv(puk, "PUK") + lv(new_pin, "PIN")


def open_transaction_params(event, cid, number, data_len, process_type):
    """``90 00``: event, client id, transaction number (0 for Start), processData length,
    processType (its length as u64, then the text), and a trailing u64 0 (reserved)."""
    ptype = process_type.encode() if isinstance(process_type, str) else process_type
    if len(ptype) > 100:
        raise ValueError("processType longer than 100 characters")
    return (
        bytes((event,))
        + lv(client_id(cid), "client id")
        + u64(number)
        + u64(data_len)
        + u64(len(ptype))
        + ptype
        + u64(0)
    )


def export_params(kind=EXPORT_ALL, first=0, last=0, cid=b""):
    """``87 00``: filter kind, range (unix seconds or transaction numbers), client id or empty."""
    return bytes((kind,)) + u64(first) + u64(last) + lv(client_id(cid) if cid else b"", "client id")


# --- answers --------------------------------------------------------------------------


def _need(data, n, what):
    if len(data) < n:
        raise TseProtocolError("%s answer of %d bytes, expected at least %d" % (what, len(data), n))


def parse_u64(data, what="number"):
    _need(data, 8, what)
    return struct.unpack_from(">Q", data, 0)[0]


def parse_open(data):
    """The store block the host must write processData to."""
    return parse_u64(data, "open-transaction")


class TransactionResult:
    """What ``95 00`` (close transaction) answers: everything a receipt needs from the TSE."""

    def __init__(self, number, serial, log_time, signature_counter, signature):
        self.number = number
        self.serial = serial
        self.log_time = log_time
        self.signature_counter = signature_counter
        self.signature = signature


def parse_close(data):
    """``u64 number, 32-byte serial, u64 logTime, u64 signatureCounter, u64 sigLen, sig``."""
    _need(data, 64, "close-transaction")
    (number,) = struct.unpack_from(">Q", data, 0)
    serial = bytes(data[8:40])
    log_time, counter, sig_len = struct.unpack_from(">QQQ", data, 40)
    if sig_len > 132 or len(data) != 64 + sig_len:
        raise TseProtocolError(
            "close-transaction signature length %d does not match %d bytes" % (sig_len, len(data))
        )
    return TransactionResult(number, serial, log_time, counter, bytes(data[64:]))


def encode_close(number, serial, log_time, signature_counter, signature):
    """The card side of ``parse_close``."""
    return (
        u64(number)
        + bytes(serial)
        + struct.pack(">QQQ", log_time, signature_counter, len(signature))
        + signature
    )


def parse_client_page(data):
    """``u8 n`` then n NUL-padded 32-byte ids."""
    _need(data, 1, "client list")
    n = data[0]
    if len(data) != 1 + n * CLIENT_ENTRY or n > CLIENTS_PER_PAGE:
        raise TseProtocolError("client list of %d entries in %d bytes" % (n, len(data)))
    out = []
    for i in range(n):
        raw = data[1 + i * CLIENT_ENTRY : 1 + (i + 1) * CLIENT_ENTRY]
        end = raw.find(b"\0")
        out.append(bytes(raw[: end if end >= 0 else CLIENT_ENTRY]).decode())
    return out


def parse_started_page(data):
    """``u8 n`` then n u64 transaction numbers."""
    _need(data, 1, "started-transaction list")
    n = data[0]
    if len(data) != 1 + 8 * n or n > STARTED_PER_PAGE:
        raise TseProtocolError("started list of %d entries in %d bytes" % (n, len(data)))
    return [struct.unpack_from(">Q", data, 1 + 8 * i)[0] for i in range(n)]


# --- TSE_INFO.DAT ---------------------------------------------------------------------

# Offsets of the status block (big-endian). Swissbit offsets from public reverse
# engineering, plus fields of ours in gaps of that layout (marked; see docs/tse.md).
INFO_SIZE = const(0x18)
INFO_FLAGS = const(0x1C)  # bit0 hasValidTime, bit1 hasPassedSelfTest, bit2 CTSS active (ours)
INFO_INIT_STATE = const(0x1D)
INFO_TX_IN_PROGRESS = const(0x1E)
INFO_CHANGED = const(0x20)  # bit0 PUK, bit1 admin PIN, bit2 time-admin PIN
INFO_NEXT_SELF_TEST = const(0x24)
INFO_STARTED = const(0x28)  # ours
INFO_MAX_STARTED = const(0x2C)  # ours
INFO_SIGNATURES = const(0x30)
INFO_MAX_SIGNATURES = const(0x34)
INFO_CLIENTS = const(0x38)
INFO_MAX_CLIENTS = const(0x3C)
INFO_CERT_EXPIRY = const(0x40)  # u64
INFO_TAR_SIZE = const(0x48)  # u64
INFO_CAPACITY = const(0x50)  # ours: store capacity in 512-byte sectors
INFO_SOFTWARE = const(0x54)
INFO_MAX_SYNC_DELAY = const(0x58)  # ours
INFO_MAX_UPDATE_DELAY = const(0x5C)  # ours
INFO_KEY_LEN = const(0x6A)
INFO_KEY = const(0x6B)
INFO_NEXT_SYNC = const(0xD0)
INFO_SERIAL = const(0x100)
INFO_DESCRIPTION = const(0x120)

STATE_UNINITIALIZED = const(0)
STATE_INITIALIZED = const(1)
STATE_DECOMMISSIONED = const(2)


class TseInfo:
    """The decoded ``TSE_INFO.DAT``. Times are seconds; sizes are bytes unless named sectors."""

    def __init__(self, block):
        if len(block) != BLOCK:
            raise TseProtocolError("TSE_INFO.DAT block of %d bytes" % len(block))

        def u32_at(off):
            return struct.unpack_from(">I", block, off)[0]

        flags = block[INFO_FLAGS]
        changed = block[INFO_CHANGED]
        self.has_valid_time = bool(flags & 1)
        self.has_passed_self_test = bool(flags & 2)
        self.ctss_active = bool(flags & 4)
        self.initialization_state = block[INFO_INIT_STATE]
        if self.initialization_state > STATE_DECOMMISSIONED:
            raise TseProtocolError("TSE_INFO.DAT initialization state %d" % self.initialization_state)
        self.transaction_in_progress = block[INFO_TX_IN_PROGRESS] != 0
        self.changed_puk = bool(changed & 1)
        self.changed_admin_pin = bool(changed & 2)
        self.changed_time_admin_pin = bool(changed & 4)
        self.time_until_next_self_test = u32_at(INFO_NEXT_SELF_TEST)
        self.started_transactions = u32_at(INFO_STARTED)
        self.max_started_transactions = u32_at(INFO_MAX_STARTED)
        self.created_signatures = u32_at(INFO_SIGNATURES)
        self.max_signatures = u32_at(INFO_MAX_SIGNATURES)
        self.registered_clients = u32_at(INFO_CLIENTS)
        self.max_registered_clients = u32_at(INFO_MAX_CLIENTS)
        self.certificate_expiration = struct.unpack_from(">Q", block, INFO_CERT_EXPIRY)[0]
        self.tar_export_size = struct.unpack_from(">Q", block, INFO_TAR_SIZE)[0]
        self.capacity_sectors = u32_at(INFO_CAPACITY)
        self.software_version = u32_at(INFO_SOFTWARE)
        self.max_time_sync_delay = u32_at(INFO_MAX_SYNC_DELAY)
        self.max_update_delay = u32_at(INFO_MAX_UPDATE_DELAY)
        self.time_until_next_time_sync = u32_at(INFO_NEXT_SYNC)
        key_len = block[INFO_KEY_LEN]
        if key_len > INFO_NEXT_SYNC - INFO_KEY:
            raise TseProtocolError("TSE_INFO.DAT public key length %d" % key_len)
        self.public_key = bytes(block[INFO_KEY : INFO_KEY + key_len])
        self.serial = bytes(block[INFO_SERIAL : INFO_SERIAL + 32])
        desc = bytes(block[INFO_DESCRIPTION:])
        end = desc.find(b"\0")
        self.description = desc[: end if end >= 0 else len(desc)].decode()

    @property
    def remaining_signatures(self):
        return max(0, self.max_signatures - self.created_signatures)
