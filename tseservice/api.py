"""The TSE service (host code): a SIGN DE v2-style REST API in front of TSE cards, so that a
register signs without a card of its own. Each TSS is one card — the simulator's cloud TSE
(tools/sim/cloudtse.py) gives each an emulated card; the store's shared TSE
(tseservice/share.py) is the store's one card, reached over NBD — driven through the
firmware's own SE-API client (tse_sd/client.py). It signs real TR-03151 logs and exports them
as the card's TAR.

    api = TseApi("out/tse-service", cards, accounts={"key": {"secret": "s"}})
    server = AppThread("tse-service", api.app, ssl_context=tls_context(cert, key)).start()

``cards(folder, new)`` is the card of the TSS kept in ``folder`` (a ``Card``), made there when
``new``. ``accounts`` maps an API key to ``{"secret"}`` (or ``{"salt", "hash"}``), with
``"serial"`` for an account bound to one register: that one may register its own serial as a
client and sign only as it, and cannot change the TSS's state.

The API (under ``/api/v2``; docs/tse.md "Cloud TSE"): ``POST /auth`` (``api_key`` and
``api_secret``, or a ``refresh_token``) gives a bearer token for ``token_s`` seconds; ``PUT
/tss/{id}`` creates a TSS (``CREATED``, the ``admin_puk`` in that one answer); ``PATCH
/tss/{id}`` ``{"state": "UNINITIALIZED"|"INITIALIZED"|"DISABLED"}``; ``PATCH /tss/{id}/admin``
``{"admin_puk", "new_admin_pin"}``; ``POST /tss/{id}/admin/auth`` ``{"admin_pin"}`` and
``/admin/logout``; ``PUT|PATCH|GET /tss/{id}/client[/{cid}]`` (``serial_number`` is the
client id in the logs); ``PUT /tss/{id}/tx/{tx}?tx_revision=N`` (``ACTIVE`` starts, a later
revision ``FINISHED`` with a ``standard_v1`` or ``raw`` schema finishes), ``GET
/tss/{id}/tx[/{tx}]`` (``?states=ACTIVE&client_id=``); ``PUT /tss/{id}/export/{e}`` (query
``start_transaction_number``/``end_transaction_number``, ``start_date``/``end_date``,
``start_signature_counter``, ``client_id``), ``GET …/export/{e}`` and ``…/export/{e}/file``
(the TAR; ``Range`` honoured). Errors are ``{"status_code", "error", "code", "message"}``
with the card's WORM error name in ``code`` where the card refused.

A revision already answered is answered again from the record (``tx.jsonl``), not signed
twice; the same revision with another body is a 409. The card's commands are serialised per
TSS. The service keeps the card's time and self-test itself (as a cloud's SMA does); the PUK
and PINs of the card are the service's own, kept with the TSS, the TSS's admin PIN only as a
hash. ``stats`` counts requests, signatures and answers given again.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time

from aiohttp import web

from firmware.fiscal.processdata import kassenbeleg_v1
from firmware.fiscal.qr import b64, receipt_qr
from tse_sd import protocol as p
from tse_sd.client import LOG_TIME_FORMAT, SIGNATURE_ALGORITHM, initial_credentials
from tse_sd.cloud import VAT_NAMES
from tse_sd.errors import CardError, TseError

TYPES = {
    "RECEIPT": "Beleg",
    "TRANSFER": "AVTransfer",
    "ORDER": "AVBestellung",
    "TRAINING": "AVTraining",
    "CANCELLATION": "AVBelegstorno",
    "ABORT": "AVBelegabbruch",
    "BENEFIT_IN_KIND": "AVSachbezug",
    "OTHER": "AVSonstige",
    "INVOICE": "AVRechnung",
}
_AMOUNT = re.compile(r"^-?\d{1,12}\.\d\d$")
log = logging.getLogger("tseservice")
_ID = re.compile(r"^[0-9a-fA-F-]{8,64}$")


CHECK_S = 60  # how often a TSS reads its card's status before signing (time sync and self-test)
ACCOUNT = web.RequestKey("account", dict)  # the request's account (its API key's)
TOKEN = web.RequestKey("token", str)  # its access token: the session an admin login belongs to


class Refusal(Exception):
    def __init__(self, status, error, message, code=""):
        super().__init__(message)
        self.status, self.error, self.code = status, error, code


def write_private(path, value):
    """``value`` as JSON in ``path``, readable by this user only, replaced whole: a power cut
    leaves the old file or the new one."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        os.chmod(tmp, 0o600)  # before a byte of it is written
        json.dump(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def salted_hash(salt, secret):
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def secret_ok(account, given):
    """``given`` is the account's secret: kept as it is (``secret``) or salted (``salt``, ``hash``)."""
    if "hash" in account:
        return hmac.compare_digest(salted_hash(account["salt"], given), account["hash"])
    return hmac.compare_digest(given, account.get("secret", ""))


def _cents(text, what):
    if not isinstance(text, str) or not _AMOUNT.match(text):
        raise Refusal(
            400, "Bad Request", "%s: an amount is a string with two decimals, not %r" % (what, text)
        )
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))


