"""Helpers for device tests, which run under pytest on CPython and under tests/upy_runner.py
on MicroPython (no pytest, no fixtures there): plain functions only.

    from support import raises, run, TempDir
    e = raises(ValueError, vat_split, 1.5, 1900)
    assert "integer" in str(e)
"""

import asyncio
import os
import sys

RUNTIME = sys.implementation.name
# The repository root, from this file's place (tests/device/support.py), on both runtimes.
ROOT = __file__.rsplit("/", 3)[0] if __file__.count("/") >= 3 else "."


def demo_master():
    """The demo shop's master data (data/demo-master.json), validated."""
    import json

    from firmware.register.master import MasterData

    with open(ROOT + "/data/demo-master.json") as f:
        return MasterData.from_dict(json.load(f))


def raises(exc_type, fn, *args, **kwargs):
    """Call ``fn``; return the ``exc_type`` it raised, or fail the test if it did not raise."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("%s did not raise %s" % (getattr(fn, "__name__", fn), exc_type.__name__))


async def listen(serve):
    """A loopback server on a free port: ``(server, port)`` (MicroPython's server does not say
    which port it got)."""
    for _ in range(20):
        port = 20000 + int.from_bytes(os.urandom(2), "big") % 40000
        try:
            return await asyncio.start_server(serve, "127.0.0.1", port), port
        except OSError:
            continue
    raise OSError("no free loopback port")


def run(coro):
    """Run a coroutine to completion on a fresh event loop and return its result."""
    return asyncio.run(coro)


def _rmtree(path):
    for name in os.listdir(path):
        full = path + "/" + name
        if os.stat(full)[0] & 0x4000:  # S_IFDIR
            _rmtree(full)
        else:
            os.remove(full)
    os.rmdir(path)


class TempDir:
    """A fresh directory under /tmp, removed by ``cleanup()``.

    d = TempDir()
    try: ... d.path + "/file" ...
    finally: d.cleanup()
    """

    def __init__(self):
        self.path = "/tmp/ecr-test-" + "".join("%02x" % b for b in os.urandom(6))
        os.mkdir(self.path)

    def write(self, name, text):
        with open(self.path + "/" + name, "w") as f:
            f.write(text)
        return self.path + "/" + name

    def cleanup(self):
        _rmtree(self.path)
