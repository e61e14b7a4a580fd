"""The virtual terminal in a browser (host code): both panels as the firmware drew them,
pixel for pixel, and the peripherals around them, on one loopback page.

    page = BrowserTerminal(sim).start()     # page.url: http://127.0.0.1:PORT/
    page.stop()

Decided: **the framebuffer streamed over a websocket**, not the screens re-run in
MicroPython's WebAssembly build. The pixels the page shows are then the ones the firmware's
own renderer put on the virtual panel's controller (tools/sim/panels.py), whichever runtime
runs it; the page draws nothing itself. Each update is a binary message: the panel (0
operator, 1 customer), the first row and the number of rows (2 bytes each, little-endian),
then those rows' RGB565 pixels; the page turns them into canvas pixels. Only the rows the
firmware changed travel.

From the page: ``{"t": "touch", "panel": "operator", "ev": "down", "x", "y"}`` (a touch at
the panel's coordinates, sent to the firmware as the touch controller's report),
``{"t": "key", "panel": "operator", "key": "Enter"}``, and ``{"t": "do", "what": ...}`` for
the peripherals: ``insert``/``tap`` (``profile``: a card of data/cards/), ``remove``,
``tse`` (``removed``), ``scan`` (``code``), ``scale`` (``grams``, ``steady``),
``close_drawer``, ``power``. To the page: JSON
``status`` once a second (drawer, TSE card, card slots, the latest receipts as emupos
printed them, the terminal's messages).
"""

import asyncio
import json
import os
import struct
import threading
from http import HTTPStatus

from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from hal.linux.camera import scanner_text
from hal.scanner import Symbol
from tools import upy

PAGE = upy.ROOT / "tools" / "sim" / "terminal.html"
PANELS = ("operator", "customer")
FRAME_S = 0.015  # updates to a page are sent at most this often (rows coalesce meanwhile)


