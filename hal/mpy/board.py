"""MicroPython board drivers: GPIO cash drawer and the microSD TSE on ``machine.SDCard``.

    drawer = PinDrawer(kick=Pin(12, Pin.OUT), sensor=Pin(13, Pin.IN, Pin.PULL_UP), open_level=0)
    open_tse = lambda: BlockTransport(machine.SDCard(slot=2))

Board files name them ``pin-drawer`` and ``sdcard-tse``; the printer, display and scanner of
a board are the common drivers on a ``uart`` link (hal/link.py).
"""

import asyncio

from hal.drawer import Drawer, DrawerCaps


class PinDrawer(Drawer):
    def __init__(self, kick, sensor=None, open_level=1, pulse_ms=100):
        self.kick = kick
        self.sensor = sensor
        self.open_level = open_level
        self.pulse_ms = pulse_ms
        self.caps = DrawerCaps(sensor=sensor is not None)
        kick.value(0)

    async def open(self):
        self.kick.value(1)
        try:
            await asyncio.sleep(self.pulse_ms / 1000)  # the solenoid's pulse; the loop goes on
        finally:
            self.kick.value(0)  # also when cancelled: a solenoid left on burns out

    async def is_open(self):
        if self.sensor is None:
            return None
        return self.sensor.value() == self.open_level


def create_drawer(s, board):
    """Board driver ``pin-drawer``: ``kick`` and optional ``sensor`` GPIO numbers."""
    from machine import Pin

    sensor = Pin(s.int("sensor"), Pin.IN, Pin.PULL_UP) if s.has("sensor") else None
    return PinDrawer(
        Pin(s.int("kick"), Pin.OUT), sensor, s.int("open_level", 1, 0, 1), s.int("pulse_ms", 100, 20, 500)
    )


def create_tse(s, board):
    """Board driver ``sdcard-tse``: the TSE in the board's microSD slot."""
    import machine

    from tse_sd.transport import BlockTransport

    slot = s.int("slot", 2, 0, 3)
    return lambda: BlockTransport(machine.SDCard(slot=slot))