def process_data(schema):
    """``(processType, processData)`` of a transaction's schema."""
    if not isinstance(schema, dict):
        raise Refusal(400, "Bad Request", "schema missing")
    if "raw" in schema:
        raw = schema["raw"]
        try:
            import base64

            return str(raw["process_type"]), base64.b64decode(raw["process_data"], validate=True).decode()
        except (KeyError, TypeError, ValueError) as e:
            raise Refusal(400, "Bad Request", "raw schema: %s" % e)
    try:
        receipt = schema["standard_v1"]["receipt"]
        kind = TYPES[receipt["receipt_type"]]
        slots = [0] * 5
        for row in receipt.get("amounts_per_vat_rate", []):
            slots[VAT_NAMES.index(row["vat_rate"])] += _cents(row["amount"], "amounts_per_vat_rate")
        payments = []
        for row in receipt.get("amounts_per_payment_type", []):
            kind_of = {"CASH": "Bar", "NON_CASH": "Unbar"}[row["payment_type"]]
            pay = (_cents(row["amount"], "amounts_per_payment_type"), kind_of)
            payments.append(pay + ((row["currency_code"],) if row.get("currency_code") else ()))
        return "Kassenbeleg-V1", kassenbeleg_v1(kind, slots, payments)
    except (KeyError, TypeError, ValueError) as e:
        raise Refusal(400, "Bad Request", "standard_v1 schema: %r" % (e,))


class Card:
    """A TSS's security module: ``client`` (a ``tse_sd.client.TseClient``), ``clock`` (its
    ``now()`` sets the card's time)."""

    def __init__(self, client, clock):
        self.client = client
        self.clock = clock