def _response(status, body, kind):
    headers = Headers(
        [("Content-Type", kind), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
    )
    return Response(status.value, status.phrase, headers, body)


class BrowserTerminal:
    def __init__(self, sim, port=0):
        self.sim = sim
        self.port = port
        self.url = None
        self.pages = set()
        self.actions = []  # what the page asked for, in order (the tests read it)
        self._loop = None
        self._thread = None
        self._dirty = {name: None for name in PANELS}
        self._wake = None
        self._ready = threading.Event()
        self._task = None

    # --- the server's thread ----------------------------------------------------------------

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True, name="browser-terminal")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the browser terminal did not start")
        for name in PANELS:
            panel = self.sim.panels.get(name)
            if panel is not None:
                panel.listeners.append(lambda top, bottom, name=name: self._changed(name, top, bottom))
        return self

    def stop(self):
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._shutdown)
            self._thread.join(10)
            self._loop = None

    def _shutdown(self):
        """The main task ends; leaving ``serve`` closes the server and its connections."""
        self._task.cancel()

    def _run(self):
        self._loop = asyncio.new_event_loop()
        self._task = self._loop.create_task(self._main())
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            self._loop.close()

    async def _main(self):
        self._wake = asyncio.Event()
        async with serve(self._page, "127.0.0.1", self.port, process_request=self._http) as server:
            self.port = server.sockets[0].getsockname()[1]
            self.url = "http://127.0.0.1:%d/" % self.port
            self._ready.set()
            await asyncio.gather(self._sender(), self._status_loop())

    # --- HTTP: the page itself ----------------------------------------------------------------

    def _http(self, connection, request):
        if request.path == "/ws":
            return None  # the websocket
        if request.path in ("/", "/index.html"):
            return _response(HTTPStatus.OK, PAGE.read_bytes(), "text/html; charset=utf-8")
        if request.path.startswith("/receipt/") and self.sim.emupos is not None:
            receipt_id = request.path.rsplit("/", 1)[1]
            if receipt_id.replace("-", "").isalnum():
                return _response(HTTPStatus.OK, self.sim.emupos.image(receipt_id), "image/png")
        return _response(HTTPStatus.NOT_FOUND, b"not here\n", "text/plain")

    # --- pixels to the pages --------------------------------------------------------------

    def _changed(self, name, top, bottom):
        """A panel's rows changed (called on the panel's thread)."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._mark, name, top, bottom)

    def _mark(self, name, top, bottom):
        old = self._dirty[name]
        self._dirty[name] = (top, bottom) if old is None else (min(old[0], top), max(old[1], bottom))
        self._wake.set()

    @staticmethod
    def _rows(index, panel, top, bottom):
        return struct.pack("<BHH", index, top, bottom - top + 1) + panel.pixels(top, bottom)

    async def _sender(self):
        while True:
            await self._wake.wait()
            self._wake.clear()
            for index, name in enumerate(PANELS):
                rows, self._dirty[name] = self._dirty[name], None
                panel = self.sim.panels.get(name)
                if rows is None or panel is None:
                    continue
                message = self._rows(index, panel, *rows)
                for page in list(self.pages):
                    try:
                        await page.send(message)
                    except Exception:  # noqa: BLE001 - a page that went away
                        self.pages.discard(page)
            await asyncio.sleep(FRAME_S)

    def status(self):
        sim = self.sim
        status = {"t": "status", "cards": sorted(sim.cards), "tse_removed": sim.tse_removed}
        if sim.scale is not None:
            status["scale"] = {"grams": sim.scale.grams, "steady": sim.scale.steady}
        if sim.emupos is not None:
            try:
                device = sim.emupos.device()
                done = sim.emupos.receipts()[:3]
                status["receipts"] = [{"id": r["id"], "text": sim.emupos.text(r["id"])} for r in done]
                status["drawer_open"] = bool(device.get("drawer", {}).get("open"))
            except OSError as e:
                status["printer_error"] = str(e)
        return status

    async def _status_loop(self):
        while True:
            if self.pages:
                message = json.dumps(await asyncio.to_thread(self.status))
                for page in list(self.pages):
                    try:
                        await page.send(message)
                    except Exception:  # noqa: BLE001 - a page that went away
                        self.pages.discard(page)
            await asyncio.sleep(1)

    # --- a page ---------------------------------------------------------------------------

    async def _page(self, ws):
        self.pages.add(ws)
        sizes = {name: [p.width, p.height] for name, p in self.sim.panels.items()}
        cards = sorted(f[:-5] for f in os.listdir(upy.ROOT / "data" / "cards") if f.endswith(".json"))
        await ws.send(json.dumps({"t": "hello", "panels": sizes, "cards": cards, "codes": self.codes()}))
        for index, name in enumerate(PANELS):  # the whole glass first
            panel = self.sim.panels.get(name)
            if panel is not None:
                await ws.send(self._rows(index, panel, 0, panel.height - 1))
        try:
            async for message in ws:
                await self._handle(message)
        finally:
            self.pages.discard(ws)

    def codes(self):
        """The barcodes the scanner can offer: the demo articles' GTINs, and a misread one."""
        with open(self.sim.master_path) as f:
            master = json.load(f)
        codes = [[a["gtin"], a["name"]] for a in master["articles"] if a.get("gtin")]
        return codes + [["4006381333932", "falsche Prüfziffer"]]

    async def _handle(self, message):
        try:
            req = json.loads(message)
            kind = req["t"]
        except (ValueError, KeyError, TypeError):
            return  # a page's bug: nothing happens
        panel = self.sim.panels.get(req.get("panel", "operator"))
        try:
            if kind == "touch" and panel is not None:
                panel.touch(req["ev"], int(req["x"]), int(req["y"]))
            elif kind == "key" and panel is not None:
                panel.key(str(req["key"]))
            elif kind == "do":
                self.actions.append(req)
                await asyncio.to_thread(self._do, req)
        except (ValueError, KeyError, TypeError, RuntimeError, OSError) as e:
            for page in list(self.pages):
                await page.send(json.dumps({"t": "error", "error": str(e)}))

    def _do(self, req):
        sim, what = self.sim, req["what"]
        if what in ("insert", "tap"):
            profile = req.get("profile") or None
            (sim.tap_card if what == "tap" else sim.insert_card)(profile)
        elif what == "remove":
            sim.remove_cards()
        elif what == "tse":
            sim.tse_card(removed=bool(req["removed"]))
        elif what == "scan":
            sim.emupos.scan(scanner_text(Symbol("EAN13", str(req["code"]))))
        elif what == "scale":
            grams = int(req["grams"])
            if not 0 <= grams <= 99999:
                raise ValueError("a weight of 0 to 99.999 g")
            sim.scale.put(grams, steady=bool(req.get("steady", True)))
        elif what == "close_drawer":
            sim.emupos.close_drawer()
        elif what == "power":
            sim.power_cut()
        else:
            raise ValueError("no peripheral action %r" % what)
