"""TSE administration on the console: set-up, self-test, time, clients, exports, unblock,
decommission (device code); the same commands for a card and a cloud TSS (tse.backend)."""

from core.errors import DeviceError
from firmware.console.commands.base import UsageError, _folder, _hex, _need


def _tse(con):
    if con.svc.tse_client is None:
        raise DeviceError("this terminal has no TSE")
    return con.svc.tse_client


def _admin_pin(con):
    """The admin PIN of the TSE that signs: the card's (tse.admin_pin) or the cloud TSS's."""
    cfg = con.svc.config["tse"]
    return cfg["cloud"]["admin_pin"] if cfg["backend"] != "card" else cfg["admin_pin"]


async def _admin(con, work):
    """``await work()`` in an admin session on the card (or the cloud TSS)."""
    from tse_sd import protocol as p

    client = _tse(con)
    await client.login(p.USER_ADMIN, _admin_pin(con))
    try:
        return await work()
    finally:
        await client.logout(p.USER_ADMIN)


async def _tse_state(con):
    service = con.svc.tse
    await service.maintain()
    status = service.status()
    return "TSE %s" % status["state"], status


async def cmd_tse_setup(con, args):
    _need(args, 0)
    client, cfg, svc = _tse(con), con.svc.config["tse"], con.svc
    await con.progress("taking the TSE into service")
    await client.setup(cfg["puk"], _admin_pin(con), cfg["time_admin_pin"], svc.client_id, svc.clock.now())
    await svc.tse.maintain(force=True)
    await svc.till.identify_tse()
    return await _tse_state(con)


async def cmd_tse_selftest(con, args):
    _need(args, 0)
    await _tse(con).self_test(con.svc.client_id)
    return await _tse_state(con)


async def cmd_tse_timesync(con, args):
    _need(args, 0)
    _tse(con)
    await con.svc.tse.sync_time()
    return await _tse_state(con)


async def cmd_tse_clients(con, args):
    _need(args, 0)
    clients = await _tse(con).list_clients()
    return "\n".join(clients) or "(no clients)", {"clients": clients}


async def cmd_tse_register(con, args):
    _need(args, 1)
    cid = args[0]
    if not (1 <= len(cid) <= 30) or any(not (0x20 < ord(c) < 0x7F) for c in cid):
        raise UsageError("a client id is 1 to 30 printable ASCII characters")
    client = _tse(con)
    if cid in await client.list_clients():
        raise ValueError("client %s is registered already" % cid)
    await _admin(con, lambda: client.register_client(cid))
    return "client %s registered" % cid, {"client": cid}


def _exports(con):
    from firmware.exports.tse_export import TseExports

    return TseExports(_tse(con), con.svc.journal, _folder(con, "exports", "tse"), con.svc.clock)


async def _tar(con, full):
    await con.progress("exporting the TSE's %s" % ("whole store" if full else "new logs"))
    rec = await _exports(con).export(full=full)
    if not rec["logs"]:
        return "%s: no new logs since the last export (%d bytes, checked)" % (rec["file"], rec["size"]), rec
    return "%s: %d logs, signatures %s to %s, %d bytes, checked" % (
        rec["file"],
        rec["logs"],
        rec["first"],
        rec["last"],
        rec["size"],
    ), rec


async def cmd_tse_export(con, args):
    _need(args, 0)
    return await _tar(con, False)


async def cmd_tse_unblock(con, args):
    from tse_sd import protocol as p

    _need(args, 1)
    if args[0] not in ("admin", "time-admin"):
        raise UsageError("unblock admin or time-admin")
    cfg = con.svc.config["tse"]
    user, pin = (
        (p.USER_ADMIN, _admin_pin(con)) if args[0] == "admin" else (p.USER_TIME_ADMIN, cfg["time_admin_pin"])
    )
    await _tse(con).unblock(user, cfg["puk"], pin)
    where = "cloud." if cfg["backend"] != "card" else ""
    return "%s PIN unblocked (set to the configured tse.%s%s_pin)" % (
        args[0],
        where,
        args[0].replace("-", "_"),
    )


async def cmd_tse_decommission(con, args):
    _need(args, 1)
    client = _tse(con)
    serial = _hex(client.info().serial)
    if args[0].lower() != serial[-8:]:
        raise UsageError("confirm with the last 8 characters of the TSE serial (%s...)" % serial[:8])
    await con.progress("exporting what is new before the card goes out of service")
    rec = await _exports(con).export()
    await _admin(con, client.decommission)
    con.svc.journal.append("tse_decommission", {"serial": serial, "exported_to": rec["last"]})
    text, status = await _tse_state(con)
    return (
        text + "; exported up to signature %s. Report it to the tax office: set elster.decommissioned"
        " and elster.reason, then make the ELSTER notification" % rec["last"]
    ), status
