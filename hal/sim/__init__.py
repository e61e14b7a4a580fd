"""The host-simulator platform: peripherals are wire-level emulators (runs on both runtimes)."""

from hal.clock import SystemClock
from hal.platform import Platform


def create(config):
    return Platform("sim", SystemClock())
