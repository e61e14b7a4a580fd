"""An aiohttp application served from a thread with an event loop of its own (host code): how
the simulator and the tests run the receipt server and the store server beside everything else.

    runner = AppThread("store-server", make_app, host="127.0.0.1", port=0).start()
    runner.port                        # the port it got
    runner.call(coroutine_function)    # run a coroutine on its loop, wait for the result
    runner.stop()

``make_app()`` returns the ``web.Application`` (or a coroutine giving it); ``every=(seconds,
fn)`` calls ``fn()`` on the loop now and then (the receipt server's retention);
``ssl_context`` serves HTTPS.
"""

import asyncio
import inspect
import threading

from aiohttp import web


class AppThread:
    def __init__(self, name, make_app, host="127.0.0.1", port=0, every=None, ssl_context=None):
        self.name = name
        self.ssl_context = ssl_context
        self.make_app = make_app
        self.host = host
        self.port = port
        self.every = every
        self.app = None
        self._loop = self._thread = self._stopping = None
        self._ready = threading.Event()
        self._error = None

    def _run(self):
        self._loop = asyncio.new_event_loop()

        async def main():
            self._stopping = asyncio.Event()
            try:
                app = self.make_app()
                self.app = await app if inspect.isawaitable(app) else app
                runner = web.AppRunner(self.app, access_log=None)
                await runner.setup()
                site = web.TCPSite(runner, self.host, self.port, ssl_context=self.ssl_context)
                await site.start()
            except Exception as e:  # said to start(), which raises it
                self._error = e
                self._ready.set()
                return
            self.port = site._server.sockets[0].getsockname()[1]
            self._ready.set()
            while not self._stopping.is_set():
                if self.every is not None:
                    self.every[1]()
                try:
                    await asyncio.wait_for(self._stopping.wait(), self.every[0] if self.every else None)
                except asyncio.TimeoutError:
                    pass
            await runner.cleanup()

        try:
            self._loop.run_until_complete(main())
        finally:
            self._loop.close()

    def start(self, timeout=30):
        self._error = None
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError("the %s did not start: %s" % (self.name, self._error))
        return self

    def call(self, coro_fn, *args):
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self._loop).result(30)

    def stop(self):
        if self._thread is not None and self._ready.is_set() and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(10)
        self._thread = None
        self._ready.clear()
