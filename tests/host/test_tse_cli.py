"""`python -m tools.tse`: the exercise contract on both runtimes, and card serve/info/export."""

import json
import select
import signal
import subprocess
import sys

import pytest

from tools import upy
from tools.audit.tse import verify_qr, verify_tar


def tse(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "tools.tse", *args],
        cwd=upy.ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_exercise_writes_a_verifiable_export_and_receipt_codes(runtime, tmp_path):
    out = tmp_path / "ex"
    args = ["exercise", "--count", "15", "--out", str(out), "--runtime", runtime]
    if runtime == "micropython":
        args += ["--heapsize", "256K"]  # the driver fits a small board's heap
    proc = tse(*args)
    assert proc.returncode == 0, proc.stderr
    assert "exercise on %s" % runtime in proc.stdout
    qrs = (out / "qr.txt").read_text().splitlines()
    assert len(qrs) == 15
    data = [verify_qr(q) for q in qrs]
    assert all(ok for ok, _ in data)
    kinds = {qr.process_data.split("^")[0] for _, qr in data}
    assert kinds == {"Beleg", "AVBelegabbruch"}
    payments = {
        part.split(":")[1] for _, qr in data for part in qr.process_data.split("^")[2].split("_") if part
    }
    assert payments == {"Bar", "Unbar"}
    assert any("_" in qr.process_data.split("^")[2] for _, qr in data)  # a split payment
    report = verify_tar(str(out / "export.tar"))
    assert report.ok, report.problems
    finishes = [m for _, m in report.logs if m.text(0) == "FinishTransaction"]
    updates = [m for _, m in report.logs if m.text(0) == "UpdateTransaction"]
    assert len(finishes) == 15 and len(updates) == 3
    assert {m.fields[2].decode() for m in finishes} == {qr.process_data for _, qr in data}


def test_same_workload_on_both_runtimes(tmp_path):
    for runtime in ("cpython", "micropython"):
        assert (
            tse("exercise", "--count", "6", "--out", str(tmp_path / runtime), "--runtime", runtime).returncode
            == 0
        )
    cpy = [q.split(";")[3] for q in (tmp_path / "cpython" / "qr.txt").read_text().splitlines()]
    upy_ = [q.split(";")[3] for q in (tmp_path / "micropython" / "qr.txt").read_text().splitlines()]
    assert cpy == upy_


def test_card_serve_info_and_export(tmp_path):
    state = tmp_path / "card"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tools.tse",
            "card",
            "serve",
            "--state",
            str(state),
            "--port",
            "0",
            "--control-port",
            "0",
        ],
        cwd=upy.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "card serve printed nothing"
        line = proc.stdout.readline()
        assert line.startswith("tse: nbd://127.0.0.1:") and line.rstrip().endswith("/tse")
        assert proc.stdout.readline().startswith("tse-control: 127.0.0.1:")
        address = line.split(" ", 1)[1].strip()
        io = subprocess.run(
            ["qemu-io", "-f", "raw", "-c", "read 0 512", address],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert io.returncode == 0 and "read 512/512 bytes" in io.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "tse: stopped" in out
    info = tse("card", "info", "--state", str(state))
    assert info.returncode == 0
    summary = json.loads(info.stdout)
    assert summary["initialization_state"] == "uninitialized" and summary["signature_counter"] >= 1
    exported = tse("card", "export", "--state", str(state), "--out", str(tmp_path / "x.tar"))
    assert exported.returncode == 0
    assert verify_tar(str(tmp_path / "x.tar")).ok


def test_reading_a_folder_without_a_card_is_a_clear_error(tmp_path):
    proc = tse("card", "info", "--state", str(tmp_path / "empty"))
    assert proc.returncode != 0 and "no card in" in proc.stderr
