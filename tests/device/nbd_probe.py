"""Reach a card image served by any NBD server through tse_sd (tests/host/test_nbd.py).

    micropython tests/device/nbd_probe.py HOST:PORT|unix:PATH EXPORT STORE_BLOCK PATTERN_BYTE
-> reads TSE_INFO.DAT, writes one block of PATTERN_BYTE at STORE_BLOCK of TSE_TAR.001, flushes,
   prints one JSON line with the info block's SHA-256 and the device size (or the error).
"""

import binascii
import hashlib
import json
import sys

from tse_sd.nbd import NbdBlockDevice
from tse_sd.transport import BlockTransport


def probe(address, export, store_block, pattern):
    try:
        if address.startswith("unix:"):
            dev = NbdBlockDevice.connect(name=export, unix_path=address[5:])
        else:
            host, _, port = address.rpartition(":")
            dev = NbdBlockDevice.connect(host, int(port), export)
    except OSError as e:
        return {"error": str(e)}
    transport = BlockTransport(dev)
    try:
        buf = bytearray(512)
        transport.read_info(buf)
        transport.write_store(store_block, bytes((pattern,)) * 512)
        dev.ioctl(3, 0)  # flush
        return {
            "info_sha256": binascii.hexlify(hashlib.sha256(buf).digest()).decode(),
            "blocks": dev.ioctl(4, 0),
            "store_blocks": transport.store_blocks,
        }
    finally:
        transport.close()


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
