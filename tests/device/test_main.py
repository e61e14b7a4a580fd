import asyncio
import json

from support import ROOT, RUNTIME, TempDir, raises, run

from core.errors import ConfigError, DeviceError
from firmware import VERSION
from firmware.config import loads
from firmware.main import Firmware, parse_args, start
from hal import platform


class _Sink:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s


def test_parse_args():
    assert parse_args([]) == {"config": None}
    assert parse_args(["--config", "a.json"]) == {"config": "a.json"}
    assert "usage" in str(raises(ValueError, parse_args, ["--config"]))
    assert "unknown argument '-x'" in str(raises(ValueError, parse_args, ["-x"]))
    raises(ValueError, parse_args, ["--help"])


def _bare_config(tmp):
    """The simulator board with every device taken off: the firmware boots with none."""
    with open(ROOT + "/boards/sim.json") as f:
        devices = list(json.loads(f.read())["devices"])
    return loads(
        json.dumps(
            {
                "board": ROOT + "/boards/sim.json",
                "master": ROOT + "/data/demo-master.json",
                "data_dir": tmp.path + "/data",
                "devices": {name: None for name in devices},
            }
        )
    )


def test_firmware_runs_on_the_configured_platform_until_stopped():
    tmp = TempDir()
    try:
        fw = Firmware(_bare_config(tmp))
        assert fw.platform.name == "sim"

        async def scenario():
            task = asyncio.create_task(fw.run())
            for _ in range(20):
                await asyncio.sleep(0)
            assert not fw._stop.is_set()
            assert fw.terminal.state()["bon"] is None
            fw.stop()
            await task

        run(scenario())
    finally:
        tmp.cleanup()
    lines = fw.log.tail()
    first, last = lines[0], lines[-1]
    assert "I ecr: ready: board sim, devices " in [line.split(" ", 1)[1] for line in lines]
    stamp, text = first.split(" ", 1)
    assert int(stamp) == fw.platform.clock.now() or int(stamp) + 1 == fw.platform.clock.now()
    assert text == "I ecr: smartECR %s on %s, platform sim" % (VERSION, RUNTIME)
    assert last.split(" ", 1)[1] == "I ecr: stopped"


def test_platform_is_chosen_by_configuration_for_this_runtime():
    linux = loads('{"platform": "linux"}')
    board = loads('{"platform": "mpy"}')
    assert platform.load(linux).name == "linux"  # an embedded-Linux terminal runs either runtime
    if RUNTIME == "micropython":
        assert platform.load(board).name == "mpy"
    else:
        assert "needs MicroPython" in str(raises(DeviceError, platform.load, board))


def test_unknown_platform_is_a_config_error():
    e = raises(ConfigError, platform.load, {"platform": "windows"})
    assert e.path == "platform"


def test_log_level_comes_from_configuration():
    fw = Firmware(loads('{"log": {"level": "error", "ring": 16}}'))
    fw.log.info("hidden")
    fw.log.error("shown")
    assert [line.split(" ", 1)[1] for line in fw.log.tail()] == ["E ecr: shown"]


def test_start_reports_bad_configuration_with_status_2():
    d = TempDir()
    try:
        path = d.write("cfg.json", '{"platform": "dos"}')
        out, err = _Sink(), _Sink()
        assert start(["--config", path], stream=out, err=err) == 2
        assert err.text == 'smartECR: %s: platform: must be one of sim, linux, mpy, got "dos"\n' % path
        assert out.text == ""
        # a board problem found at boot is one line too, not a traceback
        path = d.write("cfg2.json", '{"board": "%s/boards/sim.json", "devices": {"fax": {}}}' % ROOT)
        err = _Sink()
        assert start(["--config", path], stream=_Sink(), err=err) == 2
        assert err.text.startswith("smartECR: devices.fax: no such device on board")
        err = _Sink()
        assert start(["--bogus"], stream=out, err=err) == 2
        assert err.text.startswith("smartECR: unknown argument '--bogus'")
    finally:
        d.cleanup()
