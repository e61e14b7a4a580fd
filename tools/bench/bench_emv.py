"""The card terminal's timings (issue 15), on both runtimes:

1. the kernel's time for a contactless transaction, without card or host latency: the R-APDUs
   of a virtual card (tools/sim/emv_card.py, mastercard-debit tapped for 10,00 EUR) recorded
   once, then replayed to the kernel (tools/workloads/emv_time.py ``kernel``): goal <= 20 ms on
   CPython, <= 60 ms on MicroPython;
2. tap to "card may be removed" through the firmware's vpcd reader and the virtual card behind
   it (power on, the transaction, power off): goal <= 500 ms (the EMV contactless target);
3. offline data authentication (issuer key, ICC key, DDA check) with 1984-bit keys, the largest
   a scheme's CA uses: reported, no goal.
"""

import json
import subprocess
import sys
import tempfile
import time
import warnings

from tools import upy
from tools.bench.bench_sale import row
from tools.sim import emv_pki
from tools.sim.card import CardLink
from tools.sim.emv_card import EmvCard, SimCa
from tools.sim.launch import free_port

WORKLOAD = str(upy.ROOT / "tools" / "workloads" / "emv_time.py")
GOAL_KERNEL_MS = {"cpython": 20, "micropython": 60}
GOAL_TAP_MS = 500
RUNS = 30
H = bytes.fromhex


def _argv(runtime, *args):
    argv = [WORKLOAD] + [str(a) for a in args]
    return upy.command(argv) if runtime == "micropython" else [sys.executable] + argv


def _env():
    return upy.env({"PYTHONPATH": str(upy.ROOT)})


def _result(runtime, what, proc_out, proc_err, status):
    if status:
        raise RuntimeError("emv_time %s on %s failed: %s%s" % (what, runtime, proc_out, proc_err))
    return json.loads(proc_out.strip().splitlines()[-1])


def _run(runtime, *args):
    proc = subprocess.run(_argv(runtime, *args), cwd=upy.ROOT, env=_env(), capture_output=True, text=True)
    return _result(runtime, args[0], proc.stdout, proc.stderr, proc.returncode)


def _card(ca):
    return EmvCard.load(str(upy.ROOT / "data" / "cards" / "mastercard-debit.json"), ca, contactless=True)


def transcript(ca, capk, folder):
    """The card's answers to one contactless transaction, for the kernel to be fed again."""
    from payment.emv.apdu import Transmit
    from payment.emv.capk import load_ca_keys
    from payment.emv.config import load_terminal
    from payment.emv.kernel import Purchase, transaction

    card = _card(ca)
    t = {"amount": 1000, "date": "261201", "time": "120000", "un": "01020304", "capk": capk, "answers": []}
    txn = Purchase(t["amount"], H(t["date"]), H(t["un"]), lambda: 99, H(t["time"]))
    step = transaction(load_terminal("data/emv/terminal.json"), txn, True, load_ca_keys(capk))
    action = step.send(None)
    try:
        while True:
            answer = None
            if isinstance(action, Transmit):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    answer = card.answer(bytes(action.apdu))
                t["answers"].append(answer.hex())
            action = step.send(answer)
    except StopIteration:
        pass
    t["ac"] = card.log[-1]["ac"].hex().upper()  # what the replayed kernel must come out with
    path = folder + "/transcript.json"
    with open(path, "w") as f:
        json.dump(t, f)
    return path


def taps(runtime, ca, capk):
    """``RUNS`` taps of one virtual card in the firmware's vpcd reader."""
    port = free_port()
    proc = subprocess.Popen(
        _argv(runtime, "tap", port, capk, RUNS),
        cwd=upy.ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    link = None
    try:
        for _ in range(200):  # until the reader listens
            try:
                link = CardLink(_card(ca), port).insert()
                break
            except OSError:
                time.sleep(0.05)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        if link is not None:
            link.remove()
    return _result(runtime, "tap", out, err, proc.returncode)


def _ms(us):
    return round(us / 1000, 2)


def run():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ca = SimCa.make()
        capk = tmp + "/capk.json"
        with open(capk, "w") as f:
            json.dump(ca.store(), f)
        kernel_input = transcript(ca, capk, tmp)
        chain = emv_pki.chain(1984, 1984, 1984)
        oda_input = tmp + "/oda.json"
        with open(oda_input, "w") as f:
            json.dump({k.lower(): v if isinstance(v, str) else v.hex() for k, v in chain.items()}, f)
        for runtime in ("cpython", "micropython"):
            ms, goal = _ms(_run(runtime, "kernel", kernel_input, RUNS)["median_us"]), GOAL_KERNEL_MS[runtime]
            rows.append(row(KERNEL, runtime, ms, "ms", "<= %d ms" % goal, ms <= goal))
            ms = _ms(taps(runtime, ca, capk)["median_us"])
            rows.append(row(TAP, runtime, ms, "ms", "<= %d ms" % GOAL_TAP_MS, ms <= GOAL_TAP_MS))
            got = _run(runtime, "oda", oda_input, 5 if runtime == "micropython" else RUNS)
            rows.append(row(ODA, runtime, _ms(got["median_us"]), "ms"))
    return rows


KERNEL = "EMV kernel, contactless transaction (card and host excluded): median"
TAP = "tap to card-may-be-removed through vpcd: median"
ODA = "ODA (issuer + ICC key, DDA) with 1984-bit keys: median"
