"""The terminal itself on the console: ``reboot``, ``factory-reset``, ``backup`` and ``restore``
(with the serial change procedure) (device code)."""

import json
import os

from core.calendar import iso8601
from core.errors import ConfigError
from core.storage import exists, write_atomic
from firmware import config as configuration
from firmware.console.commands.base import UsageError, _folder, _need, _no_sale
from firmware.console.commands.tse import _admin
from firmware.register.master import MasterData

BACKUP_FORMAT = "smartecr-backup-1"


async def cmd_reboot(con, args):
    _need(args, 0)
    _no_sale(con)
    con.end_session("reboot")
    con.fw.reboot()
    return "rebooting"


def _serial(con):
    return con.fw.till.master.register["serial"]


async def cmd_factory_reset(con, args):
    _need(args, 0, 1)
    serial = _serial(con)
    if not args or args[0] != serial:
        raise UsageError(
            "this resets settings and console users to the factory state (the journal and "
            "exports stay: they are tax records); confirm with the register serial: factory-reset %s" % serial
        )
    _no_sale(con)
    settings = configuration.settings_path(con.fw.config["data_dir"])
    if exists(settings):
        os.remove(settings)
    con.users.forget()
    con.end_session("factory reset")
    con.fw.reboot()
    return "factory state restored; rebooting"


async def cmd_backup(con, args):
    _need(args, 0)
    fw = con.fw
    with open(fw.till.master.source) as f:
        master = json.load(f)
    settings = {}
    for key, value in configuration.load_settings(fw.config["data_dir"]).items():
        if not configuration.field_at(key).secret:  # TSE PINs never leave the terminal
            settings[key] = value
    now = fw.clock.now()
    name = "backup-%s.json" % iso8601(now)[:19].replace("-", "").replace(":", "")
    path = _folder(con, "backup") + "/" + name
    write_atomic(
        path,
        json.dumps({"format": BACKUP_FORMAT, "made": iso8601(now), "settings": settings, "master": master}),
    )
    return "%s: %d settings, master data with %d articles" % (
        path,
        len(settings),
        len(master.get("articles", ())),
    ), {"file": path}


def _backup(con, name):
    """The backup ``name`` read and checked whole: ``(data, MasterData)``; nothing changes on error."""
    if "/" in name:
        raise UsageError("name a file in %s/backup" % con.fw.config["data_dir"])
    try:
        with open(con.fw.config["data_dir"] + "/backup/" + name) as f:
            text = f.read()
    except OSError:
        raise ValueError("no backup %s" % name)
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("format") != BACKUP_FORMAT:
        raise ValueError("%s is not a smartECR backup" % name)
    try:
        master = MasterData.from_dict(data.get("master"))
    except ConfigError as e:
        raise ConfigError("%s: master%s" % (name, ("." + e.path) if e.path else ""), e.detail)
    if not isinstance(data.get("settings"), dict):
        raise ValueError("%s has no settings" % name)
    try:
        configuration.with_settings(con.fw.config, data["settings"])
    except ConfigError as e:
        raise ConfigError("%s: settings.%s" % (name, e.path), e.detail)
    return data, master


async def cmd_restore(con, args):
    _need(args, 1, 2)
    fw = con.fw
    name = args[0]
    data, master = _backup(con, name)
    _no_sale(con)
    with open(fw.till.master.source) as f:
        changed = json.load(f) != data["master"]
    if changed and fw.till.period_has_vorgaenge():
        raise ValueError(
            "the backup's master data differ from the terminal's and this period has receipts:"
            " close it first (Z closing); master data change only between closings (DSFinV-K Tz. 3.3)"
        )
    old, new = _serial(con), master.register["serial"]
    if new != old:
        await _change_serial(con, name, old, new, args[1:])
    settings = data["settings"]
    keep = configuration.load_settings(fw.config["data_dir"])
    for key, value in keep.items():  # secrets are not in a backup: keep the terminal's
        if configuration.field_at(key).secret:
            settings[key] = value
    write_atomic(configuration.restored_master_path(fw.config["data_dir"]), json.dumps(data["master"]))
    write_atomic(configuration.settings_path(fw.config["data_dir"]), json.dumps(settings))
    text = "restored %s (%d articles, %d settings)" % (name, len(master.articles), len(settings))
    if new != old:
        fw.journal.append("serial_change", {"old": old, "new": new, "backup": name})
        con.end_session("serial change")
        fw.reboot()
        return text + "; register serial %s (was %s, deregistered from the TSE); rebooting" % (new, old)
    return text + "; reboot to use it"


async def _change_serial(con, name, old, new, confirm):
    """The documented procedure (docs/technician.md): the period closed, the new serial
    registered on the TSE, the change confirmed; then the old client id is deregistered, so
    that the TSE never has this register under two serials."""
    if confirm != [new]:
        raise UsageError(
            "%s changes the register serial from %s to %s: close the period, register %s on the"
            " TSE (tse register-client %s), then confirm: restore %s %s"
            % (name, old, new, new, new, name, new)
        )
    client = con.fw.client
    if client is None:
        return
    clients = await client.list_clients()
    if new not in clients:
        raise ValueError("register %s on the TSE first: tse register-client %s" % (new, new))
    if old in clients:
        await _admin(con, lambda: client.deregister_client(old))