class Tss:
    """One TSS: its card, its clients, its transactions' answers, its exports."""

    def __init__(self, folder, card):
        self.folder = folder
        self.id = os.path.basename(folder)
        self.card = card
        self.client = card.client
        self.certificate = None  # the TSE's (DER), read from the card once
        self.public_key = None  # its public key, read once
        self.checked_until = 0  # the card's time and self-test are good until then (monotonic)
        self.lock = asyncio.Lock()
        self.meta_path = os.path.join(folder, "tss.json")
        with open(self.meta_path) as f:
            self.meta = json.load(f)
        self.answers = {}  # (tx, revision) -> (body hash, answer)
        self.txs = {}  # tx -> the latest answer
        path = os.path.join(folder, "tx.jsonl")
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    if line.endswith("\n"):  # a torn last line is a request never answered
                        entry = json.loads(line)
                        self._remember(entry["tx"], entry["revision"], entry["body"], entry["answer"])
        self._log = open(path, "a")
        self.admins = {}  # access token -> until when its session is the admin's (monotonic)

    @staticmethod
    def create(folder, metadata):
        """A new TSS's record: the card's PUK and PINs the service's own; the admin PUK."""
        os.makedirs(folder, exist_ok=True)  # its card may be kept there
        puk = secrets.token_hex(5)
        salt = secrets.token_hex(8)
        meta = {
            "state": "CREATED",
            "metadata": metadata if isinstance(metadata, dict) else {},
            "puk": {"salt": salt, "hash": salted_hash(salt, puk)},
            "admin_pin": None,
            "card": {"puk": "%06d" % secrets.randbelow(10**6), "admin": "%05d" % secrets.randbelow(10**5)},
            "clients": {},
            "created": int(time.time()),
        }
        meta["card"]["time_admin"] = "%05d" % secrets.randbelow(10**5)
        write_private(os.path.join(folder, "tss.json"), meta)
        return puk

    def save(self):
        write_private(self.meta_path, self.meta)

    def _remember(self, tx, revision, body, answer):
        self.answers[(tx, revision)] = (body, answer)
        latest = self.txs.get(tx)
        if latest is None or latest["revision"] <= revision:
            self.txs[tx] = answer

    def record(self, tx, revision, body, answer):
        self._remember(tx, revision, body, answer)
        self._log.write(json.dumps({"tx": tx, "revision": revision, "body": body, "answer": answer}) + "\n")
        self._log.flush()
        os.fsync(self._log.fileno())

    # --- the card, as the service's security module ------------------------------------

    async def _as_admin(self, fn):
        await self.client.login(p.USER_ADMIN, self.meta["card"]["admin"])
        try:
            return await fn()
        finally:
            await self.client.logout(p.USER_ADMIN)

    async def personalise(self):
        """The card's PUK and PINs from its initial ones to the service's."""
        first_puk, first_admin, first_time = initial_credentials(self.client.info().serial)
        own = self.meta["card"]
        await self.client.change_puk(first_puk, own["puk"])
        await self.client.change_pin(p.USER_ADMIN, first_admin, own["admin"])
        await self.client.change_pin(p.USER_TIME_ADMIN, first_time, own["time_admin"])

    async def ready(self):
        """Time and self-test kept, as an SMA does, before the card is asked to sign: its
        status read once a minute (well inside the margins below), and again after the card
        refused a command (``checked_until`` reset)."""
        if time.monotonic() < self.checked_until:
            return
        info = self.client.info()
        if self.public_key is None:
            self.public_key = info.public_key
        if info.initialization_state != p.STATE_INITIALIZED:
            return
        if not info.has_valid_time or info.time_until_next_time_sync < 300:
            await self.client.login(p.USER_TIME_ADMIN, self.meta["card"]["time_admin"])
            try:
                await self.client.update_time(int(self.card.clock.now()))
            finally:
                await self.client.logout(p.USER_TIME_ADMIN)
        if not info.has_passed_self_test or info.time_until_next_self_test < 3600:
            clients = [c["serial_number"] for c in self.meta["clients"].values()]
            await self.client.self_test(clients[0] if clients else "SMA")
        self.checked_until = time.monotonic() + CHECK_S

    async def initialise(self):
        async def steps():
            await self.client.login(p.USER_TIME_ADMIN, self.meta["card"]["time_admin"])
            try:
                await self.client.update_time(int(self.card.clock.now()))
            finally:
                await self.client.logout(p.USER_TIME_ADMIN)
            await self.client.self_test("SMA")  # no client yet: the card takes any id
            await self.client.enable_ctss()
            await self.client.initialize()

        await self._as_admin(steps)

    async def describe(self):
        if self.certificate is None:
            self.certificate = await self.client.certificate()
        info = self.client.info()
        clients = self.meta["clients"]
        return {
            "_id": self.id,
            "_type": "TSS",
            "state": self.meta["state"],
            "metadata": self.meta["metadata"],
            "serial_number": info.serial.hex(),
            "public_key": b64(info.public_key),
            "certificate": b64(self.certificate),
            "signature_algorithm": SIGNATURE_ALGORITHM,
            "signature_timestamp_format": LOG_TIME_FORMAT,
            "signature_counter": info.created_signatures,
            "transaction_counter": max((tx["number"] for tx in self.txs.values()), default=0),
            "number_registered_clients": sum(1 for c in clients.values() if c["state"] == "REGISTERED"),
            "max_number_registered_clients": info.max_registered_clients,
            "number_active_transactions": info.started_transactions,
            "max_number_active_transactions": info.max_started_transactions,
            "certificate_expiration": info.certificate_expiration,
            "time_creation": self.meta["created"],
        }


