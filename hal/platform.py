"""Platform selection: the configuration names the platform, its package is imported lazily.

    from hal import platform
    plat = platform.load({"platform": "sim", ...})
    plat.name, plat.clock.now()

Each platform package (``hal.sim``, ``hal.linux``, ``hal.mpy``) has ``create(config)``
returning a ``Platform``. A platform that cannot run on this runtime says so with a
``DeviceError`` instead of an import traceback.
"""

import os
import sys

from core.errors import ConfigError, DeviceError

PLATFORMS = ("sim", "linux", "mpy")


class Platform:
    """What a platform hands the firmware: its name and its devices (the clock, for now)."""

    def __init__(self, name, clock):
        self.name = name
        self.clock = clock


def load(config):
    name = config.get("platform")
    if name not in PLATFORMS:
        raise ConfigError("platform", "must be one of %s, got %r" % (", ".join(PLATFORMS), name))
    try:
        module = __import__("hal." + name, None, None, ["create"])
    except ImportError as e:
        raise DeviceError("platform %r cannot run here: %s" % (name, e))
    return module.create(config)


def aes_cbc(key, iv, data, decrypt=False):
    """AES in CBC mode over whole 16-byte blocks: MicroPython's ``cryptolib`` (on a board and the
    unix port), CPython's ``cryptography`` (hal/linux/aes.py)."""
    if len(data) % 16:
        raise ValueError("AES-CBC takes whole 16-byte blocks")
    if sys.implementation.name == "micropython":
        import cryptolib

        cipher = cryptolib.aes(key, 2, iv)  # 2: CBC; one object per direction
        return cipher.decrypt(data) if decrypt else cipher.encrypt(data)
    from hal.linux import aes

    return aes.decrypt(key, iv, data) if decrypt else aes.encrypt(key, iv, data)


def machine():
    """The CPU the firmware runs on (``aarch64`` on the QEMU target): ``os.uname`` on CPython,
    Linux's ``kernel.arch`` on MicroPython's unix port (which has no uname), else the platform."""
    try:
        return os.uname()[4]
    except (AttributeError, OSError):
        pass
    try:
        with open("/proc/sys/kernel/arch") as f:
            return f.read().strip()
    except OSError:
        return sys.platform
