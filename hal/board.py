"""Board configuration as data: which driver runs each device, with its ports, pins and paths.

    board = Board.load("boards/sim.json", overrides={"printer": {"port": 9100}, "scanner": None})
    board.names()                 # ['card_reader', 'display', 'drawer', 'printer', ...]
    printer = board.get("printer")  # the driver module is imported now, the first time

A board file is ``{"name", "platform", "doc", "devices": {name: entry}}``. An entry names its
``driver`` (a key of ``DRIVERS``) and that driver's settings. An entry may hold a
``micropython`` or ``cpython`` object whose keys replace the entry's on that runtime (the
simulator's card reader is pcscd on CPython and the firmware's own vpcd reader on
MicroPython). Drivers are imported only when a device is first asked for, so a board never
pays for (or fails on) a library its firmware does not use. A bad entry is a
``ConfigError`` naming ``devices.<name>.<key>``; a driver that cannot run here is a
``DeviceError``.
"""

import sys

from core.errors import ConfigError, DeviceError
from core.schema import Field, check, read_json

# driver name -> "module:factory"; factory(entry, board) returns the device
DRIVERS = {
    "tcp-printer": "hal.sim.printer:create",
    "printer-drawer": "hal.drawer:create",
    "dmd-display": "hal.display:create",
    "serial-scanner": "hal.scanner:create",
    "camera-scanner": "hal.linux.camera:create",
    "vpcd-reader": "hal.sim.vpcd:create",
    "keypad-pinpad": "hal.sim.pinpad:create",
    "panel-pinpad": "hal.touchpin:create",
    "tcp-panel": "hal.sim.panel:create",
    "serial-scale": "hal.scale:create",
    "pcsc-reader": "hal.linux.pcsc:create",
    "link-printer": "hal.printer:create",
    "escpos-printer": "hal.linux.escpos_printer:create",
    "nbd-tse": "tse_sd.nbd:create",
    "file-tse": "hal.linux.tse_file:create",
    "sdcard-tse": "hal.mpy.board:create_tse",
    "ffi-file-tse": "hal.mpy.tse_file:create",
    "pin-drawer": "hal.mpy.board:create_drawer",
    "serial-line": "hal.link:create_line",
    "tty-line": "hal.linux.tty:create_line",
    "zvt-terminal": "payment.zvt.wire:create",
    "zvt-line": "payment.zvt.wire:create_line",
}
RUNTIMES = ("micropython", "cpython")


def _resolve(entry):
    out = {}
    for key, value in entry.items():
        if key not in RUNTIMES:
            out[key] = value
    own = entry.get(sys.implementation.name)
    if own is not None:
        out.update(own)
    return out


class Board:
    def __init__(self, data, source="board", overrides=None):
        if not isinstance(data, dict) or not isinstance(data.get("devices"), dict):
            raise ConfigError(source, "a board needs a 'devices' object")
        self.name = data.get("name", source)
        self.platform = data.get("platform", "sim")
        entries = {}
        for name, entry in data["devices"].items():
            if not isinstance(entry, dict):
                raise ConfigError("devices." + name, "must be an object")
            entries[name] = _resolve(entry)
        for name, extra in (overrides or {}).items():  # the terminal's own settings win
            if name not in entries:
                raise ConfigError("devices." + name, "no such device on board %s" % source)
            if extra is None:  # this terminal has no such device (or its peer is missing)
                del entries[name]
            elif not isinstance(extra, dict):
                raise ConfigError("devices." + name, "must be an object or null")
            else:
                entries[name].update(extra)
        self.entries = {}
        for name, entry in entries.items():
            if entry.get("driver") not in DRIVERS:
                raise ConfigError(
                    "devices.%s.driver" % name,
                    "unknown driver %r (known: %s)" % (entry.get("driver"), ", ".join(sorted(DRIVERS))),
                )
            self.entries[name] = entry
        self._devices = {}

    @classmethod
    def load(cls, path, overrides=None):
        return cls(read_json(path, "board file"), path, overrides)

    def names(self):
        return sorted(self.entries)

    def has(self, name):
        return name in self.entries

    def get(self, name):
        """The device ``name``, created (and its driver imported) on first use."""
        device = self._devices.get(name)
        if device is None:
            entry = self.entries.get(name)
            if entry is None:
                raise DeviceError("this board has no %s" % name)
            module_name, _, factory = DRIVERS[entry["driver"]].partition(":")
            try:
                module = __import__(module_name, None, None, [factory])
            except ImportError as e:
                raise DeviceError("driver %s for %s cannot run here: %s" % (entry["driver"], name, e))
            device = getattr(module, factory)(Settings(entry, "devices." + name), self)
            self._devices[name] = device
        return device

    def close(self):
        for device in self._devices.values():
            close = getattr(device, "close", None)
            if close is not None:
                close()
        self._devices = {}


class Settings:
    """One device entry, read with checks: ``s.int("port")``, ``s.str("host", "127.0.0.1")``."""

    def __init__(self, entry, path):
        self.entry = entry
        self.path = path

    def _get(self, key, field):
        """The value (or ``field.default``; ``None`` means required), checked like configuration."""
        value = self.entry.get(key, field.default)
        if value is None:
            raise ConfigError(self.path + "." + key, "is required")
        return check(field, value, self.path + "." + key)

    def str(self, key, default=None):
        return self._get(key, Field("str", default))

    def int(self, key, default=None, lo=None, hi=None):
        return self._get(key, Field("int", default, min=lo, max=hi))

    def bool(self, key, default=None):
        return self._get(key, Field("bool", default))

    def has(self, key):
        return key in self.entry
