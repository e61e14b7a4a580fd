"""The emulated TSE's controller: TR-03151 semantics behind the mailbox commands.

    card = TseCard.manufacture("/tmp/card", clock=clock)   # new card: key, chain, image
    status, data = card.execute(CMD_LOGIN, params)          # what the mailbox does per command

Rules it enforces (the numbers are the WORM status codes of tse_sd.errors):

- life cycle: uninitialised -> initialised -> decommissioned (NOT_INITIALIZED,
  ALREADY_INITIALIZED, DECOMMISSIONED); set-up needs the PUK changed first (NEEDS_PUK_CHANGE),
  then both PINs (NEEDS_PIN_CHANGE);
- users: admin and time-admin, 3 PIN tries (PIN_BLOCKED), PUK unblock with 10 tries; logins
  end at power-off; admin commands need the admin (USER_NOT_LOGGED_IN);
- signing needs: initialised, the signing interface (CTSS) on, a valid time (set within the
  maximum synchronisation delay), a passed self-test (after power-up and every 25 h), a
  registered client, an unexpired certificate, signatures and store space left;
- one signature counter over transaction, system and audit logs, incremented before each
  signature; transaction numbers given at Start, global to the card; at most
  ``max_started`` open transactions; Update/Finish only of an open transaction of that client;
- system logs for admin operations (authenticateUser, logOut, unblockUser, updateTime,
  registerClient, deregisterClient, selfTest, initialize, deleteStoredData,
  disableSecureElement), an audit log at every power-up;
- deleteStoredData only after a gapless export of everything stored (whole, or incremental from
  the first log not yet exported) and with no open transaction.

Faults (``card.faults``): see ``Faults``. ``PowerLoss`` is raised *after* a log is stored,
for the server to drop the host's link and power-cycle the card.
"""

import hashlib
import json
import os
import struct
import time

from hal.clock import SystemClock
from tools.sim.tse import der, pki, tar
from tools.sim.tse.store import KIND_AUDIT, KIND_SYSTEM, KIND_TRANSACTION, CardState, LogRecord, LogStore
from tse_sd import protocol as p
from tse_sd.client import initial_credentials
from tse_sd.errors import STATUS

# The card's status codes, by their WORM names: the one table is the driver's (tse_sd.errors).
OK = 0
UNKNOWN = STATUS["UNKNOWN"]
NO_TIME_SET = STATUS["NO_TIME_SET"]
NO_TRANSACTION_IN_PROGRESS = STATUS["NO_TRANSACTION_IN_PROGRESS"]
INVALID_CMD_SYNTAX = STATUS["INVALID_CMD_SYNTAX"]
NOT_ENOUGH_DATA_WRITTEN = STATUS["NOT_ENOUGH_DATA_WRITTEN"]
INVALID_PARAMETER = STATUS["TSE_INVALID_PARAMETER"]
TRANSACTION_NOT_STARTED = STATUS["TRANSACTION_NOT_STARTED"]
MAX_PARALLEL_TRANSACTIONS = STATUS["MAX_PARALLEL_TRANSACTIONS"]
CERTIFICATE_EXPIRED = STATUS["CERTIFICATE_EXPIRED"]
SIGNATURES_EXCEEDED = STATUS["TRANSACTION_SIGNATURES_EXCEEDED"]
NOT_AUTHORIZED = STATUS["NOT_AUTHORIZED"]
MAX_CLIENTS = STATUS["MAX_REGISTERED_CLIENTS_REACHED"]
CLIENT_NOT_REGISTERED = STATUS["CLIENT_NOT_REGISTERED"]
EXPORT_UNACKNOWLEDGED = STATUS["EXPORT_UNACKNOWLEDGED_DATA"]
CLIENT_HAS_UNFINISHED = STATUS["CLIENT_HAS_UNFINISHED_TRANSACTIONS"]
TSE_HAS_UNFINISHED = STATUS["TSE_HAS_UNFINISHED_TRANSACTIONS"]
NO_RESPONSE_TO_FETCH = STATUS["TSE_NO_RESPONSE_TO_FETCH"]
STORE_FULL = STATUS["STORE_FULL"]
NEEDS_PUK_CHANGE = STATUS["WRONG_STATE_NEEDS_PUK_CHANGE"]
NEEDS_PIN_CHANGE = STATUS["WRONG_STATE_NEEDS_PIN_CHANGE"]
NEEDS_ACTIVE_CTSS = STATUS["WRONG_STATE_NEEDS_ACTIVE_CTSS"]
NEEDS_SELF_TEST_PASSED = STATUS["NEEDS_SELF_TEST_PASSED"]
ALREADY_INITIALIZED = STATUS["ALREADY_INITIALIZED"]
DECOMMISSIONED = STATUS["DECOMMISSIONED"]
NOT_INITIALIZED = STATUS["NOT_INITIALIZED"]
AUTHENTICATION_FAILED = STATUS["AUTHENTICATION_FAILED"]
PIN_BLOCKED = STATUS["PIN_BLOCKED"]
USER_NOT_LOGGED_IN = STATUS["USER_NOT_LOGGED_IN"]
SELF_TEST_FAILED_CSP = STATUS["SELF_TEST_FAILED_CSP"]
CMD_NOT_FOUND = STATUS["CMD_NOT_FOUND"]