def error_response(status, error, message, code=""):
    return web.json_response(
        {"status_code": status, "error": error, "code": code, "message": message}, status=status
    )


class TseApi:
    def __init__(self, folder, cards, accounts, token_s=600):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.cards = cards
        self.accounts = accounts
        self.token_s = token_s
        self.tokens = {}  # access token -> (expiry (monotonic), API key)
        self.refresh_tokens = {}  # refresh token -> API key
        self.tss = {}
        self.stats = {"requests": 0, "signed": 0, "repeated": 0}

    # --- the service ----------------------------------------------------------------------

    def app(self):
        app = web.Application(middlewares=self.middlewares())
        r = app.router
        r.add_post("/api/v2/auth", self.auth)
        r.add_get("/api/v2/tss/{tss}", self.get_tss)
        r.add_put("/api/v2/tss/{tss}", self.put_tss)
        r.add_patch("/api/v2/tss/{tss}", self.patch_tss)
        r.add_patch("/api/v2/tss/{tss}/admin", self.set_admin_pin)
        r.add_post("/api/v2/tss/{tss}/admin/auth", self.admin_auth)
        r.add_post("/api/v2/tss/{tss}/admin/logout", self.admin_logout)
        r.add_get("/api/v2/tss/{tss}/client", self.list_clients)
        r.add_put("/api/v2/tss/{tss}/client/{client}", self.put_client)
        r.add_patch("/api/v2/tss/{tss}/client/{client}", self.patch_client)
        r.add_get("/api/v2/tss/{tss}/tx", self.list_tx)
        r.add_put("/api/v2/tss/{tss}/tx/{tx}", self.put_tx)
        r.add_get("/api/v2/tss/{tss}/tx/{tx}", self.get_tx)
        r.add_put("/api/v2/tss/{tss}/export/{export}", self.put_export)
        r.add_get("/api/v2/tss/{tss}/export/{export}", self.get_export)
        r.add_get("/api/v2/tss/{tss}/export/{export}/file", self.export_file)
        return app

    def middlewares(self):
        return [self._errors_mw]

    @web.middleware
    async def _errors_mw(self, request, handler):
        try:
            self.stats["requests"] += 1
            if request.path != "/api/v2/auth":
                request[ACCOUNT] = self._authorised(request)
            return await handler(request)
        except Refusal as e:
            return error_response(e.status, e.error, str(e), e.code)
        except CardError as e:
            return error_response(409, "Conflict", str(e), e.name)
        except TseError as e:
            return error_response(500, "Internal Server Error", "the security module failed: %s" % e)
        except web.HTTPException:
            raise
        except Exception as e:  # a bug here: said as JSON, and in the log
            log.exception("TSE service: %s %s", request.method, request.path)
            return error_response(500, "Internal Server Error", "%s: %s" % (type(e).__name__, e))

    def _authorised(self, request):
        token = request.headers.get("Authorization", "")[7:]
        expiry, key = self.tokens.get(token, (0, None))
        if expiry < time.monotonic() or key not in self.accounts:
            raise Refusal(401, "Unauthorized", "no valid access token", "E_UNAUTHORIZED")
        request[TOKEN] = token
        return self.accounts[key]

    @staticmethod
    def _bound(request, serial=None):
        """An account bound to one register acts for that register only."""
        own = request[ACCOUNT].get("serial")
        if own is not None and serial != own:
            raise Refusal(403, "Forbidden", "this account signs for %s only" % own, "E_FORBIDDEN")

    async def _json(self, request):
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            raise Refusal(400, "Bad Request", "the body is not JSON")
        if not isinstance(body, dict):
            raise Refusal(400, "Bad Request", "the body is not an object")
        return body

    def _tss(self, request, must_exist=True):
        tss_id = request.match_info["tss"]
        if not _ID.match(tss_id):
            raise Refusal(400, "Bad Request", "a TSS id is a UUID")
        tss = self.tss.get(tss_id)
        folder = os.path.join(self.folder, tss_id)
        if tss is None and os.path.exists(os.path.join(folder, "tss.json")):
            tss = self.tss[tss_id] = Tss(folder, self.cards(folder, False))
        if tss is None and must_exist:
            raise Refusal(404, "Not Found", "no TSS %s" % tss_id, "E_TSS_NOT_FOUND")
        return tss

    @staticmethod
    def _admin(tss, request):
        """The admin logged in, in this session (its access token): registers setting
        themselves up at once on a shared TSS do not log each other out."""
        if tss.admins.get(request[TOKEN], 0) < time.monotonic():
            raise Refusal(401, "Unauthorized", "the admin is not logged in", "E_ADMIN_NOT_AUTHENTICATED")

    # --- handlers -------------------------------------------------------------------------

    def _login_ok(self, key, secret):
        """The key's account and its secret; accounts kept in a file another process writes
        (``refresh``: tseservice/share.py) are read again before a login is refused."""
        if key in self.accounts and secret_ok(self.accounts[key], secret):
            return True
        if not hasattr(self.accounts, "refresh"):
            return False
        self.accounts.refresh()
        return key in self.accounts and secret_ok(self.accounts[key], secret)

    async def auth(self, request):
        body = await self._json(request)
        if "refresh_token" in body:
            key = self.refresh_tokens.pop(str(body["refresh_token"]), None)
            if key not in self.accounts:
                raise Refusal(401, "Unauthorized", "unknown refresh token", "E_UNAUTHORIZED")
        else:
            key, secret = str(body.get("api_key", "")), str(body.get("api_secret", ""))
            if not self._login_ok(key, secret):
                raise Refusal(401, "Unauthorized", "wrong API key or secret", "E_UNAUTHORIZED")
        token, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.tokens[token] = (time.monotonic() + self.token_s, key)
        self.refresh_tokens[refresh] = key
        return web.json_response(
            {
                "access_token": token,
                "access_token_expires_in": self.token_s,
                "access_token_expires_at": int(time.time()) + self.token_s,
                "refresh_token": refresh,
                "refresh_token_expires_in": 7 * 86400,
            }
        )

    async def get_tss(self, request):
        tss = self._tss(request)
        async with tss.lock:
            return web.json_response(await tss.describe())

    async def put_tss(self, request):
        self._bound(request)
        body = await self._json(request)
        if self._tss(request, must_exist=False) is not None:
            raise Refusal(409, "Conflict", "the TSS exists", "E_TSS_CONFLICT")
        tss_id = request.match_info["tss"]
        folder = os.path.join(self.folder, tss_id)
        card = self.cards(folder, True)  # refused before anything is made
        puk = Tss.create(folder, body.get("metadata"))
        tss = self.tss[tss_id] = Tss(folder, card)
        async with tss.lock:
            await tss.personalise()
            return web.json_response(dict(await tss.describe(), admin_puk=puk))

    async def patch_tss(self, request):
        self._bound(request)
        tss = self._tss(request)
        state = (await self._json(request)).get("state")
        async with tss.lock:
            now = tss.meta["state"]
            if state == "UNINITIALIZED" and now == "CREATED":
                pass
            elif state == "INITIALIZED" and now == "UNINITIALIZED":
                self._admin(tss, request)
                if tss.meta["admin_pin"] is None:
                    raise Refusal(409, "Conflict", "set the admin PIN first", "E_ADMIN_PIN_NOT_SET")
                await tss.initialise()
            elif state == "DISABLED" and now != "DISABLED":
                self._admin(tss, request)
                await tss._as_admin(tss.client.decommission)
            elif state != now:
                raise Refusal(409, "Conflict", "a TSS goes from %s not to %s" % (now, state), "E_TSS_STATE")
            tss.meta["state"] = state
            tss.save()
            return web.json_response(await tss.describe())

    async def set_admin_pin(self, request):
        tss = self._tss(request)
        body = await self._json(request)
        puk, pin = str(body.get("admin_puk", "")), body.get("new_admin_pin")
        if not isinstance(pin, str) or len(pin) < 6:
            raise Refusal(400, "Bad Request", "the admin PIN has at least 6 characters")
        stored = tss.meta["puk"]
        if not hmac.compare_digest(salted_hash(stored["salt"], puk), stored["hash"]):
            raise Refusal(401, "Unauthorized", "wrong admin PUK", "AUTHENTICATION_FAILED")
        salt = secrets.token_hex(8)
        tss.meta["admin_pin"] = {"salt": salt, "hash": salted_hash(salt, pin), "tries": 0}
        tss.save()
        async with tss.lock:
            return web.json_response(await tss.describe())

    async def admin_auth(self, request):
        tss = self._tss(request)
        pin = str((await self._json(request)).get("admin_pin", ""))
        stored = tss.meta["admin_pin"]
        if stored is None:
            raise Refusal(409, "Conflict", "no admin PIN set", "E_ADMIN_PIN_NOT_SET")
        if stored["tries"] >= 3:
            raise Refusal(
                423, "Locked", "the admin PIN is blocked: set a new one with the PUK", "PIN_BLOCKED"
            )
        if not hmac.compare_digest(salted_hash(stored["salt"], pin), stored["hash"]):
            stored["tries"] += 1
            tss.save()
            raise Refusal(401, "Unauthorized", "wrong admin PIN", "AUTHENTICATION_FAILED")
        stored["tries"] = 0
        tss.save()
        tss.admins[request[TOKEN]] = time.monotonic() + 900
        return web.json_response({})

    async def admin_logout(self, request):
        self._tss(request).admins.pop(request[TOKEN], None)
        return web.json_response({})

    def _client(self, tss, cid):
        client = tss.meta["clients"].get(cid)
        if client is None:
            raise Refusal(404, "Not Found", "no client %s" % cid, "E_CLIENT_NOT_FOUND")
        return client

    async def list_clients(self, request):
        tss = self._tss(request)
        data = [dict(c, _id=cid) for cid, c in tss.meta["clients"].items()]
        return web.json_response({"data": data, "count": len(data)})

    async def put_client(self, request):
        tss = self._tss(request)
        cid = request.match_info["client"]
        serial = (await self._json(request)).get("serial_number")
        if not isinstance(serial, str) or not 0 < len(serial) <= p.CLIENT_ID_MAX:
            raise Refusal(400, "Bad Request", "serial_number: 1 to %d characters" % p.CLIENT_ID_MAX)
        self._bound(request, serial)
        async with tss.lock:
            known = tss.meta["clients"].get(cid)
            if known is not None and known["serial_number"] != serial:
                raise Refusal(
                    409, "Conflict", "client %s has another serial number" % cid, "E_CLIENT_CONFLICT"
                )
            if known is None or known["state"] != "REGISTERED":
                self._admin(tss, request)
                if tss.meta["state"] != "INITIALIZED":
                    raise Refusal(409, "Conflict", "the TSS is %s" % tss.meta["state"], "E_TSS_STATE")
                await tss._as_admin(lambda: tss.client.register_client(serial))
                tss.meta["clients"][cid] = {"serial_number": serial, "state": "REGISTERED"}
                tss.save()
            return web.json_response(dict(tss.meta["clients"][cid], _id=cid, tss_id=tss.id))

    async def patch_client(self, request):
        tss = self._tss(request)
        cid = request.match_info["client"]
        state = (await self._json(request)).get("state")
        async with tss.lock:
            client = self._client(tss, cid)
            self._bound(request, client["serial_number"])
            self._admin(tss, request)
            if state == "DEREGISTERED" and client["state"] == "REGISTERED":
                await tss._as_admin(lambda: tss.client.deregister_client(client["serial_number"]))
            elif state == "REGISTERED" and client["state"] != "REGISTERED":
                await tss._as_admin(lambda: tss.client.register_client(client["serial_number"]))
            elif state not in ("REGISTERED", "DEREGISTERED"):
                raise Refusal(400, "Bad Request", "state: REGISTERED or DEREGISTERED")
            client["state"] = state
            tss.save()
            return web.json_response(dict(client, _id=cid))

    async def put_tx(self, request):
        tss = self._tss(request)
        tx = request.match_info["tx"]
        if not _ID.match(tx):
            raise Refusal(400, "Bad Request", "a transaction id is a UUID")
        try:
            revision = int(request.query.get("tx_revision", ""))
        except ValueError:
            raise Refusal(400, "Bad Request", "tx_revision is a number")
        body = await self._json(request)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        async with tss.lock:
            held = tss.answers.get((tx, revision))
            if held is not None:
                if held[0] != digest:
                    raise Refusal(
                        409,
                        "Conflict",
                        "revision %d of %s was another request" % (revision, tx),
                        "E_TX_CONFLICT",
                    )
                self.stats["repeated"] += 1
                return web.json_response(held[1])  # answered before: not signed again
            latest = tss.txs.get(tx)
            expected = 1 if latest is None else latest["revision"] + 1
            if revision != expected:
                raise Refusal(
                    409, "Conflict", "the next revision of %s is %d" % (tx, expected), "E_TX_REVISION"
                )
            if tss.meta["state"] != "INITIALIZED":
                raise Refusal(409, "Conflict", "the TSS is %s" % tss.meta["state"], "NOT_INITIALIZED")
            client = self._client(tss, str(body.get("client_id", "")))
            if client["state"] != "REGISTERED":
                raise Refusal(409, "Conflict", "the client is deregistered", "CLIENT_NOT_REGISTERED")
            serial, state = client["serial_number"], body.get("state")
            self._bound(request, serial)
            try:
                answer = await self._sign(tss, tx, revision, body, serial, state, latest)
            except TseError:  # refused (its time or self-test lost: put back, a power cut) or gone
                tss.checked_until = 0  # its status read again first, at the register's retry
                raise
            tss.record(tx, revision, digest, answer)
            self.stats["signed"] += 1
            return web.json_response(answer)

    async def _sign(self, tss, tx, revision, body, serial, state, latest):
        """The card's command for revision ``revision`` of ``tx``; the answer."""
        await tss.ready()
        if latest is None:
            if state != "ACTIVE":
                raise Refusal(400, "Bad Request", "revision 1 starts a transaction (ACTIVE)")
            result = await tss.client.start_transaction(serial)
            return self._tx_answer(tss, tx, revision, body, serial, result, result, "", "")
        if latest["state"] != "ACTIVE":
            raise Refusal(409, "Conflict", "transaction %s is %s" % (tx, latest["state"]), "E_TX_STATE")
        if latest["client_serial_number"] != serial:
            raise Refusal(409, "Conflict", "transaction %s is another client's" % tx, "E_TX_CLIENT")
        ptype, pdata = process_data(body.get("schema"))
        if state == "FINISHED":
            result = await tss.client.finish_transaction(serial, latest["number"], pdata, ptype)
        elif state == "ACTIVE":
            result = await tss.client.update_transaction(serial, latest["number"], pdata, ptype)
        else:
            raise Refusal(400, "Bad Request", "state: ACTIVE or FINISHED")
        return self._tx_answer(tss, tx, revision, body, serial, latest, result, ptype, pdata)

    def _tx_answer(self, tss, tx, revision, body, serial, start, result, ptype, pdata):
        public_key = tss.public_key or tss.client.info().public_key
        started = start["time_start"] if isinstance(start, dict) else result.log_time
        if revision == 1:
            operation = "StartTransaction"
        else:
            operation = "FinishTransaction" if body["state"] == "FINISHED" else "UpdateTransaction"
        answer = {
            "_id": tx,
            "_type": "TRANSACTION",
            "number": result.number,
            "state": body["state"],
            "revision": revision,
            "latest_revision": revision,
            "client_id": body["client_id"],
            "client_serial_number": serial,
            "tss_id": tss.id,
            "tss_serial_number": result.serial.hex(),
            "time_start": started,
            "log": {
                "operation": operation,
                "timestamp": result.log_time,
                "timestamp_format": LOG_TIME_FORMAT,
            },
            "signature": {
                "value": b64(result.signature),
                "counter": result.signature_counter,
                "algorithm": SIGNATURE_ALGORITHM,
                "public_key": b64(public_key),
            },
        }
        if "schema" in body:
            answer["schema"] = body["schema"]
        if body["state"] == "FINISHED":
            answer["time_end"] = result.log_time
            begun = p.TransactionResult(result.number, result.serial, started, 0, b"")
            answer["qr_code_data"] = receipt_qr(serial, begun, result, ptype, pdata, public_key)
        return answer

    async def get_tx(self, request):
        tss = self._tss(request)
        answer = tss.txs.get(request.match_info["tx"])
        if answer is None:
            raise Refusal(404, "Not Found", "no transaction %s" % request.match_info["tx"], "E_TX_NOT_FOUND")
        return web.json_response(answer)

    async def list_tx(self, request):
        tss = self._tss(request)
        states = request.query.get("states", "").split(",") if request.query.get("states") else None
        client = request.query.get("client_id")
        data = [
            tx
            for tx in tss.txs.values()
            if (states is None or tx["state"] in states) and (client is None or tx["client_id"] == client)
        ]
        return web.json_response({"data": data, "count": len(data)})

    def _export_path(self, tss, export):
        if not _ID.match(export):
            raise Refusal(400, "Bad Request", "an export id is a UUID")
        return os.path.join(tss.folder, "exports", export)

    async def put_export(self, request):
        tss = self._tss(request)
        path = self._export_path(tss, request.match_info["export"])
        q = request.query
        kind, first, last = p.EXPORT_ALL, 0, 0
        try:
            if "start_transaction_number" in q:
                kind, first, last = (
                    p.EXPORT_TRANSACTIONS,
                    int(q["start_transaction_number"]),
                    int(q["end_transaction_number"]),
                )
            elif "start_date" in q:
                kind, first, last = p.EXPORT_TIME, int(q["start_date"]), int(q["end_date"])
            elif "start_signature_counter" in q:
                kind, first = p.EXPORT_SIGNATURES, int(q["start_signature_counter"])
        except (KeyError, ValueError):
            raise Refusal(400, "Bad Request", "export range: whole numbers, both ends")
        serial = self._client(tss, q["client_id"])["serial_number"] if "client_id" in q else ""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path + ".tar"):
            async with tss.lock:
                with open(path + ".part", "wb") as f:
                    await tss.client.export_tar(f.write, kind, first, last, serial)
                os.replace(path + ".part", path + ".tar")
        return web.json_response(self._export(request.match_info["export"], path))

    def _export(self, export, path):
        return {"_id": export, "state": "COMPLETED", "size": os.path.getsize(path + ".tar")}

    async def get_export(self, request):
        tss = self._tss(request)
        path = self._export_path(tss, request.match_info["export"])
        if not os.path.exists(path + ".tar"):
            raise Refusal(404, "Not Found", "no export %s" % request.match_info["export"])
        return web.json_response(self._export(request.match_info["export"], path))

    async def export_file(self, request):
        tss = self._tss(request)
        path = self._export_path(tss, request.match_info["export"])
        if not os.path.exists(path + ".tar"):
            raise Refusal(404, "Not Found", "no export %s" % request.match_info["export"])
        return web.FileResponse(path + ".tar", headers={"Content-Type": "application/x-tar"})
