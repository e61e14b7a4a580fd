"""The store server's application: the terminals' API and the back office on one aiohttp
app over one PostgreSQL pool (host code).

    server = StoreServer(dsn, port=0).start()     # in a thread of its own (simulator, tests)
    server.url                                    # http://127.0.0.1:PORT/
    server.stop()

Several instances may run on one database (a chain's load balancer in front): every state
they share is in PostgreSQL — sessions, enrolments, the registers' heads under row locks — and
nothing in their memory is more than a cache (the TSE keys parsed once per instance).
"""

import logging

from aiohttp import web

from storeserver.api import Api
from storeserver.backoffice import BackOffice
from storeserver.db import migrate, open_pool
from storeserver.ingest import Ingest
from tools.sim.certs import tls_context

MAX_BODY = 8 * 1024 * 1024
STORE = web.AppKey("store", object)


class Store:
    def __init__(self, pool):
        self.pool = pool
        self.ingest = Ingest(pool)


async def make_app(dsn, pool_size=8):
    pool = await open_pool(dsn, max_size=pool_size)
    store = Store(pool)
    api = Api(store)
    app = web.Application(client_max_size=MAX_BODY, middlewares=[api.refusals])
    app[STORE] = store
    app.router.add_routes(api.routes())
    BackOffice(store).setup(app)

    async def close(app):
        await pool.close()

    app.on_cleanup.append(close)
    return app


async def serve(dsn, host="127.0.0.1", port=0, pool_size=8, reuse_port=False, tls=None):
    """Start serving (HTTPS with ``tls=(cert, key)``); returns ``(runner, port, app)``."""
    app = await make_app(dsn, pool_size)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    ssl_context = tls_context(*tls) if tls else None
    site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None, ssl_context=ssl_context)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1], app


class StoreServer:
    """The server in a thread with its own event loop (tools.threaded.py)."""

    def __init__(self, dsn, port=0, host="127.0.0.1", tls=None):
        from tools.threaded import AppThread

        self.dsn = dsn
        self.host = host
        self.scheme = "https" if tls else "http"
        ctx = tls_context(*tls) if tls else None
        self._thread = AppThread("store server", lambda: make_app(dsn), host, port, ssl_context=ctx)

    @property
    def port(self):
        return self._thread.port

    @property
    def url(self):
        return "%s://%s:%d/" % (self.scheme, self.host, self.port)

    def start(self):
        migrate(self.dsn)
        self._thread.start()
        logging.getLogger("storeserver").info("store server on %s", self.url)
        return self

    def call(self, coro_fn, *args):
        """Run ``coro_fn(store, *args)`` on the server's loop (tests, the simulator's set-up)."""
        return self._thread.call(coro_fn, self._thread.app[STORE], *args)

    def stop(self):
        self._thread.stop()

    def restart(self):
        """Back on the same port (after ``stop``: the store's network was down)."""
        return self.start()
