"""SE-API client of the microSD TSE: set-up, users, clients, transactions, export.

    client = TseClient(lambda: BlockTransport(NbdBlockDevice.connect()), clock)
    await client.setup(puk="123456", admin_pin="12345", time_admin_pin="54321",
                       client_id="KASSE-1", now=clock.now())
    start = await client.start_transaction("KASSE-1")
    finish = await client.finish_transaction("KASSE-1", start.number,
                                             b"Beleg^1.19_0.00_0.00_0.00_0.00^1.19:Bar", "Kassenbeleg-V1")
    await client.export_tar(out_file.write)          # streamed, constant memory

The client opens its transport through ``open_transport()`` when it first needs it and again
after the card was lost (pulled, power cut, dropped link): a re-inserted card is found
without restarting anything. Each method is one or more mailbox commands
(``tse_sd.protocol``). While the card works the
client polls the mailbox, first at once, then with growing pauses (up to 50 ms) in which
other asyncio tasks run; block reads and writes themselves are synchronous, as SPI access
to an SD card is. Errors: ``TseUnavailable`` when the card cannot be reached or does not
answer in time (the next command re-synchronises), a ``CardError`` subclass when the card
refuses (``tse_sd.errors``), ``TseProtocolError`` for nonsense on the wire.
"""

import asyncio
import hashlib
import struct

from micropython import const
from tse_sd import protocol as p
from tse_sd.errors import AuthenticationFailed, TseProtocolError, TseUnavailable, card_error

SIGNATURE_ALGORITHM = "ecdsa-plain-SHA384"  # brainpoolP384r1, as Swissbit cards sign
LOG_TIME_FORMAT = "unixTime"
INITIAL_SEED = b"SwissbitSwissbit"

_TIMEOUT_MS = const(5000)
_SELF_TEST_TIMEOUT_MS = const(90000)  # a self-test may take up to a minute
_MAX_PAUSE_MS = const(50)


def initial_credentials(serial, seed=INITIAL_SEED):
    """``(puk, admin_pin, time_admin_pin)`` a new card derives from its serial (as text).

    SHA-256(seed || serial): PUK = last 6 decimal digits of the first 8 bytes, admin PIN =
    last 5 digits of the next 8, time-admin PIN = last 5 of the next 8 (big-endian).
    From a public reimplementation of ``worm_user_deriveInitialCredentials``; unverified
    against a real card (docs/tse.md).
    """
    h = hashlib.sha256(seed + bytes(serial)).digest()

    def digits(part, n):
        text = str(int.from_bytes(h[part * 8 : part * 8 + 8], "big") % 10**n)
        return "0" * (n - len(text)) + text

    return digits(0, 6), digits(1, 5), digits(2, 5)


