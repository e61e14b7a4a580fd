"""The store's one TSE card shared by its registers (host code): the TSE service
(tseservice/api.py) with one TSS whose security module is the card in the store's reader,
reached through the firmware's own SE-API client over NBD (a card served by ``qemu-nbd`` or the
card emulator) — commands serialised on it by the TSS's lock. Each register has its own account,
bound to its serial: it registers itself as a client of the TSS and signs as that client only.

    share = SharedTse("out/tse-share", ("127.0.0.1", 10809, "tse"))
    key, secret = share.enrol("SMARTECR-0002")      # the register's tse.cloud.api_key/_secret
    app = share.app()                               # serve it (aiohttp, HTTPS)
    puk = await share.setup(host, port, tls, pin)   # once, against the running service
    await share.export(host, port, tls, path)       # the whole TSS: every register's logs

State in the folder: ``accounts.json`` (mode 0600: per register the key and a salted SHA-256 of
its secret; the operator's account), the TSS's records (``<tss>/``, tseservice/api.py) and
``admin-puk.json``, the TSS's admin PUK (the owner's; never logged). The TSS's id is
``uuid_of("tss:" + name)`` of the service's name, so the registers are given it at enrolment.

The card's client limit is the card's own (its ``max_registered_clients``): a register beyond
it is refused by the card, and the register says so (tse_sd/cloud.py).
"""

import json
import os
import secrets
import threading
import time

from hal.clock import SystemClock
from tse_sd.client import TseClient
from tse_sd.cloud import uuid_of
from tse_sd.nbd import NbdBlockDevice
from tse_sd.transport import BlockTransport
from tseservice.api import Card, Refusal, TseApi, salted_hash, write_private

OPERATOR = "operator"  # the account the service's own set-up uses


def card_over_nbd(host, port, name):
    """The card in the store's reader, over NBD: a ``Card`` (a link lost is opened again)."""
    clock = SystemClock()
    return Card(TseClient(lambda: BlockTransport(NbdBlockDevice.connect(host, port, name)), clock), clock)


class Accounts(dict):
    """API key -> account, kept in ``path``; secrets only as salted hashes. Enrolments may come
    from several threads (the service's loop, a technician's command): one at a time; and from
    another process (``python -m tseservice enrol``, ``export``): a login that does not match is
    checked again against the file, when it changed."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        self._lock = threading.Lock()
        self._mtime = None
        self._reload()

    def _reload(self):
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except OSError:
            return
        if mtime != self._mtime:
            with open(self.path) as f:
                accounts = json.load(f)
            self.clear()
            self.update(accounts)
            self._mtime = mtime

    def refresh(self):
        """The accounts as the file has them now (the API asks when a login does not match)."""
        with self._lock:
            self._reload()

    def add(self, key, serial=None):
        secret, salt = secrets.token_urlsafe(24), secrets.token_hex(8)
        account = {"salt": salt, "hash": salted_hash(salt, secret)}
        if serial is not None:
            account["serial"] = serial
        with self._lock:
            self._reload()  # what another process enrolled stays
            self[key] = account
            write_private(self.path, dict(self))
            self._mtime = os.stat(self.path).st_mtime_ns
        return secret


class SharedTse:
    def __init__(self, folder, nbd, name="store"):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.tss_id = uuid_of("tss:" + name)
        self.card = card_over_nbd(*nbd)
        self.accounts = Accounts(os.path.join(folder, "accounts.json"))
        self.api = TseApi(os.path.join(folder, "tss"), self._cards, self.accounts)

    def _cards(self, folder, new):
        if os.path.basename(folder) != self.tss_id:
            raise Refusal(409, "Conflict", "this service shares one TSE, TSS %s" % self.tss_id, "E_TSS_LIMIT")
        return self.card

    def app(self):
        return self.api.app()

    def enrol(self, serial):
        """A register's account: ``(api key, api secret)``; the secret is shown this once."""
        key = "register-" + serial
        return key, self.accounts.add(key, serial)

    def operator(self, host, port, tls):
        """The service's own client of its TSS, through its API as the operator (a new
        secret each time: the operator account is used only from inside the service)."""
        from hal.http import request
        from tse_sd.cloud import Api, CloudTseClient

        secret = self.accounts.add(OPERATOR)
        api = Api(host, port, OPERATOR, secret, request, SystemClock(), tls)
        return CloudTseClient(api, self.tss_id, None, os.path.join(self.folder, "admin-puk.json"))

    async def setup(self, host, port, tls, admin_pin):
        """Take the card into service as the TSS (each step skipped when done), through the
        service's own API as its operator. Returns the admin PUK when made now (kept in
        ``admin-puk.json`` first)."""
        client = self.operator(host, port, tls)
        return await client.setup("", admin_pin, "", None, int(time.time()))

    async def export(self, host, port, tls, path):
        """The TSS's whole TAR export (every register's logs) into ``path``, written whole or
        not at all."""
        client = self.operator(host, port, tls)
        with open(path + ".partial", "wb") as f:
            await client.export_tar(f.write)
            f.flush()
            os.fsync(f.fileno())
        os.replace(path + ".partial", path)
