"""The embedded-Linux platform: the terminal runs Linux. The drivers of this package are
CPython's (real peripherals through CPython libraries); a Linux terminal that runs the
firmware on MicroPython's unix port names MicroPython drivers for its devices in its board
file (``"micropython": {"driver": ...}``), such as ``hal.mpy.tse_file``."""

from hal.clock import SystemClock
from hal.platform import Platform


def create(config):
    return Platform("linux", SystemClock())