SELF_TEST_VALID_S = 25 * 3600
PIN_TRIES = 3
PUK_TRIES = 10
USERS = {p.USER_ADMIN: "admin", p.USER_TIME_ADMIN: "timeAdmin"}
ROLES = {"admin": 0, "timeAdmin": 1}
EVENTS = {
    p.EVENT_START: "StartTransaction",
    p.EVENT_UPDATE: "UpdateTransaction",
    p.EVENT_FINISH: "FinishTransaction",
}
MAX_PROCESS_DATA = 64 * 1024


class Refused(Exception):
    """The card refuses a command with a WORM status (and optional data)."""

    def __init__(self, status, data=b""):
        super().__init__("0x%04X" % status)
        self.status = status
        self.data = data


class PowerLoss(Exception):
    """Power was cut after the card stored a log and before the host read the answer."""


class Faults:
    """Fault injection, settable at run time (control socket, tests).

    removed               the card is pulled: I/O errors ("eio") or no link at all ("drop")
    busy_polls            answer "busy" to this many reads after each command
    latency_ms            each command takes this long (real cards: up to 250 ms a transaction step)
    store_full            the store reports full: no more logs
    self_test_fails       the next self-tests fail (crypto service provider)
    certificate_expired   the card's certificate has run out: no more signatures
    power_loss_after_sign the next N signing commands lose power after the log is stored
    """

    FIELDS = {
        "removed": bool,
        "remove_mode": str,
        "busy_polls": int,
        "latency_ms": int,
        "store_full": bool,
        "self_test_fails": bool,
        "certificate_expired": bool,
        "power_loss_after_sign": int,
    }

    def __init__(self):
        self.removed = False
        self.remove_mode = "eio"
        self.busy_polls = 0
        self.latency_ms = 0
        self.store_full = False
        self.self_test_fails = False
        self.certificate_expired = False
        self.power_loss_after_sign = 0

    def update(self, values):
        """Set faults from a dict; unknown names or wrong types raise ValueError, changing nothing."""
        for name, value in values.items():
            kind = self.FIELDS.get(name)
            if kind is None:
                raise ValueError("unknown fault %r (known: %s)" % (name, ", ".join(sorted(self.FIELDS))))
            if type(value) is not kind or (kind is int and value < 0):
                raise ValueError("fault %s must be a %s, got %r" % (name, kind.__name__, value))
            if name == "remove_mode" and value not in ("eio", "drop"):
                raise ValueError("remove_mode must be eio or drop")
        for name, value in values.items():
            setattr(self, name, value)

    def as_dict(self):
        return {name: getattr(self, name) for name in self.FIELDS}


