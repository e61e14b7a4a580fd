"""Entry point: load the configuration, select the platform, run the firmware on asyncio.

    python -m firmware [--config FILE]                 # CPython (host or embedded Linux)
    MICROPYPATH=.frozen:. micropython -m firmware      # MicroPython unix port
    # on a board, main.py:  from firmware.main import start; start([])

Without ``--config`` the embedded defaults apply (platform ``sim``). A bad configuration
is reported in one line and the process exits with status 2; Ctrl-C stops cleanly.
"""

import asyncio
import sys

from firmware import VERSION
from firmware import config as configuration
from firmware.cli import options
from firmware.errors import EcrError
from firmware.log import LEVELS, Logger
from hal import platform as platforms

USAGE = "usage: firmware [--config FILE]"


class Firmware:
    """The running firmware: configuration, platform, logger and its tasks."""

    def __init__(self, config, stream=None):
        self.config = config
        self.platform = platforms.load(config)
        log_cfg = config["log"]
        self.log = Logger(
            "ecr", LEVELS[log_cfg["level"]], log_cfg["ring"], stream=stream, clock=self.platform.clock
        )
        self._stop = asyncio.Event()

    async def run(self):
        """Run until ``stop()``. Later subsystems start their tasks here."""
        self.log.info("smartECR %s on %s, platform %s", VERSION, sys.implementation.name, self.platform.name)
        await self._stop.wait()
        self.log.info("stopped")

    def stop(self):
        self._stop.set()


def parse_args(argv):
    """``{"config": path or None}`` from the command line, or ``ValueError`` with the usage."""
    return options(argv, USAGE, ("config",), defaults={"config": None})


def start(argv, stream=sys.stdout, err=sys.stderr):
    """Run the firmware until interrupted. Returns the process exit status.

    Log lines go to ``stream``; a configuration or usage error goes to ``err`` as one line.
    """
    try:
        opts = parse_args(argv)
        config = configuration.load(opts["config"]) if opts["config"] else configuration.DEFAULTS
        firmware = Firmware(config, stream=stream)
    except (ValueError, EcrError) as e:
        err.write("smartECR: %s\n" % (e,))
        return 2
    try:
        asyncio.run(firmware.run())
    except KeyboardInterrupt:
        firmware.log.info("stopped by Ctrl-C")
    return 0
