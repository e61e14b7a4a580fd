"""The terminal itself on the console: ``reboot``, ``factory-reset``, ``backup`` and ``restore``
(with the serial change procedure) (device code)."""

import json

from firmware import backup
from firmware.console.commands.base import UsageError, _need, _no_sale
from firmware.console.commands.tse import _admin


async def cmd_reboot(con, args):
    _need(args, 0)
    _no_sale(con)
    con.end_session("reboot")
    con.svc.reboot()
    return "rebooting"


def _serial(con):
    return con.svc.till.master.register["serial"]


async def cmd_factory_reset(con, args):
    _need(args, 0, 1)
    serial = _serial(con)
    if not args or args[0] != serial:
        raise UsageError(
            "this resets settings and console users to the factory state (the journal and "
            "exports stay: they are tax records); confirm with the register serial: factory-reset %s" % serial
        )
    _no_sale(con)
    backup.reset(con.svc.config["data_dir"])
    con.users.forget()
    con.end_session("factory reset")
    con.svc.reboot()
    return "factory state restored; rebooting"


async def cmd_backup(con, args):
    _need(args, 0)
    svc = con.svc
    path, master, settings = backup.make(svc.config["data_dir"], svc.till.master.source, svc.clock.now())
    return "%s: %d settings, master data with %d articles" % (
        path,
        len(settings),
        len(master.get("articles", ())),
    ), {"file": path}


async def cmd_restore(con, args):
    _need(args, 1, 2)
    svc = con.svc
    name = args[0]
    try:
        data, master = backup.read(svc.config["data_dir"], name, svc.config)
    except ValueError as e:
        if "/" in name:
            raise UsageError(str(e))
        raise
    _no_sale(con)
    with open(svc.till.master.source) as f:
        changed = json.load(f) != data["master"]
    if changed and svc.till.period_has_vorgaenge():
        raise ValueError(
            "the backup's master data differ from the terminal's and this period has receipts:"
            " close it first (Z closing); master data change only between closings (DSFinV-K Tz. 3.3)"
        )
    old, new = _serial(con), master.register["serial"]
    if new != old:
        await _change_serial(con, name, old, new, args[1:])
    settings = backup.install(svc.config["data_dir"], data)
    text = "restored %s (%d articles, %d settings)" % (name, len(master.articles), len(settings))
    if new != old:
        svc.journal.append("serial_change", {"old": old, "new": new, "backup": name})
        con.end_session("serial change")
        svc.reboot()
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
    client = con.svc.tse_client
    if client is None:
        return
    clients = await client.list_clients()
    if new not in clients:
        raise ValueError("register %s on the TSE first: tse register-client %s" % (new, new))
    if old in clients:
        await _admin(con, lambda: client.deregister_client(old))