class _Params:
    """Reads a command's parameters; running out or leftovers are INVALID_CMD_SYNTAX."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Refused(INVALID_CMD_SYNTAX)
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def lv(self):
        return self.take(self.u8())

    def end(self):
        if self.pos != len(self.data):
            raise Refused(INVALID_CMD_SYNTAX)


def _secret_hash(salt, secret):
    return hashlib.sha256(bytes.fromhex(salt) + secret).hexdigest()


def _full_tries(name):
    return PUK_TRIES if name == "puk" else PIN_TRIES


def _client_text(raw):
    if not 1 <= len(raw) <= p.CLIENT_ID_MAX or any(b < 0x20 or b > 0x7E for b in raw):
        raise Refused(INVALID_PARAMETER)
    return raw.decode()


class TseCard:
    def __init__(self, state_dir, clock=None, fsync=False):
        self.dir = state_dir
        self.clock = clock or SystemClock()
        self.faults = Faults()
        self.state = CardState.load(os.path.join(state_dir, "card.json"))
        with open(os.path.join(state_dir, "key.pem"), "rb") as f:
            self.signer = pki.Signer(pki.load_key(f.read()))
        self.chain = []
        for i in range(3):
            with open(os.path.join(state_dir, "chain", "%d.der" % i), "rb") as f:
                self.chain.append(f.read())
        self.public_point = pki.public_point(self.signer.key)
        self.serial = pki.key_hash(self.public_point)
        self.logs = LogStore(os.path.join(state_dir, "logs.bin"), fsync)
        self.counter = max([self.state["counter"]] + [r.counter for r in self.logs.records])
        self.tx_number = max([self.state["tx_number"]] + [r.number for r in self.logs.records])
        self.open = {}  # transaction number -> client id
        for r in self.logs.records:
            if r.kind == KIND_TRANSACTION:
                if r.event == p.EVENT_START:
                    self.open[r.number] = r.client
                elif r.event == p.EVENT_FINISH:
                    self.open.pop(r.number, None)
        self.read_store = None  # set by the image: (block, nbytes) -> bytes
        self.store_blocks_total = 0  # set by the image: blocks in all TSE_TAR files
        self.stats = {"signatures": 0, "sign_seconds": 0.0}
        self._tar_size = (None, 0)
        self.power_on()

    # --- manufacture and power ---------------------------------------------------------

    @classmethod
    def manufacture(
        cls,
        state_dir,
        clock=None,
        fsync=False,
        description="smartECR emulated TSE",
        valid_days=5 * 365,
        max_signatures=20_000_000,
        max_clients=100,
        max_started=512,
        capacity_sectors=16_777_216,
        max_sync_delay=1800,
    ):
        """Make a new card in the empty (or missing) ``state_dir``; returns it powered on."""
        clock = clock or SystemClock()
        os.makedirs(os.path.join(state_dir, "chain"), exist_ok=True)
        if os.path.exists(os.path.join(state_dir, "card.json")):
            raise FileExistsError("%s already holds a card" % state_dir)
        now = clock.now()
        key, chain = pki.manufacture(now, valid_days)
        with open(os.path.join(state_dir, "key.pem"), "wb") as f:
            f.write(pki.save_key(key))
        for i, cert in enumerate(chain):
            with open(os.path.join(state_dir, "chain", "%d.der" % i), "wb") as f:
                f.write(cert.public_bytes(pki.serialization.Encoding.DER))
        serial = pki.key_hash(key)
        puk, admin, time_admin = initial_credentials(serial)
        users = {}
        for name, secret, tries in (
            ("puk", puk, PUK_TRIES),
            ("admin", admin, PIN_TRIES),
            ("timeAdmin", time_admin, PIN_TRIES),
        ):
            salt = os.urandom(16).hex()
            users[name] = {
                "salt": salt,
                "hash": _secret_hash(salt, secret.encode()),
                "tries": tries,
                "changed": False,
            }
        state = CardState(
            os.path.join(state_dir, "card.json"),
            {
                "description": description,
                "manufacturer": "smartECR",
                "version": "smartECR TSE emulator 1.0",
                "software_version": 0x00010000,
                "manufactured": now,
                "certificate_expiry": int(chain[0].not_valid_after_utc.timestamp()),
                "users": users,
                "init_state": p.STATE_UNINITIALIZED,
                "ctss": False,
                "clients": [],
                "max_clients": max_clients,
                "max_started": max_started,
                "max_signatures": max_signatures,
                "capacity_sectors": capacity_sectors,
                "max_sync_delay": max_sync_delay,
                "max_update_delay": 45,
                "counter": 0,
                "tx_number": 0,
                "exported_counter": 0,
            },
        )
        state.save()
        return cls(state_dir, clock, fsync)

    def power_on(self):
        """Power-up: logins, the time and the self-test are gone; an audit log is written."""
        self.logged_in = set()
        self._time_set = None  # (card time, ticks_ms) of the last updateTime
        self._self_test_at = None
        self._powered_at = self.clock.ticks_ms()
        self._pending = None  # an opened transaction step waiting for its close
        self._store_next = 0
        try:
            self._sign(KIND_AUDIT, b"", audit=der.tlv(0x30, der.tlv(0x80, b"powerOn")))
        except Refused:
            pass  # a card that cannot sign any more still boots

    def close(self):
        self.logs.close()

    # --- time, self-test, info ---------------------------------------------------------

    def _elapsed_s(self, ticks):
        return self.clock.ticks_diff(self.clock.ticks_ms(), ticks) // 1000

    def card_time(self):
        """The card's clock: the last time set plus the time since; before that, uptime."""
        if self._time_set is None:
            return self._elapsed_s(self._powered_at)
        value, ticks = self._time_set
        return value + self._elapsed_s(ticks)

    def has_valid_time(self):
        return (
            self._time_set is not None and self._elapsed_s(self._time_set[1]) < self.state["max_sync_delay"]
        )

    def self_test_passed(self):
        return self._self_test_at is not None and self._elapsed_s(self._self_test_at) < SELF_TEST_VALID_S

    def certificate_expiry(self):
        return (
            self.card_time() - 86400 if self.faults.certificate_expired else self.state["certificate_expiry"]
        )

    def info_block(self):
        """``TSE_INFO.DAT`` as the card writes it (layout in tse_sd.protocol)."""
        b = bytearray(p.BLOCK)
        s = self.state
        struct.pack_into(">I", b, p.INFO_SIZE, p.BLOCK)
        b[p.INFO_FLAGS] = self.has_valid_time() | self.self_test_passed() << 1 | bool(s["ctss"]) << 2
        b[p.INFO_INIT_STATE] = s["init_state"]
        b[p.INFO_TX_IN_PROGRESS] = 1 if self.open else 0
        users = s["users"]
        b[p.INFO_CHANGED] = (
            users["puk"]["changed"] | users["admin"]["changed"] << 1 | users["timeAdmin"]["changed"] << 2
        )
        next_test = SELF_TEST_VALID_S - self._elapsed_s(self._self_test_at) if self.self_test_passed() else 0
        next_sync = s["max_sync_delay"] - self._elapsed_s(self._time_set[1]) if self.has_valid_time() else 0
        for off, value in (
            (p.INFO_NEXT_SELF_TEST, next_test),
            (p.INFO_STARTED, len(self.open)),
            (p.INFO_MAX_STARTED, s["max_started"]),
            (p.INFO_SIGNATURES, self.counter),
            (p.INFO_MAX_SIGNATURES, s["max_signatures"]),
            (p.INFO_CLIENTS, len(s["clients"])),
            (p.INFO_MAX_CLIENTS, s["max_clients"]),
            (p.INFO_CAPACITY, s["capacity_sectors"]),
            (p.INFO_SOFTWARE, s["software_version"]),
            (p.INFO_MAX_SYNC_DELAY, s["max_sync_delay"]),
            (p.INFO_MAX_UPDATE_DELAY, s["max_update_delay"]),
            (p.INFO_NEXT_SYNC, next_sync),
        ):
            struct.pack_into(">I", b, off, value)
        struct.pack_into(">QQ", b, p.INFO_CERT_EXPIRY, max(0, self.certificate_expiry()), self.tar_size())
        b[p.INFO_KEY_LEN] = len(self.public_point)
        b[p.INFO_KEY : p.INFO_KEY + len(self.public_point)] = self.public_point
        b[p.INFO_SERIAL : p.INFO_SERIAL + 32] = self.serial
        desc = s["description"].encode()[: p.BLOCK - p.INFO_DESCRIPTION - 1]
        b[p.INFO_DESCRIPTION : p.INFO_DESCRIPTION + len(desc)] = desc
        return bytes(b)

    def tar_size(self):
        """Size of a full TAR export (what ``tarExportSize`` reports), recomputed when logs change."""
        key = (len(self.logs.records), self.counter)
        if self._tar_size[0] != key:
            self._tar_size = (key, tar.export_size(self))
        return self._tar_size[1]

    # --- signing -----------------------------------------------------------------------

    def _sign(self, kind, certified, number=0, event=0, client="", operation="", audit=None):
        s = self.state
        if self.faults.store_full or self.logs.size >= s["capacity_sectors"] * 512:
            raise Refused(STORE_FULL)
        if self.counter >= s["max_signatures"]:
            raise Refused(SIGNATURES_EXCEEDED)
        log_time = self.card_time()
        if log_time >= self.certificate_expiry():
            raise Refused(CERTIFICATE_EXPIRED)
        counter = self.counter + 1
        oid = (der.OID_TRANSACTION_LOG, der.OID_SYSTEM_LOG, der.OID_AUDIT_LOG)[kind]
        started = time.perf_counter()
        message, _ = der.log_message(oid, certified, self.serial, counter, log_time, self.signer.sign, audit)
        self.stats["sign_seconds"] += time.perf_counter() - started
        self.stats["signatures"] += 1
        record = LogRecord(kind, counter, log_time, number, event, client, operation, message)
        self.logs.append(record)  # durable before anyone sees the signature
        self.counter = counter
        return record

    def _system_log(self, operation, fields=b""):
        return self._sign(KIND_SYSTEM, der.system_data(operation, fields), operation=operation)

    # --- checks ------------------------------------------------------------------------

    def _need_admin(self):
        if "admin" not in self.logged_in:
            raise Refused(USER_NOT_LOGGED_IN)

    def _need_puk_changed(self):
        if not self.state["users"]["puk"]["changed"]:
            raise Refused(NEEDS_PUK_CHANGE)

    def _need_not_decommissioned(self):
        if self.state["init_state"] == p.STATE_DECOMMISSIONED:
            raise Refused(DECOMMISSIONED)

    def _need_ready_to_sign(self, client):
        s = self.state
        if s["init_state"] == p.STATE_UNINITIALIZED:
            raise Refused(NOT_INITIALIZED)
        self._need_not_decommissioned()
        if not s["ctss"]:
            raise Refused(NEEDS_ACTIVE_CTSS)
        if not self.has_valid_time():
            raise Refused(NO_TIME_SET)
        if not self.self_test_passed():
            raise Refused(NEEDS_SELF_TEST_PASSED)
        if client not in s["clients"]:
            raise Refused(CLIENT_NOT_REGISTERED)

    def _check_secret(self, name, secret):
        """Compare a PIN/PUK, counting tries; a wrong one is AUTHENTICATION_FAILED(tries left)."""
        user = self.state["users"][name]
        if user["tries"] == 0:
            raise Refused(PIN_BLOCKED)
        if _secret_hash(user["salt"], secret) != user["hash"]:
            user["tries"] -= 1
            self.state.save()
            raise Refused(AUTHENTICATION_FAILED, bytes((user["tries"],)))
        if user["tries"] != _full_tries(name):
            user["tries"] = _full_tries(name)
            self.state.save()

    def _set_secret(self, name, secret, length):
        if len(secret) != length or not secret.isdigit():
            raise Refused(INVALID_PARAMETER)
        user = self.state["users"][name]
        user["salt"] = os.urandom(16).hex()
        user["hash"] = _secret_hash(user["salt"], secret)
        user["changed"] = True
        user["tries"] = _full_tries(name)
        self.state.save()

    # --- the commands ------------------------------------------------------------------

    def execute(self, code, params):
        """Run one command: ``(status, data)``. ``PowerLoss`` escapes by design."""
        handler = self._HANDLERS.get(code)
        if handler is None:
            return CMD_NOT_FOUND, b""
        try:
            return OK, handler(self, _Params(params)) or b""
        except Refused as e:
            return e.status, e.data

    def _login(self, a):
        user = USERS.get(a.u8())
        pin = a.lv()
        a.end()
        if user is None:
            raise Refused(INVALID_PARAMETER)
        self._need_puk_changed()
        if not self.state["users"][user]["changed"]:
            raise Refused(NEEDS_PIN_CHANGE)
        try:
            self._check_secret(user, pin)
        except Refused as e:
            if e.status == AUTHENTICATION_FAILED:
                self._auth_log(user, False)
            raise
        self.logged_in.add(user)
        self._auth_log(user, True)

    def _auth_log(self, user, ok):
        fields = (
            der.tlv(0x81, user.encode())
            + der.tlv(0x82, bytes((ROLES[user],)))
            + der.tlv(0x83, b"\xff" if ok else b"\x00")
        )
        try:
            self._system_log("authenticateUser", fields)
        except Refused:
            pass  # a full card still lets users log in, to export and decommission

    def _logout(self, a):
        user = USERS.get(a.u8())
        a.end()
        if user not in self.logged_in:
            raise Refused(USER_NOT_LOGGED_IN)
        self.logged_in.discard(user)
        self._system_log("logOut", der.tlv(0x81, user.encode()) + der.tlv(0x82, b"\x00"))

    def _unblock(self, a):
        user = USERS.get(a.u8())
        puk, new_pin = a.lv(), a.lv()
        a.end()
        if user is None:
            raise Refused(INVALID_PARAMETER)
        self._need_puk_changed()
        self._check_secret("puk", puk)
        self._set_secret(user, new_pin, 5)
        self._system_log("unblockUser", der.tlv(0x81, user.encode()) + der.tlv(0x82, b"\xff"))

    def _change_puk(self, a):
        old, new = a.lv(), a.lv()
        a.end()
        self._check_secret("puk", old)
        self._set_secret("puk", new, 6)

    def _change_pin(self, a):
        user = USERS.get(a.u8())
        old, new = a.lv(), a.lv()
        a.end()
        if user is None:
            raise Refused(INVALID_PARAMETER)
        self._need_puk_changed()
        self._check_secret(user, old)
        self._set_secret(user, new, 5)

    def _self_test(self, a):
        client = _client_text(a.lv())
        a.end()
        clients = self.state["clients"]
        if clients and client not in clients:
            raise Refused(CLIENT_NOT_REGISTERED)
        ok = not self.faults.self_test_fails
        self._self_test_at = self.clock.ticks_ms() if ok else None
        fields = der.tlv(0x81, b"TSE") + der.tlv(0x82, b"\xff" if ok else b"\x00")
        if not ok:
            fields += der.tlv(0x83, b"crypto service provider test failed")
        try:
            self._system_log("selfTest", fields)
        except Refused:
            pass
        if not ok:
            raise Refused(SELF_TEST_FAILED_CSP)

    def _register_client(self, a):
        client = _client_text(a.lv())
        a.end()
        self._need_puk_changed()
        self._need_admin()
        self._need_not_decommissioned()
        clients = self.state["clients"]
        if client in clients:
            return
        if len(clients) >= self.state["max_clients"]:
            raise Refused(MAX_CLIENTS)
        self._system_log("registerClient", der.tlv(0x81, client.encode()))
        clients.append(client)
        self.state.save()

    def _deregister_client(self, a):
        client = _client_text(a.lv())
        a.end()
        self._need_admin()
        if client not in self.state["clients"]:
            raise Refused(CLIENT_NOT_REGISTERED)
        if client in self.open.values():
            raise Refused(CLIENT_HAS_UNFINISHED)
        self._system_log("deregisterClient", der.tlv(0x81, client.encode()))
        self.state["clients"].remove(client)
        self.state.save()

    def _list_clients(self, a):
        offset = a.u32()
        a.end()
        page = self.state["clients"][offset : offset + p.CLIENTS_PER_PAGE]
        return bytes((len(page),)) + b"".join(c.encode().ljust(p.CLIENT_ENTRY, b"\0") for c in page)

    def _set_ctss(self, a, on):
        a.end()
        self._need_admin()
        self._need_not_decommissioned()
        self.state["ctss"] = on
        self.state.save()

    def _ctss_enable(self, a):
        self._set_ctss(a, True)

    def _ctss_disable(self, a):
        self._set_ctss(a, False)

    def _initialize(self, a):
        a.end()
        self._need_admin()
        s = self.state
        if s["init_state"] == p.STATE_INITIALIZED:
            raise Refused(ALREADY_INITIALIZED)
        self._need_not_decommissioned()
        if not all(u["changed"] for u in s["users"].values()):
            raise Refused(NEEDS_PIN_CHANGE)
        if not self.has_valid_time():
            raise Refused(NO_TIME_SET)
        self._system_log("initialize", der.tlv(0x81, s["description"].encode()))
        s["init_state"] = p.STATE_INITIALIZED
        s.save()

    def _decommission(self, a):
        a.end()
        self._need_admin()
        s = self.state
        if s["init_state"] == p.STATE_UNINITIALIZED:
            raise Refused(NOT_INITIALIZED)
        self._need_not_decommissioned()
        if self.open:
            raise Refused(TSE_HAS_UNFINISHED)
        self._system_log("disableSecureElement")
        s["init_state"] = p.STATE_DECOMMISSIONED
        s["ctss"] = False
        s.save()

    def _update_time(self, a):
        new = a.u64()
        a.end()
        if not self.logged_in & {"admin", "timeAdmin"}:
            raise Refused(USER_NOT_LOGGED_IN)
        self._need_not_decommissioned()
        before = self.card_time()
        self._time_set = (new, self.clock.ticks_ms())
        self._system_log("updateTime", der.integer(before, 0x81) + der.integer(new, 0x82))

    def _list_started(self, a):
        offset = a.u32()
        client = a.lv().decode()
        a.end()
        numbers = sorted(n for n, c in self.open.items() if not client or c == client)
        page = numbers[offset : offset + p.STARTED_PER_PAGE]
        return bytes((len(page),)) + b"".join(struct.pack(">Q", n) for n in page)

    def _read_certificate(self, a):
        offset = a.u32()
        a.end()
        chunk = self.chain[0][offset : offset + p.MAX_DATA - 2]
        return struct.pack(">H", len(chunk)) + chunk

    def _export(self, a):
        kind, first, last = a.u8(), a.u64(), a.u64()
        client = a.lv().decode()
        a.end()
        if kind not in (p.EXPORT_ALL, p.EXPORT_TIME, p.EXPORT_TRANSACTIONS, p.EXPORT_SIGNATURES):
            raise Refused(INVALID_PARAMETER)
        data, highest = tar.export(self, kind, first, last, client)
        # The store counts as exported up to the highest log of a gapless export: a whole one,
        # or an incremental one that starts at or before the first log not yet exported.
        gapless = kind == p.EXPORT_ALL or (
            kind == p.EXPORT_SIGNATURES and first <= self.state["exported_counter"] + 1
        )
        if gapless and not client and highest > self.state["exported_counter"]:
            self.state["exported_counter"] = highest
            self.state.save()
        return data

    def _delete_stored_data(self, a):
        a.end()
        self._need_admin()
        if self.open:
            raise Refused(TSE_HAS_UNFINISHED)
        if self.logs.records and self.logs.records[-1].counter > self.state["exported_counter"]:
            raise Refused(EXPORT_UNACKNOWLEDGED)
        self.state["counter"] = self.counter
        self.state["tx_number"] = self.tx_number
        self.state.save()
        self.logs.clear()
        self._system_log("deleteStoredData")

    def _open_transaction(self, a):
        event = a.u8()
        client = a.lv().decode()
        number, data_len = a.u64(), a.u64()
        ptype = a.take(a.u64())
        a.u64()
        a.end()
        if event not in EVENTS or data_len > MAX_PROCESS_DATA:
            raise Refused(INVALID_PARAMETER)
        self._need_ready_to_sign(client)
        if event == p.EVENT_START:
            if len(self.open) >= self.state["max_started"]:
                raise Refused(MAX_PARALLEL_TRANSACTIONS)
        elif self.open.get(number) != client:
            raise Refused(TRANSACTION_NOT_STARTED)
        blocks = max(1, (data_len + p.BLOCK - 1) // p.BLOCK)
        if self._store_next + blocks > self.store_blocks_total:
            self._store_next = 0  # the assignment area is a ring; the logs are kept elsewhere
        block = self._store_next
        self._store_next += blocks
        self._pending = (event, client, number, data_len, ptype.decode(), block)
        return struct.pack(">Q", block)

    def _close_transaction(self, a):
        a.end()
        if self._pending is None:
            raise Refused(NO_TRANSACTION_IN_PROGRESS)
        event, client, number, data_len, ptype, block = self._pending
        self._pending = None
        self._need_ready_to_sign(client)
        if event == p.EVENT_START:
            if len(self.open) >= self.state["max_started"]:
                raise Refused(MAX_PARALLEL_TRANSACTIONS)
            number = self.tx_number + 1
        elif self.open.get(number) != client:
            raise Refused(TRANSACTION_NOT_STARTED)
        data = self.read_store(block, data_len) if data_len else b""
        certified = der.transaction_data(EVENTS[event], client, data, ptype, number)
        record = self._sign(KIND_TRANSACTION, certified, number, event, client, EVENTS[event])
        if event == p.EVENT_START:
            self.tx_number = number
            self.open[number] = client
        elif event == p.EVENT_FINISH:
            del self.open[number]
        if self.faults.power_loss_after_sign:
            self.faults.power_loss_after_sign -= 1
            raise PowerLoss("power lost after signing transaction %d" % number)
        return self._close_answer(record)

    def _close_answer(self, record):
        return p.encode_close(record.number, self.serial, record.log_time, record.counter, record.der[-96:])

    def _last_response(self, a):
        a.end()
        for record in reversed(self.logs.records):
            if record.kind == KIND_TRANSACTION:
                return self._close_answer(record)
        raise Refused(NO_RESPONSE_TO_FETCH)

    def summary(self):
        """What ``card info`` prints: the card as its owner would want to know it."""
        s = self.state
        return {
            "serial": self.serial.hex(),
            "description": s["description"],
            "initialization_state": ("uninitialized", "initialized", "decommissioned")[s["init_state"]],
            "signature_counter": self.counter,
            "transaction_number": self.tx_number,
            "open_transactions": sorted(self.open),
            "clients": s["clients"],
            "logs_stored": len(self.logs.records),
            "certificate_expiry": s["certificate_expiry"],
            "exported_up_to_signature": s["exported_counter"],
            "puk_changed": s["users"]["puk"]["changed"],
        }

    def __repr__(self):
        return "TseCard(%s)" % json.dumps(self.summary())


TseCard._HANDLERS = {
    p.CMD_LOGIN: TseCard._login,
    p.CMD_LOGOUT: TseCard._logout,
    p.CMD_UNBLOCK: TseCard._unblock,
    p.CMD_CHANGE_PUK: TseCard._change_puk,
    p.CMD_CHANGE_PIN: TseCard._change_pin,
    p.CMD_SELF_TEST: TseCard._self_test,
    p.CMD_REGISTER_CLIENT: TseCard._register_client,
    p.CMD_DEREGISTER_CLIENT: TseCard._deregister_client,
    p.CMD_LIST_CLIENTS: TseCard._list_clients,
    p.CMD_CTSS_ENABLE: TseCard._ctss_enable,
    p.CMD_CTSS_DISABLE: TseCard._ctss_disable,
    p.CMD_INITIALIZE: TseCard._initialize,
    p.CMD_DECOMMISSION: TseCard._decommission,
    p.CMD_UPDATE_TIME: TseCard._update_time,
    p.CMD_LIST_STARTED: TseCard._list_started,
    p.CMD_READ_CERTIFICATE: TseCard._read_certificate,
    p.CMD_EXPORT_TAR: TseCard._export,
    p.CMD_DELETE_STORED_DATA: TseCard._delete_stored_data,
    p.CMD_OPEN_TRANSACTION: TseCard._open_transaction,
    p.CMD_CLOSE_TRANSACTION: TseCard._close_transaction,
    p.CMD_LAST_RESPONSE: TseCard._last_response,
}
