"""What the terminals speak to the store server: enrolment, journal, master data, backups
(host code; JSON over HTTP, every call but enrolment with ``Authorization: Bearer <token>``
and ``X-Register: <serial>``).

    POST /api/v1/enrol          {"serial", "code"} -> {"token"}       the code from the back office
    GET  /api/v1/head           -> {"head", "hash", "forked"}          where to push from
    POST /api/v1/journal        {"after", "lines", "status"} -> {"head", "master"}
    GET  /api/v1/master         -> {"version", "data"}                 the store's master data
    PUT  /api/v1/backup         {"settings", "master", "console_users", "made"} -> {}
    GET  /api/v1/backup/<serial>  -> the backup of a register of this store (a replacement's restore)
    GET  /api/v1/tse-exports    -> {"name": size, ...}                 what the server has
    PUT  /api/v1/tse-exports/<name>?offset=N   bytes appended at N -> {"size"}

An enrolment code is made in the back office (or ``python -m storeserver enrol SERIAL``),
valid for a day and once; the token the terminal gets for it is kept on the server only as
its SHA-256. Refusals are ``{"error": ...}`` with 400/401/404/409/422.
"""

import hashlib
import hmac
import json
import re
import secrets

from aiohttp import web

from storeserver.ingest import PushRefused, token_hash
from storeserver.masterdata import latest

EXPORT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}\.tar$")
MAX_EXPORT = 512 * 1024 * 1024


async def new_code(pool, serial, name=""):
    """A one-time enrolment code for register ``serial`` (a new register, or a replaced one's
    new token: the old token stops working when the code is used)."""
    from firmware.register.limits import check_serial

    check_serial(serial)
    code = "-".join(secrets.token_hex(2).upper() for _ in range(4))
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO registers (serial, name, code_hash, code_expires)"
            " VALUES (%s, %s, %s, now() + interval '1 day')"
            " ON CONFLICT (serial) DO UPDATE SET code_hash = excluded.code_hash,"
            " code_expires = excluded.code_expires, name = CASE WHEN excluded.name = '' THEN registers.name"
            " ELSE excluded.name END",
            (serial, name, token_hash(code)),
        )
    return code


async def enrol(pool, serial, code):
    """The token for a valid code (used up by this); ``PushRefused`` 401 otherwise."""
    async with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        await cur.execute(
            "SELECT code_hash FROM registers WHERE serial = %s AND code_expires > now() FOR UPDATE", (serial,)
        )
        row = await cur.fetchone()
        if row is None or row[0] is None or not hmac.compare_digest(row[0], token_hash(code)):
            raise PushRefused(401, {"error": "no such enrolment code for this register (or it expired)"})
        token = secrets.token_urlsafe(32)
        await cur.execute(
            "UPDATE registers SET token_hash = %s, code_hash = NULL, code_expires = NULL, enrolled = now()"
            " WHERE serial = %s",
            (token_hash(token), serial),
        )
        await cur.execute("INSERT INTO audit_log (who, what) VALUES (%s, 'enrolled')", (serial,))
    return token


def _who(request):
    auth = request.headers.get("Authorization", "")
    token = auth[7:] if auth.startswith("Bearer ") else ""
    return request.headers.get("X-Register", ""), token


async def _body(request):
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise PushRefused(400, {"error": "the body is not JSON"})
    if not isinstance(data, dict):
        raise PushRefused(400, {"error": "the body is a JSON object"})
    return data


class Api:
    def __init__(self, store):
        self.store = store  # storeserver.app.Store: pool, ingest

    def routes(self):
        return [
            web.post("/api/v1/enrol", self.enrol),
            web.get("/api/v1/head", self.head),
            web.post("/api/v1/journal", self.journal),
            web.get("/api/v1/master", self.master),
            web.put("/api/v1/backup", self.put_backup),
            web.get("/api/v1/backup/{serial}", self.get_backup),
            web.get("/api/v1/tse-exports", self.exports),
            web.put("/api/v1/tse-exports/{name}", self.put_export),
        ]

    @web.middleware
    async def refusals(self, request, handler):
        try:
            return await handler(request)
        except PushRefused as e:
            return web.json_response(e.answer, status=e.status)

    async def _register(self, request):
        serial, token = _who(request)
        async with self.store.pool.connection() as conn, conn.cursor() as cur:
            await self.store.ingest.authorise(cur, serial, token)
        return serial

    async def enrol(self, request):
        data = await _body(request)
        serial, code = data.get("serial"), data.get("code")
        if not isinstance(serial, str) or not isinstance(code, str):
            raise PushRefused(400, {"error": "serial and code"})
        return web.json_response({"token": await enrol(self.store.pool, serial, code.strip().upper())})

    async def head(self, request):
        serial, token = _who(request)
        return web.json_response(await self.store.ingest.head(serial, token))

    async def journal(self, request):
        serial, token = _who(request)
        data = await _body(request)
        answer = await self.store.ingest.push(
            serial, token, data.get("after"), data.get("lines"), data.get("status")
        )
        return web.json_response(answer)

    async def master(self, request):
        await self._register(request)
        version, data = await latest(self.store.pool)
        if version is None:
            raise PushRefused(404, {"error": "no master data on the server yet"})
        return web.json_response({"version": version, "data": data})

    async def put_backup(self, request):
        serial = await self._register(request)
        data = await _body(request)
        for key, kind in (("settings", dict), ("master", dict), ("console_users", list)):
            if not isinstance(data.get(key), kind):
                raise PushRefused(422, {"error": "a backup has %s" % key})
        async with self.store.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO backups (serial, data) VALUES (%s, %s)"
                " ON CONFLICT (serial) DO UPDATE SET data = excluded.data, made = now()",
                (serial, json.dumps(data)),
            )
        return web.json_response({})

    async def get_backup(self, request):
        await self._register(request)
        async with self.store.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute("SELECT data FROM backups WHERE serial = %s", (request.match_info["serial"],))
            row = await cur.fetchone()
        if row is None:
            raise PushRefused(404, {"error": "no backup of register %s" % request.match_info["serial"]})
        return web.json_response(row[0])

    async def exports(self, request):
        serial = await self._register(request)
        async with self.store.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute("SELECT name, size FROM tse_exports WHERE serial = %s", (serial,))
            return web.json_response(dict(await cur.fetchall()))

    async def put_export(self, request):
        serial = await self._register(request)
        name = request.match_info["name"]
        if not EXPORT_NAME.match(name):
            raise PushRefused(400, {"error": "a TSE export's name ends .tar"})
        try:
            offset = int(request.query.get("offset", ""))
        except ValueError:
            raise PushRefused(400, {"error": "offset"})
        chunk = await request.read()
        async with self.store.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.execute(
                "SELECT size FROM tse_exports WHERE serial = %s AND name = %s FOR UPDATE", (serial, name)
            )
            row = await cur.fetchone()
            size = row[0] if row else 0
            if offset != size or size + len(chunk) > MAX_EXPORT:
                raise PushRefused(409, {"error": "send from the size held", "size": size})
            if row is None:
                await cur.execute(
                    "INSERT INTO tse_exports (serial, name, size, data) VALUES (%s, %s, %s, %s)",
                    (serial, name, len(chunk), chunk),
                )
            else:
                await cur.execute(
                    "UPDATE tse_exports SET data = data || %s, size = size + %s, made = now()"
                    " WHERE serial = %s AND name = %s",
                    (chunk, len(chunk), serial, name),
                )
        return web.json_response({"size": size + len(chunk), "sha256": hashlib.sha256(chunk).hexdigest()})
