"""The terminal's link to the store server (device code): its journal replicated as it is
written, its health reported, the store's master data fetched, its backups kept off the device.

    link = StoreLink(journal, till, host, port, token, serial, data_dir, log, clock, status)
    await link.run()                  # for ever: push, then wait for the next record
    await link.sync()                 # one round now (the console's ``store sync``)
    await link.backup()               # settings, master data, console users, TSE exports

Offline is normal: the journal on the terminal is the record, the server a second copy. A
round that cannot reach the server is tried again after 1, 2, 4 ... 60 s; records written
meanwhile wait in the journal itself (nothing is queued in memory), and the next round sends
everything the server does not have yet, from the head it names.

Each round (after every record, and every 15 s when idle): ``POST /api/v1/journal`` with the
lines after the server's head (about 16 KB per request), the terminal's status (its own head,
records waiting, TSE state, printer, firmware, master data version). The answer names the
server's newest master data version; a newer one than the terminal has is fetched (``GET
/api/v1/master``), checked whole with the register's own section put in, written to
``<data_dir>/master.json`` and journaled (``master_received``). It is taken into use at the
next closing (DSFinV-K Tz. 3.3; at once only when the period has no Vorgang yet), when
``master`` is journaled with its ``store_version``. After each closing the backup goes up: the
settings without secrets, the master data, the console users, and every TSE export archive in
``<data_dir>/exports/tse`` the server does not have whole yet.

A server that refuses the journal as a fork (it holds other records under these numbers, or
the chain does not link) is said in the log and on the console (``store status``); the
terminal keeps trying on the slow schedule, and goes on from the server's head once the owner
has looked at the alarm and cleared it in the back office (docs/technician.md).
"""

import asyncio
import json
import os
import sys

from core.errors import ConfigError, EcrError, ProtocolError
from core.storage import exists, write_atomic
from firmware import backup as backups
from firmware import config as configuration
from firmware.register.master import MasterData, load_master
from hal.http import request

VERSION_API = "/api/v1"
CHUNK = 16384
EXPORT_CHUNK = 16384
IDLE_S = 15  # a round at least this often: the status, and whether new master data wait


class StoreError(EcrError):
    code = "store"


