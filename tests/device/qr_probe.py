"""QR codes made on either runtime (tests/host/test_qr.py): the matrices of a few texts, and a
panel with one drawn on it.

    qr_probe.py matrix FILE ECL      # {"version", "mask", "rows": ["0110...", ...]}
    qr_probe.py panel FILE           # {"width", "height", "buf": hex of a mono panel}

The text comes in a file (UTF-8): the MicroPython unix port dies ("FATAL: uncaught NLR") on a
command-line argument of more than about 256 bytes.
"""

import binascii
import json
import sys

from core import qr
from hal.screen import Panel


def main(argv):
    with open(argv[1], "rb") as f:
        text = f.read()
    if argv[0] == "matrix":
        code = qr.encode(text, argv[2])
        rows = []
        for y in range(code.size):
            rows.append("".join("1" if code.dark(x, y) else "0" for x in range(code.size)))
        print(json.dumps({"version": code.version, "mask": code.mask, "rows": rows}))
    else:
        panel = Panel(200, 200, mono=True)
        panel.render([("fill", 0), ("qr", 10, 10, text.decode(), 3, 1, 0)])
        print(json.dumps({"width": 200, "height": 200, "buf": binascii.hexlify(panel.buf).decode()}))


main(sys.argv[1:])
