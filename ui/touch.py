"""The two panels at work (device code): the operator's touch screen runs ``ui/app.py``, the
customer's shows ``ui/customer.py``; both follow the terminal.

    screens = Screens(terminal, board, log)   # the board's operator_panel / customer_panel
    await screens.run()                       # until cancelled

A touch is answered at once: the app changes its state and the frame is drawn; what it asks
of the Till runs in a task of its own (a card payment takes seconds), one request after the
other in the order they were touched. Every change the terminal reports (``subscribe``: a
scan, a message, the operator link) draws the screens again. A panel that cannot be reached
is tried again after 1, 2, 4 ... 30 s; the till sells on meanwhile.

The customer sees: "Willkommen"; the lines as they are rung up and the total; during a card
payment the card's prompts (the PIN pad itself is the PIN pad's, hal/touchpin.py); the change
or "Vielen Dank" for ``AFTER_MS``; then the welcome again.
"""

import asyncio

from core.errors import DeviceError
from firmware.terminal import Backoff
from ui import customer
from ui.app import OperatorApp
from ui.operator import request

AFTER_MS = 15000  # change / thanks stay this long on the customer screen


class _Drawer:
    """One panel's frames: ``draw(scene)`` unless the panel is being given time after a fault
    (the terminal's ``Backoff``: 1, 2, 4 ... 30 s)."""

    def __init__(self, panel, clock, log, name):
        self.panel, self.log, self.name = panel, log, name
        self.backoff = Backoff(clock)
        self.last = None

    @property
    def delay(self):
        return self.backoff.delay_ms

    async def draw(self, scene):
        if not self.backoff.due():
            return
        try:
            await self.panel.draw(scene)
        except DeviceError as e:
            if not self.delay:
                self.log.warning("%s: %s", self.name, e)
            self.backoff.failed()
            return
        if self.delay:
            self.log.info("%s: drawing again", self.name)
        self.backoff.ok()
        self.last = scene


class Screens:
    def __init__(self, term, board, log):
        self.term = term
        self.log = log
        self.operator = board.get("operator_panel") if board.has("operator_panel") else None
        self.customer = board.get("customer_panel") if board.has("customer_panel") else None
        self.app = None
        if self.operator is not None:
            self.app = OperatorApp((self.operator.width, self.operator.height), term.till.master)
        self._busy = None  # the task running the app's requests
        self._waiting = []  # the requests of touches not yet run, a list per touch

    # --- the operator -----------------------------------------------------------------------

    def _state(self):
        state = self.term.state()
        if self.app.master is not self.term.till.master:  # new master data (at a closing)
            self.app.catalog(self.term.till.master)
        return state

    async def _operator_input(self):
        panel = self.operator
        while True:
            ev = await panel.event()
            state = self._state()
            if ev[0] == "down":
                wanted = self.app.touch(ev[1], ev[2], state)
            elif ev[0] == "key":
                wanted = self.app.key(ev[1], state)
            else:
                continue
            if wanted:
                self._waiting.append(wanted)
                if self._busy is None:
                    self._busy = asyncio.create_task(self._ask())
                elif self.term.paying:
                    self.app.note = "Bitte warten: Kartenzahlung läuft"
            self.term.notify()

    async def _ask(self):
        """The app's requests, in the order they were touched (a fast cashier's keys wait their
        turn; none is lost); a refused one drops the rest of its touch."""
        try:
            while self._waiting:
                for req in self._waiting.pop(0):
                    reply = await request(self.term, req)
                    self.app.answered(req, reply)
                    self.term.notify()
                    if not reply.get("ok"):
                        break
        finally:
            self._busy = None
            self.term.notify()

    async def _operator_frames(self):
        changed = self.term.subscribe()
        drawer = _Drawer(self.operator, self.term.clock, self.log, "operator panel")
        while True:
            changed.clear()
            await drawer.draw(self.app.scene(self._state()))
            await _wait(changed, drawer.delay / 1000 if drawer.delay else None)

    # --- the customer -------------------------------------------------------------------------

    def customer_scene(self, size):
        term = self.term
        bon = term.till.sale()
        top, bottom, at = term.shown
        recent = term.clock.ticks_diff(term.clock.ticks_ms(), at) < AFTER_MS
        if term.showing is not None:  # a code for the customer's phone: a payment, a transfer
            return customer.qr(size, *term.showing)
        if term.paying or (bon is not None and top in ("Noch zu zahlen", "Abgelehnt", "Karte: Fehler")):
            return customer.message(size, top, bottom)
        if bon is not None and bon["lines"]:
            lines = [(ln[1], ln[3]) for ln in bon["lines"] if not ln[4]]
            who = None
            if term.customer is not None:  # the loyalty customer sees the points
                left = term.points.balance(term.customer.card) - term.redeemed
                who = "%s: %d Punkte" % (term.customer.name, left)
            return customer.sale(size, lines, bon["total"], who)
        if recent and top == "Rückgeld":
            return customer.change(size, _cents(bottom))
        if recent and top in ("Danke!", "Zahlung erfolgt", "Gutschrift erfolgt"):
            return customer.thanks(size, _cents(bottom))
        return customer.welcome(size, term.till.master.business["name"])

    async def _customer_frames(self):
        changed = self.term.subscribe()
        panel = self.customer
        drawer = _Drawer(panel, self.term.clock, self.log, "customer panel")
        while True:
            changed.clear()
            scene = self.customer_scene((panel.width, panel.height))
            if scene != drawer.last or drawer.delay:
                await drawer.draw(scene)
            await _wait(changed, drawer.delay / 1000 if drawer.delay else 1)

    async def _guarded(self, loop):
        """Run ``loop``; a bug in it is logged (once) and the loop starts again after 1, 2, 4 ...
        30 s (the screens must not die for the shift)."""
        said, delay = None, 1
        while True:
            try:
                await loop()
            except Exception as e:  # noqa: BLE001 - logged, and the screen comes back
                if repr(e) != said:
                    said = repr(e)
                    self.log.error("screens: %s: %s", loop.__name__, said)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def run(self):
        loops = []
        if self.operator is not None:
            loops += [self._operator_input, self._operator_frames]
        if self.customer is not None:
            loops.append(self._customer_frames)
        tasks = [asyncio.create_task(self._guarded(loop)) for loop in loops]
        try:
            while True:
                await asyncio.sleep(3600)
        finally:
            for task in tasks:
                task.cancel()
            if self._busy is not None:
                self._busy.cancel()


def _cents(text):
    """``12,34 EUR`` (what the terminal showed) -> 1234."""
    digits = "".join(ch for ch in text if ch.isdigit())
    return int(digits) if digits else 0


async def _wait(event, timeout_s):
    """Until ``event`` is set, or ``timeout_s`` passed (None: no limit)."""
    try:
        if timeout_s is None:
            await event.wait()
        else:
            await asyncio.wait_for(event.wait(), timeout_s)
    except asyncio.TimeoutError:
        pass
