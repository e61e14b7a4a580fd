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
