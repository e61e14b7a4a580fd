"""A cloud TSE behind the card's interface (device code): a client of a SIGN DE v2-style REST
API over HTTPS, so that the sale, the journal, the receipts and the exports do not care where
the signature came from.

    client = CloudTseClient(Api(host, 443, api_key, api_secret, tls=ctx), tss_id, log)
    await client.setup(puk, admin_pin, time_admin_pin, "KASSE-1", now)   # TSS and client, once
    start = await client.start_transaction("KASSE-1")
    finish = await client.finish_transaction("KASSE-1", start.number, process_data, "Kassenbeleg-V1")
    service = CloudTseService(client, clock, log, "KASSE-1")             # the card's TseService

The API (docs/tse.md, "Cloud TSE"): ``POST /auth`` gives a bearer token (taken again on a 401
and before it runs out); the TSS is ``/tss/{tss_id}`` (an id the terminal chooses), the
register a client ``/tss/{tss_id}/client/{id}`` whose ``serial_number`` is the client id the
logs carry; each transaction an id the terminal chooses, ``PUT /tss/{tss_id}/tx/{tx_id}
?tx_revision=N``: revision 1 starts it (``ACTIVE``), the last one finishes it (``FINISHED``,
with the receipt as ``standard_v1`` schema). Every call is idempotent: a lost answer is asked
for again with the same request, and the service answers what it signed the first time (no
second signature). The service answers with the log's number, times, signature counter and
signature, and the ``qr_code_data`` whose processData must be the terminal's own.

Timeouts and retries: each request waits ``timeout_ms`` (5 s); a request that gets no answer,
cannot connect or gets a 5xx answer is sent again ``retries`` times (2) after 0.2 s, 0.4 s.
Then it is ``TseUnavailable`` and the sale goes on under the TSE failure rules (the receipt
says so, the journal records why); the transaction left open is finished when the service is
back, by the same idempotent PUTs. A refusal with a WORM error name in ``code`` is that card
error (``tse_sd.errors``), so the till treats a cloud TSE as it treats a card.

The security module (time, self-tests) is the service's own: ``update_time`` and
``self_test`` have nothing to do here, and ``info()`` is what the service said last.
"""

import asyncio
import binascii
import hashlib
import json

from core.errors import ProtocolError
from core.storage import write_atomic
from tse_sd import protocol as p
from tse_sd.errors import STATUS, CardError, TseError, TseProtocolError, TseUnavailable, card_error
from tse_sd.service import TseService

API = "/api/v2"
SIGNATURE_ALGORITHM = "ecdsa-plain-SHA384"
EXPORT_CHUNK = 32768  # bytes of an export file per request (a Range)
# The VAT slots of Kassenbeleg-V1 by their standard_v1 names (firmware.fiscal.processdata order)
VAT_NAMES = ("NORMAL", "REDUCED_1", "SPECIAL_RATE_1", "SPECIAL_RATE_2", "NULL")
RECEIPT_TYPES = {
    "Beleg": "RECEIPT",
    "AVTransfer": "TRANSFER",
    "AVBestellung": "ORDER",
    "AVTraining": "TRAINING",
    "AVBelegstorno": "CANCELLATION",
    "AVBelegabbruch": "ABORT",
    "AVSachbezug": "BENEFIT_IN_KIND",
    "AVSonstige": "OTHER",
    "AVRechnung": "INVOICE",
}
_STATES = {"INITIALIZED": p.STATE_INITIALIZED, "DISABLED": p.STATE_DECOMMISSIONED}


class CloudRefused(TseError):
    """The cloud TSE refused a request for a reason no card has (credentials, a conflict)."""

    code = "tse_cloud"


