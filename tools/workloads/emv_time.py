"""The EMV benchmarks' firmware side (device code, both runtimes): tools/bench/bench_emv.py.

    emv_time.py kernel TRANSCRIPT.json N   # the kernel alone, the card's answers replayed
    emv_time.py oda VECTORS.json N         # issuer key, ICC key and DDA check
    emv_time.py tap PORT CAPK.json N       # a tap through the firmware's vpcd reader

Each prints one JSON line: the median and the worst in microseconds, and what came out.

- ``kernel``: a contactless transaction as ``payment.emv.kernel.transaction`` runs it, fed
  the R-APDUs a virtual card gave for the same commands (the transcript, with its unpredictable
  number, date and amount), the host answering at once (``None``: no host). What is timed is
  the kernel (selection, GPO, records, ODA, CVM, analysis, GENERATE AC), not a card or a host.
- ``oda``: Book 2's recovery of the issuer's and the card's key from their certificates and
  the check of a DDA signature, with the vectors' key sizes (1984 bits at most).
- ``tap``: power on, the whole transaction through ``hal.sim.vpcd.VpcdReader`` and the
  virtual card behind it (tools/sim/card.py), power off: from the card's arrival to "card may
  be removed".
"""

import asyncio
import binascii
import json
import sys

from payment.emv import oda
from payment.emv.apdu import Transmit
from payment.emv.capk import load_ca_keys
from payment.emv.config import load_terminal
from payment.emv.kernel import Purchase, transaction
from payment.emv.online import GoOnline
from tools.workloads.ticks import diff_us, median, now_us

H = binascii.unhexlify


def _load(path):
    with open(path) as f:
        return json.load(f)


def replay(step, answers):
    """Drive ``step`` with ``answers`` in order (a host that is not there)."""
    i = 0
    try:
        action = step.send(None)
        while True:
            if isinstance(action, Transmit):
                answer = answers[i]
                i += 1
            elif isinstance(action, GoOnline):
                answer = None
            else:
                raise ValueError("the transcript's card asks for no PIN: %r" % (action,))
            action = step.send(answer)
    except StopIteration as e:
        return e.value


def kernel(path, n):
    t = _load(path)
    terminal = load_terminal("data/emv/terminal.json")
    ca = load_ca_keys(t["capk"])
    answers = [H(a) for a in t["answers"]]
    times, outcome = [], None
    for _ in range(n):
        txn = Purchase(t["amount"], H(t["date"]), H(t["un"]), lambda: 99, H(t["time"]))
        t0 = now_us()
        outcome = replay(transaction(terminal, txn, True, ca), answers)
        times.append(diff_us(now_us(), t0))
    return times, outcome.record()


def oda_check(path, n):
    v = _load(path)
    ca = oda.PublicKey(H(v["ca_modulus"]), H(v["ca_exponent"]))
    card = {
        0x90: H(v["cert_90"]),
        0x92: H(v["remainder_92"]),
        0x9F32: H(v["exponent_9f32"]),
        0x9F46: H(v["cert_9f46"]),
        0x9F48: H(v["remainder_9f48"]),
        0x9F47: H(v["exponent_9f47"]),
    }
    static, today, times, number = H(v["static"]), (2026, 12, 1), [], None
    for _ in range(n):
        t0 = now_us()
        issuer = oda.issuer_key(ca, card, v["pan"], today)
        icc = oda.icc_key(issuer, card, static, v["pan"], today)
        number = oda.check_dda(icc, H(v["sdad_9f4b"]), H(v["ddol_data"]))
        times.append(diff_us(now_us(), t0))
    return times, {"icc_number": binascii.hexlify(number).decode(), "bits": len(ca.modulus) * 8}


async def _taps(port, capk, n):
    from hal.sim.vpcd import VpcdReader
    from payment.emv.runner import run

    reader = VpcdReader(port, contactless=True)
    terminal, ca = load_terminal("data/emv/terminal.json"), load_ca_keys(capk)
    times, outcome = [], None
    try:
        for _ in range(400):
            if await reader.present():
                break
            await asyncio.sleep(0.02)
        for i in range(n):
            txn = Purchase(1000, H("261201"), bytes((1, 2, 3, i % 256)), lambda: 99)
            t0 = now_us()
            await reader.power_on()
            outcome = await run(transaction(terminal, txn, True, ca), reader)
            await reader.power_off()
            times.append(diff_us(now_us(), t0))
    finally:
        reader.close()
    return times, outcome.record()


def main(argv):
    what, path, n = argv[0], argv[1], int(argv[-1])
    if what == "kernel":
        times, out = kernel(path, n)
    elif what == "oda":
        times, out = oda_check(path, n)
    else:
        times, out = asyncio.run(_taps(int(path), argv[2], n))
    print(json.dumps({"median_us": median(times), "max_us": max(times), "out": out}))


main(sys.argv[1:])
