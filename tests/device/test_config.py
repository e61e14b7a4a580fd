from support import TempDir, raises

from core.errors import ConfigError, EcrError
from core.schema import Field, validate
from firmware import config
from firmware.config import DEFAULTS, load, loads, masked

SCHEMA = {
    "name": Field("str", "till", min=1, max=10),
    "port": Field("int", 9100, min=1, max=65535),
    "enabled": Field("bool", False),
    "serial": Field("str"),
    "tse": Field(
        "dict",
        schema={
            "admin_pin": Field("str", "", secret=True),
            "clients": Field("list", [], item=Field("str", min=1), max=3),
        },
    ),
}


def _error(fn, *args):
    e = raises(ConfigError, fn, *args)
    assert isinstance(e, EcrError) and e.code == "config"
    return e


def test_defaults_are_valid_and_complete():
    assert DEFAULTS == {
        "platform": "sim",
        "board": "boards/sim.json",
        "devices": {},
        "data_dir": "out/ecr",
        "master": "data/demo-master.json",
        "emv_terminal": "data/emv/terminal.json",
        "emv_ca_keys": "",
        "acquirer": {
            "host": "",
            "port": 0,
            "terminal_id": "SECR0001",
            "merchant_id": "SMARTECR-SIM-01",
            "timeout_ms": 15000,
        },
        "operator_port": 0,
        "operator_host": "127.0.0.1",
        "drawer_warn_s": 30,
        "tse": {
            "backend": "card",
            "setup": True,
            "puk": "123456",
            "admin_pin": "12345",
            "time_admin_pin": "54321",
            "cloud": {
                "host": "",
                "port": 443,
                "ca": "",
                "api_key": "",
                "api_secret": "",
                "tss_id": "",
                "admin_pin": "123456",
                "timeout_ms": 5000,
                "retries": 2,
                "wait_ms": 800,
            },
        },
        "zvt": {"card": "integrated", "port": 0, "host": "0.0.0.0", "password": "000000", "tid": "52000001"},
        "wallet": {"host": "", "port": 0, "account": "de.smartecr.pay", "iban": "", "bic": "", "wait_s": 120},
        "digital": {"host": "", "port": 0, "token": "", "base_url": ""},
        "store": {"host": "", "port": 0, "token": "", "ca": ""},
        "elster": {
            "acquired": "2026-01-15",
            "in_service": "",
            "decommissioned": "",
            "reason": "",
            "bsi_id": "BSI-K-TR-0000-0000",
            "tse_kind": 1,
        },
        "log": {"level": "info", "ring": 200},
        "console": {
            "timeout_s": 600,
            "force_pin_change": True,
            "users": [{"name": "technician", "role": "technician", "pin": config.FACTORY_PIN}],
        },
    }
    assert validate({}, config.SCHEMA) == DEFAULTS
    shown = config.masked(DEFAULTS)
    assert {k: shown["tse"][k] for k in ("setup", "puk", "admin_pin", "time_admin_pin")} == {
        "setup": True,
        "puk": "***",
        "admin_pin": "***",
        "time_admin_pin": "***",
    }
    assert shown["tse"]["cloud"]["api_secret"] == shown["tse"]["cloud"]["admin_pin"] == "***"
    assert shown["tse"]["cloud"]["api_key"] == ""  # an account name, not a secret
    assert shown["console"]["users"] == [{"name": "technician", "role": "technician", "pin": "***"}]
    assert shown["zvt"]["password"] == "***"
    _error(validate, {"zvt": {"password": "12345a"}}, config.SCHEMA)  # six digits, not letters
    assert shown["devices"] == {}
    # the free-form devices section takes any object, and only an object
    assert validate({"devices": {"printer": None}}, config.SCHEMA)["devices"] == {"printer": None}
    _error(validate, {"devices": []}, config.SCHEMA)


def test_values_override_defaults_and_nested_defaults_fill_in():
    cfg = validate({"serial": "K1", "port": 80, "tse": {"clients": ["A", "B"]}}, SCHEMA)
    assert cfg == {
        "name": "till",
        "port": 80,
        "enabled": False,
        "serial": "K1",
        "tse": {"admin_pin": "", "clients": ["A", "B"]},
    }


def test_validate_does_not_change_its_input():
    data = {"serial": "K1", "tse": {}}
    validate(data, SCHEMA)
    assert data == {"serial": "K1", "tse": {}}


