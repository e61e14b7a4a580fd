"""The PIN pad on the customer's touch panel (device code, both runtimes): "PIN on glass" as
the simulator shows it.

    pinpad = PanelPinPad(board.get("customer_panel"), key=load_pin_key(...))
    outcome = await pinpad.verify(method, reader)     # hal/pinpad.py does the rest

While a PIN is asked, the PIN pad holds the panel (hal/panel.py ``hold``): it alone draws
(hal/pinscreen.py: the keys, one ``*`` per digit, the SIMULATION banner) and it alone gets
the touches; the application's screens wait and are drawn again at ``release``. The digits
are kept in a bytearray that is overwritten when the entry ends; the application is told the
count only. "OK" ends the entry (none typed: a bypass), "C" cancels, no touch within
``timeout_s`` is none. The cardholder's choice of a card's applications is a key per
application on the same panel. A simulator takes no real PIN: the banner says so.
"""

import asyncio

from core.errors import DeviceError
from hal import pinscreen
from hal.pinpad import PinPad, load_pin_key, wipe

MAX_DIGITS = 12


def _copy(digits, n):
    """The first ``n`` digits in a new bytearray (no slice copy left behind unwiped)."""
    out = bytearray(n)
    for i in range(n):
        out[i] = digits[i]
    return out


class PanelPinPad(PinPad):
    simulation = True

    def __init__(self, panel, timeout_s=30, key=None):
        self.panel = panel
        self.timeout_s = timeout_s
        self.key = key
        self._touches = []
        self._touched = asyncio.Event()

    def touched(self, event):
        """The panel's events while we hold it (hal/panel.py's event task)."""
        if event[0] == "down":
            self._touches.append(event)
            self._touched.set()

    async def _key(self, keys):
        """The next key touched, or None when none came within ``timeout_s``."""
        while True:
            while not self._touches:
                self._touched.clear()
                try:
                    await asyncio.wait_for(self._touched.wait(), self.timeout_s)
                except asyncio.TimeoutError:
                    return None
            _, x, y = self._touches.pop(0)
            key = pinscreen.key_at(keys, x, y)
            if key is not None:
                return key

    async def _show(self, scene):
        try:
            await self.panel.draw(scene, self)
        except DeviceError:
            await self.panel.release(self)
            raise

    async def _entry(self):
        size = (self.panel.width, self.panel.height)
        keys = pinscreen.pad_keys(size)
        digits = bytearray(MAX_DIGITS)
        n = 0
        self._touches = []
        self.panel.hold(self)
        try:
            await self._show(pinscreen.pad(size, 0))
            while True:
                key = await self._key(keys)
                if key is None or key == "C":
                    return None
                if key == "OK":
                    return _copy(digits, n) if n else None
                if n < MAX_DIGITS:
                    digits[n] = ord(key)
                    n += 1
                    await self._show(pinscreen.pad(size, n))
        finally:
            wipe(digits)
            await self.panel.release(self)

    async def choose(self, labels):
        await self._say("choose", labels)
        size = (self.panel.width, self.panel.height)
        keys = pinscreen.choice_keys(size, len(labels))
        self._touches = []
        self.panel.hold(self)
        try:
            await self._show(pinscreen.choice(size, labels))
            key = await self._key(keys)
        except DeviceError:
            return None
        finally:
            await self.panel.release(self)
        if key is None or key == "C":
            return None
        return int(key) - 1

    def clear(self):
        self._touches = []


def create(s, board):
    """Board driver ``panel-pinpad``: ``panel`` names the board's customer panel device."""
    key_file = s.str("pin_key", "")
    return PanelPinPad(
        board.get(s.str("panel", "customer_panel")),
        s.int("timeout_s", 30, 5, 120),
        load_pin_key(key_file) if key_file else None,
    )
