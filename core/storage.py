"""Storage: getting written data onto the medium, the same way on both runtimes.

    with open(path, "ab") as f:
        f.write(record)
        sync(f)          # on the card / disk when this returns
    f.write(as_bytes(text))   # UTF-8 text into a binary file, without a copy on MicroPython

MicroPython's ``flush()`` already calls fsync on the unix port and writes through on a board's
FAT volume; CPython's ``flush()`` only empties its buffer, so ``os.fsync`` follows.
"""

import hashlib
import json
import os

# MicroPython hands a str's UTF-8 bytes to hashlib, binascii and binary files without a copy;
# CPython needs bytes. One copy fewer on the runtime with the smaller heap.
try:
    hashlib.sha256().update("")
    STR_IS_BYTES = True
except TypeError:
    STR_IS_BYTES = False


def as_bytes(text):
    """``text`` as something a binary file, hashlib and binascii take: itself on MicroPython
    (and bytes as they are)."""
    if STR_IS_BYTES or isinstance(text, (bytes, bytearray)):
        return text
    return text.encode()


def sync(f):
    f.flush()
    if hasattr(os, "fsync"):
        os.fsync(f.fileno())


def write_atomic(path, text):
    """Replace ``path`` with ``text`` so that a power cut leaves the old or the new file."""
    tmp = path + ".new"
    with open(tmp, "wb") as f:
        f.write(as_bytes(text))
        sync(f)
    os.rename(tmp, path)


def read_json(path):
    """The JSON in ``path``, or ``None`` if there is no such file (``ValueError`` if it is not JSON)."""
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        return None


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def makedirs(path):
    """Make ``path`` and every missing parent (MicroPython's ``os`` has no ``makedirs``)."""
    built = ""
    for part in path.split("/"):
        built = built + "/" + part if built or path.startswith("/") else part
        if part and not exists(built):
            os.mkdir(built)
