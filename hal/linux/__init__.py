"""The embedded-Linux platform (CPython only): real peripherals through CPython libraries."""

import sys

from core.errors import DeviceError
from hal.clock import SystemClock
from hal.platform import Platform


def create(config):
    if sys.implementation.name != "cpython":
        raise DeviceError("platform 'linux' needs CPython, this is %s" % sys.implementation.name)
    return Platform("linux", SystemClock())
