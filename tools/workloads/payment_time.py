"""Per-message times of the payment parsers (``make bench``: tools/bench/bench_payments.py), on
either runtime: the annotated Status Information of a real terminal (PAYMENTS.md §5.5) read
into the payment record; our merchant-presented EMVCo code read back with its CRC and every
check; a consumer-presented code's chip data; a serial frame's deframing with its CRC.

    payment_time.py [--loops 2000]      # one JSON line: microseconds per message, median of 5
"""

import json
import sys

from core.cli import options
from payment.qr import emvco
from payment.zvt import messages as m
from payment.zvt import serial
from tools.workloads.fuzz_payments import ACCOUNT, STATUS, _cpm

try:
    from time import ticks_diff, ticks_us
except ImportError:
    import time

    def ticks_us():
        return time.perf_counter_ns() // 1000

    def ticks_diff(a, b):
        return a - b


def _per_message(fn, arg, loops):
    runs = []
    for _ in range(5):
        t0 = ticks_us()
        for _ in range(loops):
            fn(arg)
        runs.append(ticks_diff(ticks_us(), t0) / loops)
    runs.sort()
    return runs[2]


def main(argv):
    opts = options(argv, "usage: payment_time.py [--loops N]", ("loops",), defaults={"loops": "2000"})
    loops = int(opts["loops"])
    mpm = emvco.merchant_presented(
        1250, "Mustermann Feinkost GmbH", "Berlin", "SMARTECR-SIM-0001-000042", ACCOUNT
    )
    cpm = _cpm().decode()
    frame = serial.frame(m.STATUS_INFO.to_bytes(2, "big") + bytes((len(STATUS),)) + STATUS)

    def deframe(raw):
        serial.Deframer().feed(raw)

    out = {
        "runtime": sys.implementation.name,
        "zvt_status_information_us": _per_message(m.status_information, STATUS, loops),
        "emvco_mpm_us": _per_message(emvco.read_merchant_presented, mpm, loops),
        "emvco_cpm_us": _per_message(emvco.read_consumer_presented, cpm, loops),
        "zvt_serial_frame_us": _per_message(deframe, frame, loops),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
