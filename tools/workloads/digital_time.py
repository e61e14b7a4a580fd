"""The digital receipt's cryptography per receipt (``make bench``: tools/bench/bench_digital.py),
on either runtime: a 30-line receipt made into its document and sealed (HKDF, AES-256-CBC,
HMAC-SHA256), and its key wrapped to a loyalty account (X25519).

    digital_time.py [--loops 20]      # one JSON line: milliseconds per receipt, median of 5 runs
"""

import json
import os
import sys

from core.cli import options
from core.x25519 import public_key
from firmware.digital.document import document, dumps
from firmware.digital.envelope import seal, wrap
from firmware.register.master import load_master
from tools.workloads.payment_time import ticks_diff, ticks_us


def record(lines=30):
    rows = []
    for i in range(lines):
        rows.append(
            {
                "pos": i + 1,
                "gv_typ": "Umsatz",
                "text": "Artikel Nummer %d, 250 g" % i,
                "qty": 1000,
                "price": 199 + i,
                "amount": 199 + i,
                "vat_key": 1 + i % 2,
                "storno": False,
            }
        )
    total = sum(r["amount"] for r in rows)
    qr = "V0;SMARTECR-SIM-0001;Kassenbeleg-V1;Beleg^1.00_2.00_0.00_0.00_0.00^3.00:Bar;7;31;"
    qr += (
        "2026-12-02T10:00:00.000Z;2026-12-02T10:00:05.000Z;ecdsa-plain-SHA384;unixTime;"
        + "S" * 128
        + ";"
        + "K" * 132
    )
    return {
        "bon_nr": 7,
        "bon_typ": "Beleg",
        "z_nr": 1,
        "start": 1796205600,
        "end": 1796205605,
        "lines": rows,
        "payments": [{"typ": "Bar", "name": "Bargeld", "amount": total}],
        "given": total,
        "change": 0,
        "total": total,
        "vat": [[1, 1900, total // 2, total // 2 - 10, 10], [2, 700, total - total // 2, 0, 0]],
        "tse": {
            "number": 7,
            "start": 1796205600,
            "end": 1796205605,
            "counter": 31,
            "signature": "S" * 128,
            "serial": "ab" * 32,
            "client_id": "SMARTECR-SIM-0001",
            "process_type": "Kassenbeleg-V1",
            "process_data": "Beleg^1.00_2.00_0.00_0.00_0.00^3.00:Bar",
            "qr": qr,
        },
    }


def _median_ms(fn, loops):
    runs = []
    for _ in range(5):
        t0 = ticks_us()
        for _ in range(loops):
            fn()
        runs.append(ticks_diff(ticks_us(), t0) / loops / 1000)
    runs.sort()
    return runs[2]


def main(argv):
    opts = options(argv, "usage: digital_time.py [--loops N]", ("loops",), defaults={"loops": "20"})
    loops = int(opts["loops"])
    master = load_master("data/demo-master.json")
    rec = record()
    key = os.urandom(32)
    account = public_key(os.urandom(32))
    raw = dumps(document(rec, master))
    out = {
        "runtime": sys.implementation.name,
        "document_bytes": len(raw),
        "document_ms": _median_ms(lambda: dumps(document(rec, master)), loops),
        "seal_ms": _median_ms(lambda: seal(key, raw), loops),
        "wrap_ms": _median_ms(lambda: wrap(key, account), max(1, loops // 4)),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
