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


def tls_client(ca_der):
    """A TLS client context that trusts the CA certificate ``ca_der`` (DER bytes) and nothing
    else: MicroPython's ``tls`` (mbedTLS), CPython's ``ssl`` (hal/linux/tls.py). Hand it to
    ``hal.http.request(..., tls=)``."""
    if sys.implementation.name == "micropython":
        import tls

        ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = tls.CERT_REQUIRED
        ctx.load_verify_locations(ca_der)  # positional: the unix port takes no keywords here
        return ctx
    from hal.linux import tls

    return tls.client(ca_der)


def read_certificate(path):
    """A certificate file (PEM or DER) as DER bytes; ``ValueError`` naming the file."""
    import binascii

    with open(path, "rb") as f:
        data = f.read()
    begin, end = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"
    if begin not in data:
        if data[:1] != b"\x30":
            raise ValueError("%s is no certificate (PEM or DER)" % path)
        return data
    body = data.split(begin, 1)[1].split(end, 1)[0]
    try:
        return binascii.a2b_base64(b"".join(body.split()))
    except ValueError:
        raise ValueError("%s: the PEM certificate is damaged" % path)


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
