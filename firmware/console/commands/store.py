"""The store server on the console: ``store status|enrol|sync|backup|restore`` (device code)."""

import json

from core.errors import ConfigError
from core.storage import write_atomic
from firmware import backup as backups
from firmware import config as configuration
from firmware.console.commands.base import UsageError, _need
from firmware.console.commands.terminal import cmd_restore


def _link(con):
    link = con.svc.terminal.store
    if link is None:
        raise ValueError("this firmware has no store link")
    return link


def _ready(con):
    link = _link(con)
    if not link.configured():
        raise ValueError("not enrolled at a store server: store enrol <host:port> <code>")
    return link


async def cmd_store_status(con, args):
    _need(args, 0)
    link = _link(con)
    data = {
        "server": "%s:%d" % (link.host, link.port) if link.configured() else "",
        "reachable": link.reachable,
        "server_head": link.acked,
        "journal_head": link.journal.seq,
        "waiting": link.journal.seq - (link.acked or 0) if link.acked is not None else None,
        "master_version": link.master_version,
        "fork": link.fork,
        "error": link.last_error,
    }
    if not data["server"]:
        return "not enrolled at a store server (store enrol <host:port> <code>)", data
    text = "store server %s: %s; journal %d, server has %s; master data version %s" % (
        data["server"],
        "reachable"
        if link.reachable
        else ("not reachable (%s)" % link.last_error if link.reachable is False else "?"),
        data["journal_head"],
        "?" if link.acked is None else str(link.acked),
        link.master_version,
    )
    if link.fork:
        text += "; REFUSED: " + link.fork
    return text, data


def _reach(link):
    if link.reachable:
        return "reachable"
    return "not reachable (%s)" % link.last_error if link.reachable is False else "not tried yet"


def _address(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError("the server is <host>:<port>")
    return host, int(port)


async def cmd_store_enrol(con, args):
    _need(args, 2)
    from firmware.storelink import enrol

    host, port = _address(args[0])
    svc = con.svc
    link = _link(con)
    token = await enrol(host, port, link.serial, args[1].strip().upper(), tls=link.tls)
    changes = {"store.host": host, "store.port": port, "store.token": token}
    new = configuration.with_settings(svc.config, changes)  # ConfigError: nothing saved
    settings = configuration.load_settings(svc.config["data_dir"])
    settings.update(changes)
    write_atomic(configuration.settings_path(svc.config["data_dir"]), json.dumps(settings))
    svc.config = new
    link.host, link.port, link.token = host, port, token
    link.acked, link.fork = None, None
    link.wake()
    return "enrolled at %s:%d as %s; the journal goes there now" % (host, port, link.serial), {
        "server": "%s:%d" % (host, port)
    }


async def cmd_store_sync(con, args):
    _need(args, 0)
    link = _ready(con)
    sent = await link.sync()
    return "%d records sent; the server has the journal up to record %d" % (sent, link.acked), {
        "sent": sent,
        "head": link.acked,
    }


async def cmd_store_backup(con, args):
    _need(args, 0)
    link = _ready(con)
    await link.backup()
    return "backup kept on the store server", {}


async def cmd_store_restore(con, args):
    """A replacement terminal: the old register's backup (settings, master data, console
    users) from the server, put back under this terminal's own serial: the replacement is a
    register of its own (its own TSE client id and journal); the old one is decommissioned
    (docs/technician.md). The rules of ``restore`` apply (master data only between closings)."""
    _need(args, 1)
    link = _ready(con)
    data = await link.fetch_backup(args[0])
    if (
        not isinstance(data, dict)
        or data.get("format") != backups.FORMAT
        or not isinstance(data.get("master"), dict)
    ):
        raise ConfigError("store backup", "the server's backup of %s is not a smartECR backup" % args[0])
    data["master"]["register"] = con.svc.till.master.register  # this terminal's own serial
    name = backups.keep(con.svc.config["data_dir"], data, con.svc.clock.now())
    return await cmd_restore(con, [name])
