"""Read files through tse_sd.fat from an image file, on either runtime (tests/host/test_tse_fat.py).

micropython tests/device/fat_probe.py IMAGE NAME...   -> one JSON line: fat type, and per
                                                       file its size and SHA-256 (or the error)
"""

import binascii
import hashlib
import json
import sys

from tse_sd.fat import SECTOR, FatVolume


class ImageBlocks:
    """A block device over an image file (what machine.SDCard is on a board)."""

    def __init__(self, path):
        self.f = open(path, "rb")

    def readblocks(self, block, buf):
        self.f.seek(block * SECTOR)
        if self.f.readinto(buf) != len(buf):
            raise OSError("read past the end of the image")


def probe(path, names):
    dev = ImageBlocks(path)
    try:
        try:
            vol = FatVolume(dev)
        except OSError as e:
            return {"error": str(e)}
        out = {"fat": vol.fat_type, "files": {}}
        for name in names:
            try:
                f = vol.open(name)
            except OSError as e:
                out["files"][name] = {"error": str(e)}
                continue
            h = hashlib.sha256()
            buf = bytearray(SECTOR)
            left = f.size
            if left:
                for sector, n in f.runs(0, f.sectors):
                    for s in range(sector, sector + n):
                        dev.readblocks(s, buf)
                        h.update(buf[: min(SECTOR, left)])
                        left -= min(SECTOR, left)
            out["files"][name] = {
                "size": f.size,
                "sha256": binascii.hexlify(h.digest()).decode(),
                "extents": len(f.extents),
            }
        return out
    finally:
        dev.f.close()


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1], sys.argv[2:])))
