"""ESC/POS encoding of a 40-line receipt with a native QR code: ours (firmware.receipts.to_escpos
over hal/escpos.py) next to python-escpos producing the same content in the same run.
Goal: ratio ours / python-escpos <= 1.0.
"""

import statistics
import time

from escpos.printer import Dummy

from firmware.receipts import to_escpos

QR = "V0;SMARTECR-SIM-0001;Kassenbeleg-V1;Beleg^7.29_0.00_0.00_0.00_0.00^7.29:Bar;2;17;" + "A" * 230
DOC = (
    [("line", "Mustermann Feinkost GmbH", "cbd")]
    + [
        ("line", "Artikel %02d Brötchen                  %d,%02d B" % (i, i, i), "b" if i % 10 == 0 else "")
        for i in range(39)
    ]
    + [("qr", QR, ""), ("cut", "", "")]
)
ROUNDS = 200


def ours():
    return to_escpos(DOC)


_PRINTER = Dummy(profile="TM-T88V")  # made once, like our encoder's tables: only encoding is timed


def theirs():
    p = _PRINTER
    p.clear()
    p.hw("INIT")
    p.charcode("CP858")
    for kind, value, style in DOC:
        if kind == "line":
            p.set(
                align="center" if "c" in style else "left",
                bold="b" in style,
                double_height="d" in style,
                double_width="d" in style,
            )
            p.text(value + "\n")
        elif kind == "qr":
            p.set(align="center")
            p.qr(value, ec=1, size=3, model=2, native=True)
        else:
            p.cut()
    return p.output


def median_us(fn):
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(times)


def run():
    a, b = median_us(ours), median_us(theirs)
    return [
        {
            "benchmark": "ESC/POS 40-line receipt + native QR: ours",
            "runtime": "cpython",
            "value": a,
            "unit": "us",
        },
        {
            "benchmark": "ESC/POS 40-line receipt + native QR: python-escpos",
            "runtime": "cpython",
            "value": b,
            "unit": "us",
        },
        {
            "benchmark": "ESC/POS encoding, ours / python-escpos",
            "runtime": "cpython",
            "value": a / b,
            "unit": "ratio",
            "goal": "<= 1.0",
            "ok": a / b <= 1.0,
        },
    ]
