"""`python -m firmware` / `micropython -m firmware`: start, stop on Ctrl-C, reject bad config."""

import selectors
import signal
import subprocess
import sys

import pytest

from tools import upy

RUNTIMES = {
    "cpython": [sys.executable, "-m", "firmware"],
    "micropython": upy.command(["-m", "firmware"]),
}


def _spawn(runtime, *args):
    return subprocess.Popen(
        RUNTIMES[runtime] + list(args),
        cwd=upy.ROOT,
        env=upy.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _readline(proc, timeout=20):
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            proc.kill()
            proc.communicate()
            raise AssertionError("no output within %d s" % timeout)
    return proc.stdout.readline()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_starts_on_the_sim_platform_and_stops_on_ctrl_c(runtime):
    proc = _spawn(runtime)
    first = _readline(proc)
    assert first.split(" ", 1)[1] == "I ecr: smartECR 0.1.0 on %s, platform sim\n" % runtime
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    # with nothing attached (no TSE, printer... on the default ports) it still boots and stops
    assert out.splitlines()[-1].split(" ", 1)[1] == "I ecr: stopped by Ctrl-C"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_bad_configuration_is_one_line_and_status_2(runtime, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text('{"log": {"level": "loud"}}')
    proc = _spawn(runtime, "--config", str(cfg))
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert out == ""
    assert err == 'smartECR: %s: log.level: must be one of debug, info, warning, error, got "loud"\n' % cfg


def _master(**change):
    """The demo master data with ``change`` applied: ``{"register.serial": "x"}``."""
    import json

    with open(upy.ROOT / "data" / "demo-master.json") as f:
        data = json.load(f)
    for path, value in change.items():
        node = data
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize(
    "text, says",
    [
        ("{not json", "is not JSON"),
        (_master(**{"articles.0": "1001"}), "articles[0]: must be an object"),
        (_master(**{"register.serial": "KASSE 1"}), "register.serial: ' ' may not be in it"),
        (_master(**{"register.serial": "KASSE;1"}), "register.serial: ';' may not be in it"),
        (_master(**{"register.serial": "KASSE-Ü"}), "may not be in it"),
        (_master(**{"business.stnr": 1234567}), "business.stnr: must be text"),
        (_master(**{"articles.0.name": "x" * 5000}), "articles[0].name: at most 255 characters"),
        (_master(**{"register.currency": "XXXXXXXX"}), "register.currency: the base currency is EUR"),
        (_master(**{"articles.0.price": 10**22}), "articles[0].price: must be whole cents from 0"),
        (_master(**{"articles.1.gtin": "4006381333931"}), "articles[1].gtin: GTIN 4006381333931 is already"),
        (_master(**{"operators.1.id": "1"}), "operators[1].id: operator 1 appears twice"),
    ],
)
def test_bad_master_data_is_one_line_naming_the_entry_and_status_2(runtime, text, says, tmp_path):
    import json

    master = tmp_path / "master.json"
    master.write_text(text)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"master": str(master), "data_dir": str(tmp_path / "data")}))
    proc = _spawn(runtime, "--config", str(cfg))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("smartECR: %s: " % master) and says in err, err
    assert "Traceback" not in out + err


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_settings_that_are_no_object_are_reported_and_left_out(runtime, tmp_path):
    import json

    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text("[1]")
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"data_dir": str(data)}))
    proc = _spawn(runtime, "--config", str(cfg))
    try:
        assert "smartECR" in _readline(proc)  # it boots, with the file's configuration
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert "settings changed on the terminal ignored" in err and "must be an object" in err, err
    assert "Traceback" not in out + err
