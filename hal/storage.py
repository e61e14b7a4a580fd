"""Storage: getting written data onto the medium, the same way on both runtimes.

    with open(path, "ab") as f:
        f.write(record)
        sync(f)          # on the card / disk when this returns

MicroPython's ``flush()`` already calls fsync on the unix port and writes through on a board's
FAT volume; CPython's ``flush()`` only empties its buffer, so ``os.fsync`` follows.
"""

import os


def sync(f):
    f.flush()
    if hasattr(os, "fsync"):
        os.fsync(f.fileno())