def uuid_of(text):
    """A stable UUID (version 8 layout) for ``text``: the TSS and client ids the terminal
    chooses are derived from its serial, so a restored terminal finds them again."""
    b = bytearray(hashlib.sha256(text.encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x80
    b[8] = (b[8] & 0x3F) | 0x80
    h = binascii.hexlify(b).decode()
    return "-".join((h[:8], h[8:12], h[12:16], h[16:20], h[20:]))


def new_uuid():
    import os

    return uuid_of(binascii.hexlify(os.urandom(16)).decode())


def _b64(data):
    return binascii.b2a_base64(data).decode().strip()


def _unb64(text, what):
    try:
        return binascii.a2b_base64(text)
    except (TypeError, ValueError):
        raise TseProtocolError("cloud TSE: %s is not base64" % what)


def schema(process_type, process_data):
    """The transaction's ``schema``: ``standard_v1`` for a Kassenbeleg-V1 processData, the
    data as it is (``raw``) for anything else."""
    if process_type == "Kassenbeleg-V1":
        parts = process_data.split("^")
        if len(parts) == 3 and parts[0] in RECEIPT_TYPES and len(parts[1].split("_")) == 5:
            vat = [
                {"vat_rate": name, "amount": amount}
                for name, amount in zip(VAT_NAMES, parts[1].split("_"))
                if amount != "0.00"
            ]
            pay = []
            for item in parts[2].split("_") if parts[2] else ():
                fields = item.split(":")
                entry = {"payment_type": "CASH" if fields[1] == "Bar" else "NON_CASH", "amount": fields[0]}
                if len(fields) > 2:
                    entry["currency_code"] = fields[2]
                pay.append(entry)
            receipt = {
                "receipt_type": RECEIPT_TYPES[parts[0]],
                "amounts_per_vat_rate": vat,
                "amounts_per_payment_type": pay,
            }
            return {"standard_v1": {"receipt": receipt}}
    return {"raw": {"process_type": process_type, "process_data": _b64(process_data.encode())}}


class Api:
    """The HTTP side: bearer token, retries, errors as TSE errors. ``request`` is
    ``hal.http.request`` (given, so that the transport stays the caller's choice)."""

    def __init__(self, host, port, api_key, api_secret, request, clock, tls=None, timeout_ms=5000, retries=2):
        self.host, self.port = host, port
        self._key, self._secret = api_key, api_secret
        self._request = request
        self.clock = clock
        self.tls = tls
        self.timeout_ms = timeout_ms
        self.retries = retries
        self._token = None
        self._refresh = None
        self._expires = 0
        self.round_trips = 0

    async def _send(self, method, path, body=None, headers=None, raw=False):
        """One request, repeated after no answer or a 5xx: ``(status, body)``."""
        last = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(0.2 * attempt)
            try:
                self.round_trips += 1
                status, answer = await self._request(
                    self.host,
                    self.port,
                    method,
                    API + path,
                    body,
                    self.timeout_ms,
                    headers,
                    None,
                    self.tls,
                    raw,
                )
            except asyncio.TimeoutError:
                last = TseUnavailable("cloud TSE: no answer in %d ms" % self.timeout_ms, "timeout")
                continue
            except OSError as e:
                last = TseUnavailable(
                    "cloud TSE %s:%d not reachable (%s)" % (self.host, self.port, e), "unreachable"
                )
                continue
            except ProtocolError as e:
                raise TseProtocolError("cloud TSE %s %s: %s" % (method, path, e))
            if status >= 500:
                last = TseUnavailable("cloud TSE: server error %d" % status, "io")
                continue
            return status, answer
        raise last

    async def _authenticate(self):
        body = (
            {"refresh_token": self._refresh}
            if self._refresh
            else {"api_key": self._key, "api_secret": self._secret}
        )
        status, answer = await self._send("POST", "/auth", body)
        if status == 401 and self._refresh:
            self._refresh = None
            return await self._authenticate()
        if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise CloudRefused("cloud TSE refused the API key (%d)" % status)
        self._token = answer["access_token"]
        self._refresh = answer.get("refresh_token")
        expires = answer.get("access_token_expires_in")
        self._expires = self.clock.now() + (expires if isinstance(expires, int) else 60) - 10

    async def call(self, method, path, body=None, raw=False, headers=None):
        """The answer's body for a 2xx; the error as a TSE error otherwise."""
        for attempt in (1, 2):
            if self._token is None or self.clock.now() >= self._expires:
                await self._authenticate()
            sent = {"Authorization": "Bearer " + self._token}
            if headers:
                sent.update(headers)
            status, answer = await self._send(method, path, body, sent, raw)
            if status == 401 and attempt == 1:
                self._token = None  # ran out early (the service restarted): a new one
                continue
            if 200 <= status < 300:
                return answer
            raise _refusal(status, answer)


def _refusal(status, answer):
    answer = answer if isinstance(answer, dict) else {}
    name, message = answer.get("code"), str(answer.get("message", ""))[:200]
    if name in STATUS:
        return card_error(STATUS[name], message)
    return CloudRefused("cloud TSE refused (%d %s): %s" % (status, answer.get("error", ""), message))


def no_room(info, client_id):
    """The refusal of a register the TSE has no client place for (``info``: a ``CloudInfo``)."""
    used = info.registered_clients, info.max_registered_clients, client_id
    return CloudRefused("the TSE takes no more registers (%d of %d registered): %s refused" % used)


class CloudInfo:
    """What ``TseInfo`` (the card's status block) says, from the TSS as the service described
    it: the service keeps the time and the self-tests, so neither is ever due here."""

    def __init__(self, tss):
        try:
            self.serial = binascii.unhexlify(tss["serial_number"])
            self.public_key = _unb64(tss["public_key"], "the public key")
            self.initialization_state = _STATES.get(tss["state"], p.STATE_UNINITIALIZED)
            self.created_signatures = int(tss.get("signature_counter", 0))
            self.registered_clients = int(tss.get("number_registered_clients", 0))
            self.max_registered_clients = int(tss.get("max_number_registered_clients", 0))
            self.started_transactions = int(tss.get("number_active_transactions", 0))
            self.max_started_transactions = int(tss.get("max_number_active_transactions", 0))
            self.certificate_expiration = int(tss.get("certificate_expiration", 0))
        except (KeyError, TypeError, ValueError) as e:
            raise TseProtocolError("cloud TSE: the TSS description is incomplete (%s)" % e)
        if len(self.serial) != 32:
            raise TseProtocolError("cloud TSE: serial number of %d bytes" % len(self.serial))
        self.description = "cloud TSE " + str(tss.get("_id", ""))
        self.has_valid_time = self.has_passed_self_test = self.ctss_active = True
        self.changed_puk = self.changed_admin_pin = self.changed_time_admin_pin = True
        self.transaction_in_progress = self.started_transactions > 0
        self.time_until_next_self_test = self.time_until_next_time_sync = 86400
        self.max_signatures = self.tar_export_size = self.capacity_sectors = 0
        self.software_version = self.max_time_sync_delay = self.max_update_delay = 0

    @property
    def remaining_signatures(self):
        return 0


def _result(answer):
    """A transaction answer as the card's ``TransactionResult``."""
    try:
        sig = answer["signature"]
        return p.TransactionResult(
            int(answer["number"]),
            binascii.unhexlify(answer["tss_serial_number"]),
            int(answer["log"]["timestamp"]),
            int(sig["counter"]),
            _unb64(sig["value"], "the signature"),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise TseProtocolError("cloud TSE: transaction answer without %s" % e)


class CloudTseClient:
    """The card's SE-API client (``tse_sd.client.TseClient``) for a cloud TSS."""

    def __init__(self, api, tss_id, log=None, puk_file=None):
        self.api = api
        self.tss_id = tss_id
        self.log = log
        self.puk_file = puk_file  # where the TSS's admin PUK is kept when set-up creates it
        self._tss = None
        self._open = {}  # transaction number -> [tx id, revision]
        self._last = None  # the tx id of the last Start/Update/Finish

    def _path(self, rest=""):
        return "/tss/%s%s" % (self.tss_id, rest)

    def info(self):
        if self._tss is None:
            raise TseUnavailable("cloud TSE not reached yet", "unreachable")
        return CloudInfo(self._tss)

    async def refresh(self):
        """Ask the service how the TSS is (the service's ``maintain``)."""
        answer = await self.api.call("GET", self._path())
        CloudInfo(answer)  # complete, or TseProtocolError
        self._tss = answer
        return self.info()

    def close(self):
        pass

    # --- users: the admin is the TSS's; the time admin is the service's own -------------

    async def login(self, user, pin):
        if user == p.USER_ADMIN:
            await self.api.call("POST", self._path("/admin/auth"), {"admin_pin": pin})

    async def logout(self, user):
        if user == p.USER_ADMIN:
            await self.api.call("POST", self._path("/admin/logout"), {})

    async def self_test(self, client_id):
        pass  # the service's security module tests itself

    async def update_time(self, unix_seconds):
        pass  # ... and keeps its own time

    # --- clients ----------------------------------------------------------------------

    async def register_client(self, client_id):
        path = self._path("/client/" + uuid_of(client_id))
        try:
            await self.api.call("PUT", path, {"serial_number": client_id})
        except CardError as e:
            if e.status != STATUS["MAX_REGISTERED_CLIENTS_REACHED"]:
                raise
            raise no_room(await self.refresh(), client_id)

    async def deregister_client(self, client_id):
        await self.api.call("PATCH", self._path("/client/" + uuid_of(client_id)), {"state": "DEREGISTERED"})

    async def list_clients(self):
        answer = await self.api.call("GET", self._path("/client"))
        try:
            return [c["serial_number"] for c in answer["data"] if c.get("state") == "REGISTERED"]
        except (KeyError, TypeError) as e:
            raise TseProtocolError("cloud TSE: client list without %s" % e)

    async def certificate(self):
        if self._tss is None:
            await self.refresh()
        return _unb64(self._tss.get("certificate", ""), "the certificate")

    async def delete_stored_data(self):
        raise CloudRefused("a cloud TSE keeps its logs itself: there is nothing to delete on it")

    async def unblock(self, user, puk, pin):
        """The admin PIN set to ``pin`` again with the TSS's admin PUK, the one kept in
        ``puk_file`` at set-up (``puk``, the card's, has no meaning here)."""
        if user != p.USER_ADMIN:
            raise CloudRefused("a cloud TSS has no time admin: the service keeps its own time")
        try:
            with open(self.puk_file) as f:
                kept = json.load(f)
            if kept["tss_id"] != self.tss_id:
                raise ValueError("it is TSS %s's" % kept["tss_id"])
            admin_puk = kept["admin_puk"]
        except (OSError, TypeError, ValueError, KeyError) as e:
            raise CloudRefused("no admin PUK of TSS %s kept in %s (%s)" % (self.tss_id, self.puk_file, e))
        await self.api.call("PATCH", self._path("/admin"), {"admin_puk": admin_puk, "new_admin_pin": pin})

    async def decommission(self):
        await self.api.call("PATCH", self._path(), {"state": "DISABLED"})

    # --- transactions -----------------------------------------------------------------

    async def _put(self, tx, revision, body):
        answer = await self.api.call("PUT", self._path("/tx/%s?tx_revision=%d" % (tx, revision)), body)
        self._last = tx
        return answer

    async def start_transaction(self, client_id, process_data=b"", process_type=""):
        tx = new_uuid()
        answer = await self._put(tx, 1, {"state": "ACTIVE", "client_id": uuid_of(client_id)})
        result = _result(answer)
        self._open[result.number] = [tx, 1]
        return result

    async def _tx_of(self, number):
        if number not in self._open:
            await self.list_started()
        if number not in self._open:
            raise card_error(STATUS["TRANSACTION_NOT_STARTED"], "no open cloud transaction %d" % number)
        return self._open[number]

    async def _sign(self, state, client_id, number, process_data, process_type):
        if not isinstance(process_data, str):
            process_data = bytes(process_data).decode()
        entry = await self._tx_of(number)
        body = {"state": state, "client_id": uuid_of(client_id), "schema": schema(process_type, process_data)}
        answer = await self._put(entry[0], entry[1] + 1, body)
        entry[1] += 1
        qr = str(answer.get("qr_code_data", "")).split(";")
        if len(qr) < 4 or qr[2] != process_type or qr[3] != process_data:
            raise TseProtocolError("cloud TSE signed other processData than the terminal's: %r" % qr[3:4])
        if state == "FINISHED":
            self._open.pop(number, None)
        return _result(answer)

    async def update_transaction(self, client_id, number, process_data, process_type):
        return await self._sign("ACTIVE", client_id, number, process_data, process_type)

    async def finish_transaction(self, client_id, number, process_data, process_type):
        return await self._sign("FINISHED", client_id, number, process_data, process_type)

    async def last_response(self):
        """The last transaction's latest signed answer (it may have been signed when its answer
        was lost)."""
        if self._last is None:
            raise card_error(STATUS["NO_LAST_TRANSACTION"])
        return _result(await self.api.call("GET", self._path("/tx/" + self._last)))

    async def list_started(self, client_id=""):
        """Numbers of the transactions still ACTIVE (of one client, or all); their ids and
        revisions are kept for the Finish."""
        path = "/tx?states=ACTIVE" + ("&client_id=" + uuid_of(client_id) if client_id else "")
        answer = await self.api.call("GET", self._path(path))
        numbers = []
        try:
            for tx in answer["data"]:
                number = int(tx["number"])
                self._open[number] = [tx["_id"], int(tx["latest_revision"])]
                numbers.append(number)
        except (KeyError, TypeError, ValueError) as e:
            raise TseProtocolError("cloud TSE: transaction list without %s" % e)
        return numbers

    # --- export -----------------------------------------------------------------------

    async def export_tar(self, sink, kind=p.EXPORT_ALL, first=0, last=0, client_id=""):
        """The TAR export made by the service, fetched in ``EXPORT_CHUNK`` ranges into
        ``sink(chunk)``; the same kinds as the card's."""
        query = []
        if kind == p.EXPORT_TRANSACTIONS:
            query += ["start_transaction_number=%d" % first, "end_transaction_number=%d" % last]
        elif kind == p.EXPORT_TIME:
            query += ["start_date=%d" % first, "end_date=%d" % last]
        elif kind == p.EXPORT_SIGNATURES:
            query.append("start_signature_counter=%d" % first)
        if client_id:
            query.append("client_id=" + uuid_of(client_id))
        export = "/export/" + new_uuid()
        answer = await self.api.call("PUT", self._path(export + ("?" + "&".join(query) if query else "")), {})
        for _ in range(600):
            if isinstance(answer, dict) and answer.get("state") == "COMPLETED":
                break
            if isinstance(answer, dict) and answer.get("state") in ("ERROR", "CANCELLED"):
                raise CloudRefused("cloud TSE export %s" % answer.get("state"))
            await asyncio.sleep(0.1)
            answer = await self.api.call("GET", self._path(export))
        else:
            raise TseUnavailable("cloud TSE export not ready in 60 s", "timeout")
        size = answer.get("size")
        if not isinstance(size, int) or size < 0:
            raise TseProtocolError("cloud TSE export without its size")
        offset = 0
        while offset < size:
            end = min(size, offset + EXPORT_CHUNK) - 1
            chunk = await self.api.call(
                "GET",
                self._path(export + "/file"),
                raw=True,
                headers={"Range": "bytes=%d-%d" % (offset, end)},
            )
            if len(chunk) != end - offset + 1:
                raise TseProtocolError(
                    "cloud TSE export: %d bytes for range %d-%d" % (len(chunk), offset, end)
                )
            sink(chunk)
            offset = end + 1

    # --- set-up -----------------------------------------------------------------------

    async def setup(self, puk, admin_pin, time_admin_pin, client_id, now, seed=None):
        """Create the TSS and take it into service, and register this register as its client
        (each step skipped if done): PUT the TSS, personalise it (UNINITIALIZED), set the
        admin PIN with the PUK it gave, log in, INITIALIZED, the client (none: ``client_id``
        empty), log out. Returns the admin PUK when the TSS was created now (shown once; kept
        in ``puk_file``), else None."""
        try:
            tss = await self.api.call("GET", self._path())
        except CloudRefused:
            tss = None
        made = None
        if tss is None:
            tss = await self.api.call("PUT", self._path(), {"metadata": {"register": client_id}})
            made = tss.get("admin_puk")
            if made and self.puk_file:  # shown this once: kept before anything else is done
                write_atomic(self.puk_file, json.dumps({"tss_id": self.tss_id, "admin_puk": made}).encode())
        if tss.get("state") == "CREATED":
            tss = await self.api.call("PATCH", self._path(), {"state": "UNINITIALIZED"})
            if not made:
                raise CloudRefused(
                    "cloud TSS %s was created but not set up: its admin PUK is needed" % self.tss_id
                )
            await self.api.call(
                "PATCH", self._path("/admin"), {"admin_puk": made, "new_admin_pin": admin_pin}
            )
        await self.login(p.USER_ADMIN, admin_pin)
        try:
            if tss.get("state") == "UNINITIALIZED":
                await self.api.call("PATCH", self._path(), {"state": "INITIALIZED"})
            if client_id and client_id not in await self.list_clients():
                await self.register_client(client_id)
        finally:
            await self.logout(p.USER_ADMIN)
        await self.refresh()
        return made


class CloudTseService(TseService):
    """The card's service for a cloud TSS: a round asks the service how the TSS is (and takes
    a token); a long outage is said on the console (``status``: since when)."""

    def __init__(self, client, clock, log, client_id, interval=60, backend="cloud"):
        super().__init__(client, clock, log, client_id, "", interval=interval)
        self.down_since = None
        self.backend = backend  # cloud, or shared (the store's TSE service, same API)
        self.registered = False  # this register is one of the TSS's clients

    async def maintain(self, force=False):
        try:
            info = await self.client.refresh()
            self._update(info)
            if not self.registered:  # once: a register the TSE refused as a client cannot sign
                self.registered = self.client_id in await self.client.list_clients()
                if not self.registered:
                    if 0 < info.max_registered_clients <= info.registered_clients:
                        raise no_room(info, self.client_id)
                    raise CloudRefused("%s is not a client of the TSE (tse setup)" % self.client_id)
            if self.down_since is not None:
                self.log.info(
                    "%s TSE reachable again after %d s", self.backend, self.clock.now() - self.down_since
                )
            self.down_since = None
        except TseError as e:
            self.failed(e)
        return self.state

    def failed(self, error):
        super().failed(error)
        if isinstance(error, CloudRefused):
            self.reason = str(error)  # the service's own words: credentials, the client limit
        if self.down_since is None and self.state == "unavailable":
            self.down_since = self.clock.now()

    async def sync_time(self):
        pass  # the cloud's security module keeps its own time

    def refresh(self):
        return self.state  # no status block to read: the last round's answer stands

    def status(self):
        out = super().status()
        out["backend"] = self.backend
        if self.down_since is not None:
            out["down_since"] = self.down_since
            out["reason"] = "%s (since %d s)" % (out["reason"], self.clock.now() - self.down_since)
        return out
