"""Configuration on the console: config show, get, set (device code)."""

import json

from core.errors import ConfigError
from core.storage import write_atomic
from firmware import config as configuration
from firmware.console.commands.base import _need


async def cmd_config_show(con, args):
    _need(args, 0)
    shown = configuration.masked(con.svc.config)
    changed = configuration.load_settings(con.svc.config["data_dir"])
    return json.dumps(shown), {"config": shown, "changed_here": sorted(changed)}


async def cmd_config_get(con, args):
    _need(args, 1)
    field = configuration.field_at(args[0])
    value = configuration.value_at(con.svc.config, args[0])
    shown = "***" if field.secret else value
    return "%s = %s" % (args[0], json.dumps(shown)), {"key": args[0], "value": shown}


LIVE = ("log.level", "drawer_warn_s", "console.timeout_s")


async def cmd_config_set(con, args):
    _need(args, 2)
    svc = con.svc
    key = args[0]
    field = configuration.field_at(key)
    value = parse_value(field, args[1], key)
    settings = configuration.load_settings(svc.config["data_dir"])
    settings[key] = value
    new = configuration.with_settings(svc.config, {key: value})  # ConfigError: nothing saved
    write_atomic(configuration.settings_path(svc.config["data_dir"]), json.dumps(settings))
    svc.config = new
    if key == "log.level":
        from firmware.log import LEVELS

        svc.log.level = LEVELS[value]
    if key == "drawer_warn_s":
        svc.terminal.warn_drawer_after(value)
    shown = "***" if field.secret else value
    when = "now" if key in LIVE else "after reboot"
    return "%s = %s (saved; takes effect %s)" % (key, json.dumps(shown), when), {
        "key": key,
        "value": shown,
        "when": when,
    }


def parse_value(field, text, key):
    try:
        return configuration.parse_value(field, text)
    except ValueError as e:
        raise ConfigError(key, str(e))
