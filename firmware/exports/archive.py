"""ZIP archives of export folders (device code): stored, streamed, constant memory.

    zip_folder("out/export", "out/dsfinvk.zip", mtime=clock.now())
    for done in zip_steps(...): await asyncio.sleep(0)    # the same in steps, for a busy terminal

Each file is read twice: once for its CRC-32 and size, once to copy it behind its local header;
the central directory (a few dozen bytes per file) is kept until the end. Files are stored
uncompressed (method 0), which every ZIP reader accepts; no Deflate encoder is needed on the
device. ZIP64 is not written: an export of more than 4 GiB is refused.
"""

import binascii
import os
import struct

from core.calendar import berlin_offset, utc_fields

_CHUNK = 4096
_STEP = 64 * 1024
_LIMIT = 0xFFFFFFFF


def _dos_time(seconds):
    y, mo, d, h, mi, s = utc_fields(seconds + berlin_offset(seconds))
    if y < 1980:  # the first date a ZIP can hold
        y, mo, d, h, mi, s = 1980, 1, 1, 0, 0, 0
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def _scan(path, sums):
    """CRC-32 and size of ``path`` into ``sums``; yields now and then."""
    crc, size = 0, 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                sums[0], sums[1] = crc & 0xFFFFFFFF, size
                return
            crc = binascii.crc32(chunk, crc)
            size += len(chunk)
            if size % _STEP == 0:
                yield size


def zip_folder(folder, path, names=None, mtime=0):
    """Write the files of ``folder`` (or only ``names``, in that order) into the ZIP ``path``."""
    for _ in zip_steps(folder, path, names, mtime):
        pass


def zip_steps(folder, path, names=None, mtime=0):
    """``zip_folder`` as a generator: it yields the bytes written so far after every
    ``_STEP`` bytes read, so a caller can let other tasks run in between."""
    names = sorted(os.listdir(folder)) if names is None else names
    time, date = _dos_time(mtime)
    central = []
    offset = 0
    with open(path, "wb") as out:
        for name in names:
            src = folder + "/" + name
            sums = [0, 0]
            for _ in _scan(src, sums):
                yield offset
            crc, size = sums
            if size > _LIMIT or offset > _LIMIT:
                raise ValueError("%s: more than 4 GiB, too big for a ZIP without ZIP64" % name)
            raw = name.encode()
            fields = struct.pack("<HHHHHIIIHH", 20, 0x0800, 0, time, date, crc, size, size, len(raw), 0)
            out.write(b"PK\x03\x04" + fields + raw)
            with open(src, "rb") as f:
                copied = 0
                while True:
                    chunk = f.read(_CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    copied += len(chunk)
                    if copied % _STEP == 0:
                        yield offset + copied
            central.append(
                b"PK\x01\x02"
                + struct.pack("<H", 0x0314)  # made by: Unix, ZIP 2.0
                + fields
                + struct.pack("<HHHII", 0, 0, 0, 0o100644 << 16, offset)
                + raw
            )
            offset += 30 + len(raw) + size
        start = offset
        size = 0
        for entry in central:
            out.write(entry)
            size += len(entry)
        out.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(central), len(central), size, start, 0))