async def _request(host, port, method, path, body=None, timeout_ms=10000, headers=None, data=None, tls=None):
    """``hal.http.request``, every failure to reach the server a ``StoreError``."""
    try:
        return await request(host, port, method, path, body, timeout_ms, headers, data, tls)
    except asyncio.TimeoutError:
        raise StoreError("no answer from the store server %s:%d in %d s" % (host, port, timeout_ms // 1000))
    except OSError as e:
        raise StoreError("store server %s:%d not reachable (%s)" % (host, port, e))


class StoreLink:
    def __init__(self, journal, till, host, port, token, serial, data_dir, log, clock, status=None, tls=None):
        self.journal = journal
        self.till = till
        self.host = host
        self.port = port
        self.token = token
        self.serial = serial
        self.data_dir = data_dir
        self.log = log
        self.clock = clock
        self.status = status  # () -> dict of the terminal's health, or None
        self.tls = tls  # hal.platform.tls_client: HTTPS to the server, or None: plain HTTP
        self.timeout_ms = 10000
        self.acked = None  # the server's head as last heard (None: ask it)
        self.cursor = None
        self.fork = None  # the server's refusal, when it found our journal forked
        self.reachable = None  # True/False after the first round
        self.last_error = ""
        self.master_version = self._received_version()
        self._wake = asyncio.Event()
        self._backup_due = False
        journal.on_append = self._appended

    def wake(self):
        self._wake.set()

    def configured(self):
        return bool(self.host and self.port and self.token)

    def _appended(self, kind):
        if kind == "closing":
            self._backup_due = True
        self._wake.set()

    def _received_version(self):
        path = configuration.restored_master_path(self.data_dir)
        if exists(path):
            try:
                with open(path) as f:
                    version = json.load(f).get("store_version")
                return version if isinstance(version, int) else None
            except (OSError, ValueError):
                return None
        return None

    async def _call(self, method, path, body=None, data=None):
        headers = {"Authorization": "Bearer " + self.token, "X-Register": self.serial}
        path = VERSION_API + path
        return await _request(
            self.host, self.port, method, path, body, self.timeout_ms, headers, data, self.tls
        )

    # --- the journal -----------------------------------------------------------------------

    def _health(self):
        out = {"head": self.journal.seq, "queue": self.journal.seq - (self.acked or 0)}
        if self.status is not None:
            out.update(self.status())
        out["master"] = self.master_version
        out["runtime"] = sys.implementation.name
        return out

    async def sync(self):
        """One round: every record the server lacks, then master data and a due backup.
        Returns the records sent; ``StoreError`` (or OSError/timeout) when the server refused
        or could not be reached."""
        if self.acked is None:
            status, body = await self._call("GET", "/head")
            self._check(status, body)
            self.acked = body["head"]
        sent = 0
        master = None
        while True:
            lines, cursor = self.journal.after(self.acked, CHUNK, self.cursor)
            status, body = await self._call(
                "POST", "/journal", {"after": self.acked, "lines": lines, "status": self._health()}
            )
            if status == 409 and isinstance(body, dict) and body.get("error") == "gap":
                self.acked, self.cursor = body["head"], None
                continue
            if status in (409, 422) and isinstance(body, dict) and body.get("error") in ("fork", "chain"):
                fork = "%s at record %s: %s" % (body["error"], body.get("at"), body.get("detail", ""))
                if fork != self.fork:
                    self.log.error("store server refused the journal: %s", fork)
                self.fork = fork
                raise StoreError("the store server refused this journal (%s): see docs/technician.md" % fork)
            self._check(status, body)
            if self.fork is not None:
                self.log.info("store server takes the journal again (its alarm was cleared)")
                self.fork = None
            self.acked, self.cursor = body["head"], cursor
            if self.acked != cursor[2]:
                self.cursor = None
            sent += len(lines)
            master = body.get("master")
            if not lines or self.acked >= self.journal.seq:
                break
        if isinstance(master, int) and master != self.master_version:
            await self.fetch_master()
        if self._backup_due:
            await self.backup()
        return sent

    def _check(self, status, body):
        if status != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else body
            raise StoreError("store server answered %d: %s" % (status, error))

    async def run(self):
        """Push for ever: after each record, and every ``IDLE_S`` s the status; back off while
        the server cannot be reached (1, 2, 4 ... 60 s)."""
        delay = 0
        while True:
            self._wake.clear()
            if not self.configured():
                await self._wake.wait()
                continue
            try:
                await self.sync()
                if self.reachable is False:
                    self.log.info("store server reachable again: journal up to record %d there", self.acked)
                self.reachable, self.last_error, delay = True, "", 0
            except (OSError, asyncio.TimeoutError, ProtocolError, StoreError, ValueError, KeyError) as e:
                if self.reachable is not False:
                    self.log.warning("store server: %s (the journal waits here; trying again)", e)
                self.reachable, self.last_error = False, str(e)
                delay = min(max(delay * 2, 1), 60)
                self.acked = None  # ask the head again: another terminal may have been restored
            try:
                await asyncio.wait_for(self._wake.wait(), delay or IDLE_S)
            except asyncio.TimeoutError:
                pass
            if delay:
                await asyncio.sleep(0)

    # --- master data -------------------------------------------------------------------------

    async def fetch_master(self):
        """The store's newest master data, checked with this register's own section, kept for
        the next closing (or taken now in a period without Vorgang). Returns its version."""
        status, body = await self._call("GET", "/master")
        self._check(status, body)
        version, data = body.get("version"), body.get("data")
        if not isinstance(version, int) or not isinstance(data, dict):
            raise StoreError("master data answer without version and data")
        merged = dict(data)
        merged["register"] = self.till.master.register
        merged["store_version"] = version
        try:
            MasterData.from_dict(merged)
        except ConfigError as e:
            self.master_version = version  # not again: a new version must be made
            self.log.error("store master data version %d refused: %s", version, e)
            raise StoreError("master data version %d refused: %s" % (version, e))
        path = configuration.restored_master_path(self.data_dir)
        write_atomic(path, json.dumps(merged))
        master = load_master(path)
        self.journal.append("master_received", {"version": version, "digest": master.digest})
        self.master_version = version
        till = self.till
        if till.master_store is not None and not till.period_has_vorgaenge():
            till.master_store.adopt(master)
            till.master = master
            till.waiting_master = None
            self.log.info("store master data version %d in use", version)
        else:
            till.waiting_master = master
            self.log.info("store master data version %d received: taken at the next closing", version)
        return version

    # --- backups -------------------------------------------------------------------------------

    async def backup(self):
        """Settings (no secrets), master data and console users, then the TSE exports."""
        self._backup_due = False
        data = backups.contents(self.data_dir, self.till.master.source, self.clock.now())
        status, body = await self._call("PUT", "/backup", data)
        self._check(status, body)
        folder = self.data_dir + "/exports/tse"
        if not exists(folder):
            return
        status, have = await self._call("GET", "/tse-exports")
        self._check(status, have)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".tar") and not name.startswith("."):
                await self._upload(folder + "/" + name, name, have.get(name, 0))

    async def _upload(self, path, name, held):
        size = os.stat(path)[6]
        with open(path, "rb") as f:
            if held:
                f.seek(held)
            while held < size:
                chunk = f.read(EXPORT_CHUNK)
                status, body = await self._call("PUT", "/tse-exports/%s?offset=%d" % (name, held), data=chunk)
                if status == 409 and isinstance(body, dict) and "size" in body:
                    held = body["size"]
                    f.seek(held)
                    continue
                self._check(status, body)
                held = body["size"]

    async def fetch_backup(self, serial):
        """The server's backup of register ``serial`` (a replaced terminal): the backup's dict."""
        status, body = await self._call("GET", "/backup/" + serial)
        self._check(status, body)
        return body


async def enrol(host, port, serial, code, timeout_ms=10000, tls=None):
    """The token for an enrolment code made in the back office; StoreError when refused."""
    body = {"serial": serial, "code": code}
    status, body = await _request(host, port, "POST", VERSION_API + "/enrol", body, timeout_ms, tls=tls)
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("token"), str):
        error = body.get("error") if isinstance(body, dict) else body
        raise StoreError("enrolment refused (%d): %s" % (status, error))
    return body["token"]
