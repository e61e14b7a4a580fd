"""The receipt server (host code, aiohttp): stores the terminals' sealed receipts by an
unguessable id and serves them; it only ever holds ciphertext.

    server = ReceiptServer("out/sim/receipts", tokens={"SMARTECR-SIM-0001": "secret"}).start()
    server.port                       # loopback; make sim prints it as "receipt server"
    server.stop()
    python -m tools.receipts --folder out/receipts --port 8085 --token SERIAL=TOKEN

API (JSON answers):

- ``PUT /api/receipts/<id>`` with the sealed receipt as the body
  (``application/octet-stream``, at most 256 KiB), ``Authorization: Bearer <token>`` and
  ``X-Register: <serial>`` (the terminal's enrolment), optionally ``X-Account: <account id>`` and
  ``X-Wrapped-Key: <base64url>`` for a loyalty customer: ``201 {"id", "stored"}``; the same id
  with the same bytes again ``200`` (a retry after a lost answer), with other bytes ``409``.
- ``GET /api/receipts/<id>``: the sealed bytes, or ``404``.
- ``GET /api/accounts/<account id>/receipts``: ``[{"id", "wrapped", "t"}, ...]`` (the account id
  is itself unguessable; only its holder's page can unwrap the keys).
- ``GET /r/<id>``: the customer's page (``page/receipt.html``, ``/static/receipt.js``): it fetches
  the sealed receipt, opens it with the key from the fragment, shows it as printed and checks the
  TSE signature (brainpoolP384r1, in the page's own BigInt code: WebCrypto lacks the curve).
- ``GET /k/<account id>``: a loyalty customer's page (``page/account.html``): the account's secret
  key arrives once in the fragment and stays in the browser's storage; it lists the account's
  receipts, unwrapping each key with X25519 (WebCrypto).

An id is 22 base64url characters (16 random bytes, made by the terminal); anything else is
``404`` before it touches the disk. Each client address may make ``rate`` requests per minute
(``429`` beyond). Receipts are deleted ``retention_days`` after they were stored. Every request
is a JSON line ``{"t", "ip", "method", "path", "status"}`` in ``<folder>/requests.log`` — what a
browser sends, which never includes a URL's fragment, so never a receipt's key.
"""

import json
import os
import re
import time

from aiohttp import web

from tools.threaded import AppThread

ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
ACCOUNT = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_BODY = 256 * 1024
PAGE = os.path.join(os.path.dirname(__file__), "page")
# the page runs its own script only and tells nobody where it came from
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _read(path, default):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


