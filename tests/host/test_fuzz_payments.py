"""The payment parsers under seeded mutation fuzzing, 100,000 inputs each on both runtimes
(tools/workloads/fuzz_payments.py): every ZVT message a register or our PT side reads, the TCP
stream and the serial deframer, the EMVCo codes, the GiroCode and the wallet-token test either
accept an input or refuse it with a ProtocolError, never anything else; refused commands sent
through our PT session change nothing and reach the terminal for nothing. Each parser must see
inputs it accepts and inputs it refuses, or the mutations would not test it."""

import json
import subprocess
import sys

import pytest

from tools import upy

COUNT = 100000


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_no_payment_parser_crashes_or_changes_state(runtime):
    argv = ["tools/workloads/fuzz_payments.py", "--count", str(COUNT), "--seed", "18", "--session", "2000"]
    if runtime == "micropython":
        proc = upy.run(argv, capture_output=True, text=True)
    else:
        env = upy.env({"PYTHONPATH": str(upy.ROOT)})
        proc = subprocess.run([sys.executable] + argv, capture_output=True, text=True, cwd=upy.ROOT, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["crash_count"] == 0, report["crashes"]
    for name, (inputs, refused, accepted) in report["parsers"].items():
        if name.startswith("pt session"):
            assert inputs > 1000, name  # most mutated commands are refused, and go through a session
            continue
        assert inputs == COUNT, name
        if name not in ("apdu stream", "serial deframer"):  # these two refuse by events, not errors
            assert refused > 0 and accepted > 0, (name, refused, accepted)
