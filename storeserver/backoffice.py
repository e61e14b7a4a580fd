"""The back office in the browser (host code): aiohttp handlers, Jinja2 templates, plotly.js.

Pages (German, as the shop's staff read them): ``/login``; ``/`` the day or any period by
register, hour, product group, cashier and payment type as charts; ``/receipts`` and one
receipt as printed with its TSE check; ``/closings`` with the cash differences;
``/registers`` (health, enrolment codes, fork alarms); ``/master`` (prices, PINs, the whole
master data with validation, versions and which register uses which); ``/exports``
(the store's DSFinV-K export, the TSE archives); ``/users`` (owner only).

Every page needs a session (storeserver/auth.py); every POST its CSRF token. Cookies are
HttpOnly and SameSite=Strict; pages are sent with a Content-Security-Policy that allows only
the server's own scripts.
"""

import base64
import datetime
import io
import json
import os
import secrets
import tempfile
import types

import aiohttp_jinja2
import jinja2
import plotly
from aiohttp import web

from core.errors import ConfigError
from firmware.receipts import receipt as receipt_doc
from firmware.receipts import to_text
from storeserver import auth, export, masterdata, reports
from storeserver.api import new_code

HERE = os.path.dirname(os.path.abspath(__file__))
PLOTLY_JS = os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js")
COOKIE = "smartecr_bo"
LOGIN_COOKIE = "smartecr_login"
CAN_EDIT = ("owner", "manager")
USER = web.RequestKey("user", dict)  # the session's user: name, role, csrf
FORM = web.RequestKey("form", object)  # a POST's form, read once by the guard
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def euro(cents):
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return "%s%d,%02d" % (sign, cents // 100, cents % 100)


def local(t):
    from zoneinfo import ZoneInfo

    return datetime.datetime.fromtimestamp(t, ZoneInfo(reports.BERLIN)).strftime("%d.%m.%Y %H:%M:%S")


def today():
    from zoneinfo import ZoneInfo

    return datetime.datetime.now(ZoneInfo(reports.BERLIN)).date().isoformat()


def _dates(request):
    first = request.query.get("from") or today()
    last = request.query.get("to") or first
    try:
        start, end = reports.period(first, last)
    except ValueError:
        raise web.HTTPBadRequest(text="dates are YYYY-MM-DD")
    return first, last, start, end


class BackOffice:
    def __init__(self, store):
        self.store = store

    def setup(self, app):
        env = aiohttp_jinja2.setup(
            app, loader=jinja2.FileSystemLoader(os.path.join(HERE, "templates")), autoescape=True
        )
        env.filters["euro"] = euro
        env.filters["local"] = local
        app.middlewares.append(self.guard)
        app.router.add_static("/static", os.path.join(HERE, "static"))
        app.router.add_get("/vendor/plotly.min.js", self.plotly)
        for method, path, handler in (
            ("GET", "/login", self.login_page),
            ("POST", "/login", self.login),
            ("POST", "/logout", self.logout),
            ("GET", "/", self.dashboard),
            ("GET", "/receipts", self.receipts),
            ("GET", "/receipts/{serial}/{seq:\\d+}", self.receipt),
            ("GET", "/closings", self.closings),
            ("GET", "/registers", self.registers),
            ("POST", "/registers", self.enrol_code),
            ("POST", "/registers/{serial}/clear", self.clear),
            ("GET", "/master", self.master),
            ("POST", "/master/price", self.price),
            ("POST", "/master/pin", self.pin),
            ("POST", "/master", self.master_json),
            ("GET", "/exports", self.exports),
            ("GET", "/exports/dsfinvk.zip", self.dsfinvk),
            ("GET", "/exports/tse/{serial}/{name}", self.tse_export),
            ("GET", "/users", self.users),
            ("POST", "/users", self.add_user),
        ):
            app.router.add_route(method, path, handler)

    # --- sessions ------------------------------------------------------------------------

    @web.middleware
    async def guard(self, request, handler):
        path = request.path
        if path.startswith("/api/") or path.startswith("/static/") or path == "/vendor/plotly.min.js":
            return await handler(request)
        if path != "/login":
            user = await auth.session(self.store.pool, request.cookies.get(COOKIE))
            if user is None:
                raise web.HTTPSeeOther("/login")
            request[USER] = user
            if request.method == "POST":
                form = await request.post()
                if not auth.csrf_ok(user, form.get("csrf") or request.headers.get("X-CSRF-Token", "")):
                    raise web.HTTPForbidden(text="CSRF token missing or wrong: reload the page")
                request[FORM] = form
        response = await handler(request)
        response.headers.update(HEADERS)
        return response

    def _need(self, request, roles):
        if request[USER]["role"] not in roles:
            raise web.HTTPForbidden(text="your role (%s) may not do this" % request[USER]["role"])

    def _page(self, request, template, **context):
        context.setdefault("user", request.get(USER))
        context.setdefault("message", request.query.get("msg", ""))
        return aiohttp_jinja2.render_template(template, request, context)

    async def plotly(self, request):
        return web.FileResponse(PLOTLY_JS, headers={"Cache-Control": "max-age=86400"})

    async def login_page(self, request, error="", status=200):
        nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = self._page(request, "login.html", nonce=nonce, error=error)
        response.set_status(status)
        response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="Strict", max_age=3600)
        return response

    async def login(self, request):
        form = await request.post()
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not secrets.compare_digest(nonce, form.get("csrf", "")):
            return await self.login_page(request, "Die Seite war veraltet: bitte erneut anmelden.", 403)
        try:
            cookie, _, _ = await auth.login(self.store.pool, form.get("name", ""), form.get("password", ""))
        except auth.Refused as e:
            return await self.login_page(request, str(e), 401)
        response = web.HTTPSeeOther("/")
        response.set_cookie(
            COOKIE, cookie, httponly=True, samesite="Strict", max_age=auth.SESSION_HOURS * 3600
        )
        response.del_cookie(LOGIN_COOKIE)
        raise response

    async def logout(self, request):
        await auth.logout(self.store.pool, request.cookies.get(COOKIE, ""))
        response = web.HTTPSeeOther("/login")
        response.del_cookie(COOKIE)
        raise response

    # --- figures ---------------------------------------------------------------------------

    async def _serials(self):
        return [row[0] for row in await reports.registers(self.store.pool)]

    async def dashboard(self, request):
        first, last, start, end = _dates(request)
        serial = request.query.get("register") or None
        data = await reports.summary(self.store.pool, start, end, serial)
        _, master = await masterdata.latest(self.store.pool)
        names = {g["id"]: g["name"] for g in (master or {}).get("groups", ())}
        data["by"]["group"] = [[names.get(label, label), cents] for label, cents in data["by"]["group"]]
        return self._page(
            request,
            "dashboard.html",
            first=first,
            last=last,
            serial=serial or "",
            serials=await self._serials(),
            data=data,
            chart_data=json.dumps(data["by"]).replace("<", "\\u003c"),
            alarms=await reports.alarms(self.store.pool),
        )

    async def receipts(self, request):
        first, last, start, end = _dates(request)
        serial = request.query.get("register") or None
        rows = await reports.receipts(self.store.pool, start, end, serial)
        return self._page(
            request,
            "receipts.html",
            rows=rows,
            first=first,
            last=last,
            serial=serial or "",
            serials=await self._serials(),
        )

    async def receipt(self, request):
        serial, seq = request.match_info["serial"], int(request.match_info["seq"])
        row = await reports.receipt(self.store.pool, serial, seq)
        if row is None:
            raise web.HTTPNotFound(text="no such receipt")
        bon, signed, verified, problem = row
        master = await self._master_for(serial)
        printed = to_text(receipt_doc(bon, master))
        check = None
        if signed:
            check = await self._check(serial, bon)
        return self._page(
            request,
            "receipt.html",
            serial=serial,
            bon=bon,
            printed=printed,
            signed=signed,
            verified=verified,
            problem=problem,
            check=check,
            qr=_qr_svg(bon["tse"]["qr"]) if signed else "",
        )

    async def _master_for(self, serial):
        """Business and register as the receipt was printed: the register's last closing's."""
        async with self.store.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(
                "SELECT data->'master' FROM closings WHERE serial = %s ORDER BY z_nr DESC LIMIT 1", (serial,)
            )
            row = await cur.fetchone()
        if row and row[0]:
            return types.SimpleNamespace(business=row[0]["business"], register=row[0]["register"])
        _, data = await masterdata.latest(self.store.pool)
        return types.SimpleNamespace(business=(data or {}).get("business"), register={"serial": serial})

    async def _check(self, serial, bon):
        """The TSE check again, now, with the auditor's checker: ``(ok, text)``."""
        async with self.store.pool.connection() as conn, conn.cursor() as cur:
            witness = await self.store.ingest.witness(cur, serial, (bon["tse"].get("serial"),))
        problem = witness.signed("Bon %s" % bon.get("bon_nr"), bon["tse"])
        if problem:
            return False, problem
        return True, "Die Signatur der TSE %s... (Transaktion %s, Signaturzähler %s) ist gültig." % (
            bon["tse"]["serial"][:16],
            bon["tse"]["number"],
            bon["tse"]["counter"],
        )

    async def closings(self, request):
        return self._page(request, "closings.html", rows=await reports.closings(self.store.pool))

    async def registers(self, request, code=None, code_serial=None):
        version, _ = await masterdata.latest(self.store.pool)
        return self._page(
            request,
            "registers.html",
            rows=await reports.registers(self.store.pool),
            code=code,
            code_serial=code_serial,
            version=version,
            alarms=await reports.alarms(self.store.pool),
        )

    async def enrol_code(self, request):
        self._need(request, CAN_EDIT)
        form = request[FORM]
        serial = form.get("serial", "").strip()
        try:
            code = await new_code(self.store.pool, serial, form.get("name", "").strip())
        except ConfigError as e:
            raise web.HTTPSeeOther("/registers?msg=" + _q("Seriennummer: %s" % e.detail))
        return await self.registers(request, code, serial)

    async def clear(self, request):
        self._need(request, ("owner",))
        await self.store.ingest.clear_fork(request.match_info["serial"], request[USER]["name"])
        raise web.HTTPSeeOther(
            "/registers?msg=" + _q("Alarme von %s quittiert" % request.match_info["serial"])
        )

    # --- master data -------------------------------------------------------------------------

    async def master(self, request, error="", text=None, status=200):
        version, data = await masterdata.latest(self.store.pool)
        response = self._page(
            request,
            "master.html",
            version=version,
            data=data or {},
            error=error,
            text=text if text is not None else json.dumps(data or {}, indent=2, ensure_ascii=False),
            versions=await masterdata.versions(self.store.pool),
            registers=await reports.registers(self.store.pool),
        )
        response.set_status(status)
        return response

    async def _save(self, request, change, note):
        self._need(request, CAN_EDIT)
        _, data = await masterdata.latest(self.store.pool)
        try:
            version = await masterdata.save(self.store.pool, change(data or {}), request[USER]["name"], note)
        except ConfigError as e:
            return await self.master(request, "Nicht gespeichert: %s" % e, status=422)
        msg = "Version %d gespeichert: die Kassen übernehmen sie bei ihrem nächsten Abschluss." % version
        raise web.HTTPSeeOther("/master?msg=" + _q(msg))

    async def price(self, request):
        form = request[FORM]
        plu = form.get("plu", "")
        text = form.get("price", "").strip().replace(",", ".")
        try:
            cents = None if text == "" else _cents(text)
        except ValueError:
            return await self.master(
                request, "Preis %r: Euro mit höchstens zwei Nachkommastellen" % text, status=422
            )
        return await self._save(
            request, lambda d: masterdata.set_price(d, plu, cents), "Preis %s: %s" % (plu, text or "offen")
        )

    async def pin(self, request):
        form = request[FORM]
        oid = form.get("operator", "")
        return await self._save(
            request, lambda d: masterdata.set_pin(d, oid, form.get("pin", "")), "PIN von Bediener %s" % oid
        )

    async def master_json(self, request):
        text = request[FORM].get("data", "")
        try:
            data = json.loads(text)
        except ValueError as e:
            return await self.master(request, "kein JSON: %s" % e, text, status=422)
        if not isinstance(data, dict):
            return await self.master(request, "die Stammdaten sind ein JSON-Objekt", text, status=422)
        return await self._save(
            request, lambda d: data, request[FORM].get("note", "") or "Stammdaten bearbeitet"
        )

    # --- exports ---------------------------------------------------------------------------

    async def exports(self, request):
        async with self.store.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute("SELECT serial, name, size, made FROM tse_exports ORDER BY serial, name")
            tars = await cur.fetchall()
        return self._page(request, "exports.html", tars=tars, first=today()[:8] + "01", last=today())

    async def dsfinvk(self, request):
        self._need(request, CAN_EDIT)
        first, last, _, _ = _dates(request)
        with tempfile.TemporaryDirectory() as work:
            folder = os.path.join(work, "export")
            await export.dsfinvk(self.store.pool, folder, day_first=first, day_last=last)
            path = export.zip_export(folder, os.path.join(work, "dsfinvk.zip"))
            with open(path, "rb") as f:
                body = f.read()
        name = "dsfinvk-store-%s-%s.zip" % (first, last)
        return web.Response(
            body=body,
            content_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="%s"' % name},
        )

    async def tse_export(self, request):
        self._need(request, CAN_EDIT)
        async with self.store.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(
                "SELECT data FROM tse_exports WHERE serial = %s AND name = %s",
                (request.match_info["serial"], request.match_info["name"]),
            )
            row = await cur.fetchone()
        if row is None:
            raise web.HTTPNotFound(text="no such TSE export")
        return web.Response(
            body=bytes(row[0]),
            content_type="application/x-tar",
            headers={"Content-Disposition": 'attachment; filename="%s"' % request.match_info["name"]},
        )

    # --- users -----------------------------------------------------------------------------

    async def users(self, request, error=""):
        self._need(request, ("owner",))
        async with self.store.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute("SELECT name, role, locked_until > now() FROM users ORDER BY name")
            rows = await cur.fetchall()
        return self._page(request, "users.html", rows=rows, roles=auth.ROLES, error=error)

    async def add_user(self, request):
        self._need(request, ("owner",))
        form = request[FORM]
        try:
            await auth.add_user(
                self.store.pool, form.get("name", ""), form.get("role", ""), form.get("password", "")
            )
        except auth.Refused as e:
            return await self.users(request, str(e))
        raise web.HTTPSeeOther("/users?msg=" + _q("Benutzer %s gespeichert" % form.get("name")))


def _q(text):
    from urllib.parse import quote

    return quote(text)


def _cents(text):
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or len(frac) > 2 or (frac and not frac.isdigit()):
        raise ValueError(text)
    return int(whole) * 100 + int((frac + "00")[:2])


def _qr_svg(text):
    import qrcode
    import qrcode.image.svg

    out = io.BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=6).save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()
