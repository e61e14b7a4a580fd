"""``python -m tseservice``: the shared TSE service run as its own process on a store machine,
its card an NBD export (the card emulator here). The service is started with ``serve`` (the
TSS set up through its own API), a register enrolled with ``enrol`` while it runs, the
register (MicroPython, the firmware's own boot path) signs through it, and ``export`` writes the
TSS's TAR export with the register's client id; bad arguments are a one-line error."""

import json
import subprocess
import sys

import pytest

from tools import upy
from tools.audit.tse import verify_tar
from tools.sim.certs import sim_tls
from tools.sim.tse.server import CardServer

SERIAL = "SMARTECR-CLI-0001"
ADMIN_PIN = "246813"
WORKLOAD = str(upy.ROOT / "tools" / "bench" / "tse_driver_workload.py")


def tseservice(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "tseservice"] + list(args),
        cwd=upy.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture
def service(tmp_path):
    card = CardServer(str(tmp_path / "card"), max_clients=5).start()
    ca, cert, key = sim_tls(str(tmp_path / "tls"))
    folder = str(tmp_path / "service")
    where = "127.0.0.1:%d/tse" % card.nbd.port
    proc = subprocess.Popen(
        [sys.executable, "-m", "tseservice", "serve", "--folder", folder, "--card", where]
        + ["--listen", "127.0.0.1:0", "--cert", cert, "--key", key, "--ca", ca, "--admin-pin", ADMIN_PIN],
        cwd=upy.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("tse service: https://127.0.0.1:"), first + proc.stderr.read()
        port = int(first.split(":")[3].split("/")[0])
        assert "TSS set up, its admin PUK kept in" in proc.stdout.readline()
        yield {"folder": folder, "card": where, "port": port, "ca": ca, "tmp": tmp_path, "nbd": card}
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
        card.close()


def test_a_register_enrolled_signs_through_the_service_and_the_export_has_it(service):
    settings = json.loads(tseservice("enrol", "--folder", service["folder"], SERIAL).stdout)
    assert settings["tse"]["backend"] == "shared" and settings["tse"]["cloud"]["api_secret"]
    cloud = settings["tse"]["cloud"]
    cloud.update(host="127.0.0.1", port=service["port"], ca=service["ca"], admin_pin=ADMIN_PIN)
    config = service["tmp"] / "register.json"
    config.write_text(json.dumps(settings))
    proc = subprocess.run(
        upy.command([WORKLOAD, "--config", str(config), SERIAL, "3"]),
        cwd=upy.ROOT,
        env=upy.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["n"] == 3
    assert SERIAL in service["nbd"].card.state["clients"]  # registered on the card itself
    out = str(service["tmp"] / "export.tar")
    url = "https://127.0.0.1:%d" % service["port"]
    where = ["--folder", service["folder"], "--card", service["card"]]
    tseservice("export", *where, "--url", url, "--ca", service["ca"], out)
    report = verify_tar(out)
    assert report.ok, report.problems
    finishes = [m for name, m in report.logs if m.text(0) == "FinishTransaction" and SERIAL in name]
    assert len(finishes) == 3


def test_bad_arguments_are_a_one_line_error(tmp_path):
    folder = ["--folder", str(tmp_path)]
    proc = tseservice("export", *folder, "--card", "nowhere", "--url", "x", "o.tar", check=False)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "--card must be HOST:PORT" in proc.stderr
    proc = tseservice("export", *folder, "--card", "127.0.0.1:1", "--url", "http://h:1", "o", check=False)
    assert proc.returncode == 2 and "--url must be https://HOST:PORT" in proc.stderr
