"""Backups (firmware/backup.py), on both runtimes: made without secrets, read back checked
whole, put in place keeping the terminal's secrets, refused with the entry named."""

import json

from support import ROOT, TempDir, raises

from core.errors import ConfigError
from firmware import backup
from firmware import config as configuration
from firmware.config import DEFAULTS


def test_a_backup_round_trip_keeps_secrets_on_the_terminal():
    d = TempDir()
    try:
        config = dict(DEFAULTS, data_dir=d.path)
        d.write("settings.json", json.dumps({"log.level": "debug", "tse.admin_pin": "54321"}))
        path, master, settings = backup.make(d.path, ROOT + "/data/demo-master.json", 1796153526)
        assert path.endswith("/backup/backup-20261201T193206.json") and settings == {"log.level": "debug"}
        with open(path) as f:
            assert "54321" not in f.read()  # no TSE PIN leaves the terminal
        data, checked = backup.read(d.path, path.rsplit("/", 1)[1], config)
        assert checked.register["serial"] == master["register"]["serial"]
        d.write("settings.json", json.dumps({"tse.admin_pin": "11111"}))
        assert backup.install(d.path, data) == {"log.level": "debug", "tse.admin_pin": "11111"}
        assert configuration.load_settings(d.path)["tse.admin_pin"] == "11111"
        with open(configuration.restored_master_path(d.path)) as f:
            assert json.load(f) == master
        backup.reset(d.path)
        assert configuration.load_settings(d.path) == {}
    finally:
        d.cleanup()


def test_a_bad_backup_is_named_and_nothing_is_written():
    d = TempDir()
    try:
        config = dict(DEFAULTS, data_dir=d.path)
        path, master, _ = backup.make(d.path, ROOT + "/data/demo-master.json", 1796153526)
        for name, text in (("a.json", "{not json"), ("b.json", "[1]"), ("c.json", '{"format": "x"}')):
            d.write("backup/" + name, text)
            assert "not a smartECR backup" in str(raises(ValueError, backup.read, d.path, name, config))
        bad = {"format": backup.FORMAT, "settings": {}, "master": dict(master, register={"serial": "A;B"})}
        d.write("backup/d.json", json.dumps(bad))
        e = raises(ConfigError, backup.read, d.path, "d.json", config)
        assert str(e).startswith("d.json: master.register.serial")
        bad = {"format": backup.FORMAT, "settings": {"log.level": "loud"}, "master": master}
        d.write("backup/e.json", json.dumps(bad))
        assert "e.json: settings.log.level" in str(raises(ConfigError, backup.read, d.path, "e.json", config))
        raises(ValueError, backup.read, d.path, "../x.json", config)
        raises(ValueError, backup.read, d.path, "none.json", config)
        assert configuration.load_settings(d.path) == {}
    finally:
        d.cleanup()
