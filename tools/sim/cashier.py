"""A cashier at the browser terminal (host code): Playwright clicks on the page of
tools/sim/browser.py where the screens put their keys — the browser tests, the README's
screenshot and the touch-latency benchmark use it.

    with Desk(sim) as desk:                # Debian's chromium, headless, on the page
        desk.sign_on()                     # Anna Kasse, PIN 1111
        desk.type("2"); desk.tap(("group", "food"), ("plu", "1001"))
        desk.pin("1234")                   # the customer, on the customer panel's PIN pad
        desk.page.screenshot(path=...)

Where a key is, the cashier asks the screens' own layout: a mirror of the operator app
(ui/app.py) kept in step with the firmware's by the same intents, as a cashier reads the
labels on the glass. No browser is downloaded: ``CHROMIUM`` is Debian's.
"""

from firmware.register.master import load_master
from hal import pinscreen
from tools.sim import until
from tools.sim.browser import BrowserTerminal
from tools.sim.panels import rendered
from ui.app import OperatorApp

CHROMIUM = "/usr/bin/chromium"


class Desk:
    def __init__(self, sim, viewport=(1800, 1000)):
        self.sim = sim
        self.viewport = viewport
        self.mirror = OperatorApp((800, 480), load_master(sim.master_path))
        self.server = self.page = self._pw = self._browser = None

    def __enter__(self):
        from playwright.sync_api import sync_playwright

        self.server = BrowserTerminal(self.sim).start()
        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        width, height = self.viewport
        self.page = self._browser.new_page(viewport={"width": width, "height": height})
        self.page.goto(self.server.url)
        self.page.wait_for_selector("body[data-ready='1']")
        return self

    def __exit__(self, *exc):
        if self._browser is not None:
            self._browser.close()
        if self._pw is not None:
            self._pw.stop()
        if self.server is not None:
            self.server.stop()

    def state(self):
        """The terminal's state; the mirror sees it too, as the firmware's screens see every
        change (paid: back from the payment screen to the sale)."""
        st = self.sim.operator(op="state")["state"]
        self.mirror.scene(st)
        return st

    def _click(self, canvas, x, y):
        box = self.page.locator(canvas).bounding_box()
        self.page.mouse.click(box["x"] + x, box["y"] + y)

    def where(self, intent, state=None):
        """The middle of the key for ``intent`` on the screen the firmware shows now."""
        self.mirror.scene(state or self.state())
        for x, y, w, h, got in self.mirror.areas:
            if got == intent:
                return x + w // 2, y + h // 2
        raise AssertionError("no key %r on the %s screen" % (intent, self.mirror.screen))

    def tap(self, *intents):
        for intent in intents:
            st = self.state()
            self._click("#operator", *self.where(intent, st))
            for req in self.mirror.do(intent, st):
                read_only = req["op"] == "receipts" or (req["op"] == "x" and not req.get("print"))
                self.mirror.answered(req, self.sim.operator(**req) if read_only else {"ok": True, "z_nr": 0})

    def type(self, text):
        self.tap(*[("digit", d) for d in text])

    def keys(self, *names):
        for name in names:
            self.page.keyboard.press(name)
            self.mirror.key(name, self.state())

    def pin(self, digits):
        """The customer, on the customer panel's PIN pad, once it is on the glass."""
        panel = self.sim.panels["customer"]
        size = (panel.width, panel.height)
        fresh = rendered(size, pinscreen.pad(size, 0))
        if not panel.wait_for(lambda ram: bytes(ram) == fresh, 20):
            raise AssertionError("the PIN pad did not come")
        keys = {k: (x + w // 2, y + h // 2) for x, y, w, h, k in pinscreen.pad_keys(size)}
        for key in list(digits) + ["OK"]:
            self._click("#customer", *keys[key])

    def sign_on(self, number="1", pin="1111"):
        if self.state().get("signed_on"):
            return
        self.type(number)
        self.tap(("enter",))
        self.type(pin)
        self.tap(("enter",))
        if not until(lambda: self.state()["signed_on"]):
            raise AssertionError("sign-on refused: %s" % self.state()["messages"][-1:])

    def printed(self, before, timeout=20):
        """The receipts emupos finished since ``before`` of them, the newest first."""
        emupos = self.sim.emupos
        done = until(lambda: len(emupos.receipts()) > before and emupos.receipts(), timeout)
        if not done:
            raise AssertionError("nothing was printed")
        return [emupos.text(r["id"]) for r in done[: len(done) - before]]