def test_required_key_missing():
    e = _error(validate, {}, SCHEMA)
    assert e.path == "serial" and str(e) == "serial: is required"


def test_unknown_key_is_an_error_naming_the_known_ones():
    e = _error(validate, {"serial": "K1", "prot": 1}, SCHEMA)
    assert e.path == "prot"
    assert "unknown key" in str(e) and "port" in str(e)


def test_wrong_types():
    assert str(_error(validate, {"serial": 5}, SCHEMA)) == "serial: must be a string, got 5"
    assert (
        str(_error(validate, {"serial": "K", "port": "80"}, SCHEMA)) == 'port: must be an integer, got "80"'
    )
    # JSON true is not the integer 1
    assert _error(validate, {"serial": "K", "port": True}, SCHEMA).path == "port"
    assert _error(validate, {"serial": "K", "enabled": 1}, SCHEMA).path == "enabled"
    assert _error(validate, {"serial": "K", "tse": []}, SCHEMA).path == "tse"
    assert _error(validate, [], SCHEMA).path == ""


def test_ranges_and_lengths():
    assert str(_error(validate, {"serial": "K", "port": 0}, SCHEMA)) == "port: must be at least 1, got 0"
    assert (
        str(_error(validate, {"serial": "K", "port": 70000}, SCHEMA))
        == "port: must be at most 65535, got 70000"
    )
    assert _error(validate, {"serial": "K", "name": ""}, SCHEMA).path == "name"
    e = _error(validate, {"serial": "K", "name": "x" * 11}, SCHEMA)
    assert str(e) == "name: must be at most 10 characters, got 11"


def test_nested_paths_name_the_exact_key():
    e = _error(validate, {"serial": "K", "tse": {"clients": ["A", ""]}}, SCHEMA)
    assert e.path == "tse.clients[1]"
    e = _error(validate, {"serial": "K", "tse": {"clients": ["A", "B", "C", "D"]}}, SCHEMA)
    assert e.path == "tse.clients" and "at most 3 entries" in str(e)


def test_choices():
    e = _error(loads, '{"platform": "windows"}')
    assert str(e) == 'platform: must be one of sim, linux, mpy, got "windows"'
    assert _error(loads, '{"log": {"level": "verbose"}}').path == "log.level"


def test_bad_json_is_one_clear_error():
    e = _error(loads, '{"platform": ')
    assert e.path == "" and "not valid JSON" in str(e)


def test_load_names_the_file():
    d = TempDir()
    try:
        good = d.write("good.json", '{"log": {"level": "debug"}}')
        assert load(good)["log"] == {"level": "debug", "ring": 200}
        bad = d.write("bad.json", '{"log": {"ring": 3}}')
        e = _error(load, bad)
        assert e.path == bad + ": log.ring"
        assert str(e) == bad + ": log.ring: must be at least 16, got 3"
        broken = d.write("broken.json", "{")
        assert str(_error(load, broken)).startswith(broken + ": not valid JSON")
        e = _error(load, d.path + "/missing.json")
        assert "cannot read " + d.path + "/missing.json" in str(e)
    finally:
        d.cleanup()


def test_masked_hides_secrets_only():
    cfg = validate({"serial": "K1", "tse": {"admin_pin": "12345"}}, SCHEMA)
    shown = masked(cfg, SCHEMA)
    assert shown["tse"]["admin_pin"] == "***"
    assert shown["serial"] == "K1"
    assert cfg["tse"]["admin_pin"] == "12345"  # the original is untouched


def test_field_rejects_unknown_kind():
    raises(ValueError, Field, "float")


def test_settings_and_dates_that_are_not_what_they_say():
    d = TempDir()
    try:
        d.write("settings.json", "[1]")
        e = _error(config.load_settings, d.path)
        assert "settings.json" in str(e) and "must be an object" in str(e)
        d.write("settings.json", "{not json")
        assert "is not JSON" in str(_error(config.load_settings, d.path))
        d.write("settings.json", '{"log.level": "debug"}')
        assert config.load_settings(d.path) == {"log.level": "debug"}
    finally:
        d.cleanup()
    e = _error(config.with_settings, DEFAULTS, {"elster.acquired": "2026-99-99"})
    assert e.path == "elster.acquired" and "no day" in str(e)
    assert config.with_settings(DEFAULTS, {"elster.in_service": ""})["elster"]["in_service"] == ""
    _error(config.with_settings, DEFAULTS, [1])
    _error(config.with_settings, DEFAULTS, {1: 2})