class TseClient:
    def __init__(self, open_transport, clock, timeout_ms=_TIMEOUT_MS):
        self._open_transport = open_transport
        self.transport = None
        self.clock = clock
        self.timeout_ms = timeout_ms
        self._request = bytearray(p.BLOCK)
        self._block = bytearray(p.BLOCK)
        self._counter = None  # last response counter seen; None: read it before the next command
        self._lock = asyncio.Lock()  # one command at a time: the till and the console share the card

    def _transport(self):
        if self.transport is None:
            try:
                self.transport = self._open_transport()
            except OSError as e:
                raise TseUnavailable("TSE card not reachable: %s" % (e,), "unreachable")
            self._counter = None
        return self.transport

    def _lost(self, error):
        """Forget a transport that failed; the next command opens a new one."""
        if self.transport is not None:
            try:
                self.transport.close()
            except OSError:
                pass
        self.transport = None
        self._counter = None
        return TseUnavailable("TSE card I/O failed: %s" % (error,))

    def close(self):
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    # --- the mailbox ------------------------------------------------------------------

    async def command(self, code, params=b"", sink=None, timeout_ms=None):
        """Run one command; return its data (or stream it into ``sink``). Commands from
        several tasks (a sale, the TSE service, the console) take turns on the mailbox."""
        async with self._lock:
            return await self._command(code, params, sink, timeout_ms)

    async def _command(self, code, params, sink, timeout_ms):
        t = self._transport()
        clock = self.clock
        limit = timeout_ms or self.timeout_ms
        try:
            if self._counter is None:
                t.read_comm(self._block)
                self._counter = p.response_counter(self._block)
            exchange = p.Exchange(self._counter, sink)
            t.write_comm(p.encode_request(self._request, code, params))
            started = clock.ticks_ms()
            pause = 0
            while True:
                t.read_comm(self._block)
                step = exchange.feed(self._block)
                if step == p.DONE:
                    break
                if step == p.FETCH:
                    t.write_comm(p.encode_request(self._request, p.CMD_FETCH_MORE))
                    started = clock.ticks_ms()
                    pause = 0
                    continue
                if clock.ticks_diff(clock.ticks_ms(), started) > limit:
                    self._counter = None
                    raise TseUnavailable(
                        "no answer to command 0x%02X within %d ms" % (code, limit), "timeout"
                    )
                await asyncio.sleep(pause / 1000)
                pause = min(_MAX_PAUSE_MS, pause * 2 or 1)
        except OSError as e:
            raise self._lost(e)
        self._counter = exchange.counter
        if exchange.status:
            err = card_error(exchange.status, "command 0x%02X" % code)
            if isinstance(err, AuthenticationFailed) and exchange.data:
                err.retries = exchange.data[0]
            raise err
        return exchange.data

    def info(self):
        """The card's status block (``TSE_INFO.DAT``)."""
        t = self._transport()
        try:
            t.read_info(self._block)
        except OSError as e:
            raise self._lost(e)
        return p.TseInfo(self._block)

    # --- users ------------------------------------------------------------------------

    async def login(self, user, pin):
        await self.command(p.CMD_LOGIN, p.login_params(user, pin))

    async def logout(self, user):
        await self.command(p.CMD_LOGOUT, bytes((user,)))

    async def change_puk(self, old_puk, new_puk):
        await self.command(p.CMD_CHANGE_PUK, p.change_puk_params(old_puk, new_puk))

    async def change_pin(self, user, old_pin, new_pin):
        await self.command(p.CMD_CHANGE_PIN, p.change_pin_params(user, old_pin, new_pin))

    async def unblock(self, user, puk, new_pin):
        """Unblock ``user`` with the PUK and give it ``new_pin``."""
        await self.command(p.CMD_UNBLOCK, p.unblock_params(user, puk, new_pin))

    # --- the device -------------------------------------------------------------------

    async def self_test(self, client_id):
        await self.command(p.CMD_SELF_TEST, p.lv(p.client_id(client_id)), timeout_ms=_SELF_TEST_TIMEOUT_MS)

    async def update_time(self, unix_seconds):
        """Set the card's clock (time-admin or admin logged in)."""
        await self.command(p.CMD_UPDATE_TIME, p.u64(unix_seconds))

    async def register_client(self, client_id):
        await self.command(p.CMD_REGISTER_CLIENT, p.lv(p.client_id(client_id)))

    async def deregister_client(self, client_id):
        await self.command(p.CMD_DEREGISTER_CLIENT, p.lv(p.client_id(client_id)))

    async def list_clients(self):
        clients = []
        while True:
            page = p.parse_client_page(await self.command(p.CMD_LIST_CLIENTS, p.u32(len(clients))))
            clients.extend(page)
            if len(page) < p.CLIENTS_PER_PAGE:
                return clients

    async def enable_ctss(self):
        await self.command(p.CMD_CTSS_ENABLE)

    async def initialize(self):
        await self.command(p.CMD_INITIALIZE)

    async def decommission(self):
        """Take the card out of service for good (admin). Signing ends; export still works."""
        await self.command(p.CMD_DECOMMISSION)

    async def delete_stored_data(self):
        """Free the card's store (admin). The card refuses unless everything was exported."""
        await self.command(p.CMD_DELETE_STORED_DATA)

    async def certificate(self):
        """The DER certificate of the key that signs the logs."""
        parts = []
        offset = 0
        while True:
            data = await self.command(p.CMD_READ_CERTIFICATE, p.u32(offset))
            if len(data) < 2:
                raise TseProtocolError("certificate chunk of %d bytes" % len(data))
            n = struct.unpack_from(">H", data, 0)[0]
            if n == 0:
                return b"".join(parts)
            if n != len(data) - 2:
                raise TseProtocolError("certificate chunk says %d bytes, has %d" % (n, len(data) - 2))
            parts.append(data[2:])
            offset += n

    # --- transactions -----------------------------------------------------------------

    async def _transaction(self, event, client_id, number, process_data, process_type):
        if isinstance(process_data, str):
            process_data = process_data.encode()
        params = p.open_transaction_params(event, client_id, number, len(process_data), process_type)
        block = p.parse_open(await self.command(p.CMD_OPEN_TRANSACTION, params))
        if process_data:
            padded = bytearray((len(process_data) + p.BLOCK - 1) // p.BLOCK * p.BLOCK)
            padded[: len(process_data)] = process_data
            try:
                self.transport.write_store(block, padded)
            except OSError as e:
                raise self._lost(e)
        return p.parse_close(await self.command(p.CMD_CLOSE_TRANSACTION))

    async def start_transaction(self, client_id, process_data=b"", process_type=""):
        """StartTransaction. DSFinV-K: processType and processData of the start stay empty."""
        return await self._transaction(p.EVENT_START, client_id, 0, process_data, process_type)

    async def update_transaction(self, client_id, number, process_data, process_type):
        return await self._transaction(p.EVENT_UPDATE, client_id, number, process_data, process_type)

    async def finish_transaction(self, client_id, number, process_data, process_type):
        return await self._transaction(p.EVENT_FINISH, client_id, number, process_data, process_type)

    async def last_response(self):
        """The answer to the last Start/Update/Finish, for a host that lost it (power cut)."""
        return p.parse_close(await self.command(p.CMD_LAST_RESPONSE))

    async def list_started(self, client_id=""):
        """Numbers of the transactions started and not finished (of one client, or all)."""
        numbers = []
        cid = p.client_id(client_id) if client_id else b""
        while True:
            page = p.parse_started_page(
                await self.command(p.CMD_LIST_STARTED, p.u32(len(numbers)) + p.lv(cid))
            )
            numbers.extend(page)
            if len(page) < p.STARTED_PER_PAGE:
                return numbers

    # --- export -----------------------------------------------------------------------

    async def export_tar(self, sink, kind=p.EXPORT_ALL, first=0, last=0, client_id=""):
        """Stream the TAR export into ``sink(chunk)``: everything, a time range (unix seconds,
        inclusive), a transaction-number range, or every log from signature counter ``first`` on
        (``EXPORT_SIGNATURES``, incremental); optionally only one client's transactions."""
        await self.command(p.CMD_EXPORT_TAR, p.export_params(kind, first, last, client_id), sink=sink)

    # --- set-up -----------------------------------------------------------------------

    async def setup(self, puk, admin_pin, time_admin_pin, client_id, now, seed=INITIAL_SEED):
        """Take a new card into service (each step is skipped if already done):
        initial credentials -> change PUK -> set admin and time-admin PINs -> set the time ->
        register the client -> self-test -> enable the signing interface -> initialize."""
        info = self.info()
        if info.initialization_state == p.STATE_INITIALIZED:
            return
        first_puk, first_admin, first_time_admin = initial_credentials(info.serial, seed)
        if not info.changed_puk:
            await self.change_puk(first_puk, puk)
        if not info.changed_admin_pin:
            await self.change_pin(p.USER_ADMIN, first_admin, admin_pin)
        if not info.changed_time_admin_pin:
            await self.change_pin(p.USER_TIME_ADMIN, first_time_admin, time_admin_pin)
        await self.login(p.USER_TIME_ADMIN, time_admin_pin)
        await self.update_time(now)
        await self.logout(p.USER_TIME_ADMIN)
        await self.login(p.USER_ADMIN, admin_pin)
        try:
            if client_id not in await self.list_clients():
                await self.register_client(client_id)
            await self.self_test(client_id)
            await self.enable_ctss()
            await self.initialize()
        finally:
            await self.logout(p.USER_ADMIN)