class ReceiptServer:
    def __init__(self, folder, port=0, tokens=None, retention_days=90, rate=120, host="127.0.0.1"):
        self.folder = folder
        os.makedirs(os.path.join(folder, "store"), exist_ok=True)
        self.port = port
        self.host = host
        self.tokens = dict(tokens or {})
        self.retention_s = retention_days * 86400
        self.rate = rate
        self.page = PAGE  # the customer's page: /r/<id> and /static/
        self._hits = {}  # client address -> [window start, requests in it]
        self._runner = None

    # --- storage ---------------------------------------------------------------------------------

    def _path(self, rid, ext):
        return os.path.join(self.folder, "store", rid + ext)

    def _account_path(self, account):
        return os.path.join(self.folder, "store", "account-" + account + ".json")

    def expire(self, now=None):
        """Delete what is older than the retention time; returns how many receipts went."""
        now = time.time() if now is None else now
        gone = 0
        store = os.path.join(self.folder, "store")
        for name in os.listdir(store):
            if name.endswith(".json") and not name.startswith("account-"):
                with open(os.path.join(store, name)) as f:
                    meta = json.load(f)
                if now - meta["t"] > self.retention_s:
                    for ext in (".bin", ".json"):
                        os.remove(self._path(name[:-5], ext))
                    gone += 1
        return gone

    # --- the handlers ----------------------------------------------------------------------------

    def _log(self, request, status):
        line = {"t": round(time.time(), 3), "ip": request.remote, "method": request.method}
        line.update(path=request.path_qs, status=status)
        with open(os.path.join(self.folder, "requests.log"), "a") as f:
            f.write(json.dumps(line) + "\n")

    @web.middleware
    async def _guard(self, request, handler):
        now = time.monotonic()
        window = self._hits.setdefault(request.remote, [now, 0])
        if now - window[0] >= 60:
            window[0], window[1] = now, 0
        window[1] += 1
        if window[1] > self.rate:
            response = web.json_response({"error": "too many requests"}, status=429)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as e:
                response = web.json_response({"error": e.reason}, status=e.status)
        self._log(request, response.status)
        return response

    async def _put(self, request):
        rid = request.match_info["id"]
        if not ID.match(rid):
            raise web.HTTPNotFound()
        serial = request.headers.get("X-Register", "")
        if not serial or self.tokens.get(serial) != request.headers.get("Authorization", "")[7:]:
            raise web.HTTPUnauthorized(reason="unknown register or token")
        length = request.content_length or 0
        if not 1 <= length <= MAX_BODY:  # read whole: a body may come in several segments
            raise web.HTTPRequestEntityTooLarge(
                MAX_BODY, length, reason="a sealed receipt of 1 byte to 256 KiB"
            )
        body = await request.read()
        account = request.headers.get("X-Account", "")
        if account and not ACCOUNT.match(account):
            raise web.HTTPBadRequest(reason="bad account id")
        path = self._path(rid, ".bin")
        if os.path.exists(path):
            with open(path, "rb") as f:
                if f.read() == body:
                    return web.json_response({"id": rid, "stored": True})
            raise web.HTTPConflict(reason="this id holds another receipt")
        meta = {"t": time.time(), "register": serial}
        with open(path + ".new", "wb") as f:
            f.write(body)
        os.replace(path + ".new", path)
        with open(self._path(rid, ".json"), "w") as f:
            json.dump(meta, f)
        if account:
            listing = self._account_path(account)
            entries = _read(listing, [])
            entries.append({"id": rid, "wrapped": request.headers.get("X-Wrapped-Key", ""), "t": meta["t"]})
            with open(listing, "w") as f:
                json.dump(entries, f)
        return web.json_response({"id": rid, "stored": True}, status=201)

    async def _get(self, request):
        rid = request.match_info["id"]
        if not ID.match(rid) or not os.path.exists(self._path(rid, ".bin")):
            raise web.HTTPNotFound()
        with open(self._path(rid, ".bin"), "rb") as f:
            return web.Response(body=f.read(), content_type="application/octet-stream")

    async def _account(self, request):
        account = request.match_info["account"]
        if not ACCOUNT.match(account):
            raise web.HTTPNotFound()
        entries = _read(self._account_path(account), [])
        alive = [e for e in entries if os.path.exists(self._path(e["id"], ".bin"))]
        return web.json_response(alive)

    def app(self):
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_BODY + 1024)
        app.router.add_put("/api/receipts/{id}", self._put)
        app.router.add_get("/api/receipts/{id}", self._get)
        app.router.add_get("/api/accounts/{account}/receipts", self._account)
        app.router.add_get("/r/{id}", self._page)
        app.router.add_get("/k/{account}", self._account_page)
        app.router.add_static("/static", self.page)
        return app

    async def _account_page(self, request):
        if not ACCOUNT.match(request.match_info["account"]):
            raise web.HTTPNotFound()
        response = web.FileResponse(os.path.join(self.page, "account.html"))
        response.headers.update(HEADERS)
        return response

    async def _page(self, request):
        if not ID.match(request.match_info["id"]):
            raise web.HTTPNotFound()
        response = web.FileResponse(os.path.join(self.page, "receipt.html"))
        response.headers.update(HEADERS)
        return response

    # --- running in a thread of its own (the simulator, tests) ------------------------------------

    def start(self):
        self._runner = AppThread("receipt server", self.app, self.host, self.port, every=(60, self.expire))
        self._runner.start(10)
        self.port = self._runner.port
        return self

    def stop(self):
        if self._runner is not None:
            self._runner.stop()
        self._runner = None

    def requests(self):
        path = os.path.join(self.folder, "requests.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]
