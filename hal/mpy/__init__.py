"""The MicroPython board platform: machine.UART/SPI/Pin/SDCard drivers."""

import sys

from core.errors import DeviceError
from hal.clock import SystemClock
from hal.platform import Platform


def create(config):
    if sys.implementation.name != "micropython":
        raise DeviceError("platform 'mpy' needs MicroPython, this is %s" % sys.implementation.name)
    return Platform("mpy", SystemClock())
