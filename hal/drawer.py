"""The cash drawer: an open pulse and, where wired, an open sensor (device code).

    drawer = PrinterDrawer(printer)      # kicked through the printer's drawer port (ESC p)
    await drawer.open()
    await drawer.is_open()               # True/False from the sensor, None without one
    watch = DrawerWatch(limit_s=30)
    watch.update(await drawer.is_open(), now)  # -> a warning text once open too long

Most drawers hang on the receipt printer's RJ-12 drawer port: ``ESC p m t1 t2`` fires the
solenoid on pin 2 or 5 and the drawer's switch comes back on pin 3, read with ``DLE EOT 1``
(bit 2). Whether a high level means open or closed depends on the drawer, so it is board
data (``open_level``). A board with the drawer on its own GPIOs uses ``hal.mpy`` instead.
"""

from hal.escpos import EscPos


class DrawerCaps:
    def __init__(self, sensor=True):
        self.sensor = sensor


class Drawer:
    """The interface. Both methods wait (for the printer's line, for the pulse) as coroutines."""

    caps = DrawerCaps()

    async def open(self):
        raise NotImplementedError

    async def is_open(self):
        """True or False from the sensor; None when there is no sensor."""
        return None


class PrinterDrawer(Drawer):
    def __init__(self, printer, pin=2, open_level=True, sensor=True):
        self.printer = printer
        self.pin = pin
        self.open_level = open_level
        self.caps = DrawerCaps(sensor=sensor)
        self._kick = EscPos().drawer(pin).take()  # checks the pin once, here

    async def open(self):
        await self.printer.write(self._kick)

    async def is_open(self):
        if not self.caps.sensor:
            return None
        return (await self.printer.status()).drawer_level == self.open_level


class DrawerWatch:
    """Warns once when the drawer has stood open longer than ``limit_s`` seconds, and again
    for every further ``limit_s``; forgets when it is closed."""

    def __init__(self, limit_s=30):
        self.limit_s = limit_s
        self.opened_at = None
        self._warned = 0

    def update(self, is_open, now):
        """Feed the sensor state and the time (seconds); returns a warning text or None."""
        if not is_open:
            self.opened_at = None
            self._warned = 0
            return None
        if self.opened_at is None:
            self.opened_at = now
        periods = int(now - self.opened_at) // self.limit_s
        if periods > self._warned:
            self._warned = periods
            return "Kassenlade seit %d s offen" % (int(now - self.opened_at),)
        return None


def create(s, board):
    """Board driver ``printer-drawer``: the drawer on the printer's drawer port."""
    return PrinterDrawer(
        board.get(s.str("printer", "printer")),
        pin=s.int("pin", 2, 2, 5),
        open_level=s.bool("open_level", True),
        sensor=s.bool("sensor", True),
    )
