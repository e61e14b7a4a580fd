"""The service console's commands (device code): who may run them and what they do.

Each handler is ``async def handler(con, args)`` and returns the reply text, or ``(text,
data)`` where ``data`` is what ``mode json`` sends. It raises ``UsageError`` for wrong
arguments and any ``EcrError``/``ValueError`` for a refusal; either way nothing has changed.
``COMMANDS`` rows: ``(name, roles, handler, usage, help, flags)``; ``roles`` empty means
"also before login"; flags: ``journal`` (privileged: journaled before it runs), ``cancel``
(Ctrl-C may stop it).
"""

import asyncio
import binascii
import json
import os
import sys

from core.calendar import days_from_civil, iso8601, local_text, parse_date
from core.errors import ConfigError, DeviceError
from core.money import parse_cents
from core.storage import exists, makedirs, write_atomic
from firmware import VERSION
from firmware import config as configuration
from firmware.register.master import MasterData

ANY = ("technician", "manager", "read-only")
STAFF = ("technician", "manager")
TECH = ("technician",)
MANAGER = ("manager",)
BACKUP_FORMAT = "smartecr-backup-1"


class UsageError(ValueError):
    pass


def _need(args, lo, hi=None):
    if len(args) < lo or len(args) > (lo if hi is None else hi):
        raise UsageError("wrong number of arguments")


def _hex(data):
    return binascii.hexlify(data).decode()


def _no_sale(con):
    if con.fw.till.open_sale:
        raise ValueError("a sale is open: finish or abort it first")


def _folder(con, *parts):
    path = "/".join((con.fw.config["data_dir"],) + parts)
    makedirs(path)
    return path


# --- session -----------------------------------------------------------------------------


async def cmd_logout(con, args):
    _need(args, 0)
    name = con.user["name"]
    con.end_session("logout")
    return "%s logged out" % name


async def cmd_passwd(con, args):
    _need(args, 2)
    con.users.change_pin(con.user["name"], args[0], args[1])
    con.user["must_change"] = False
    return "PIN changed for %s" % con.user["name"]


async def cmd_help(con, args):
    role = con.user["role"] if con.user else None
    rows = []
    for name, roles, _h, usage, doc, _f in COMMANDS:
        if args and name.split()[0] != args[0]:
            continue
        if not roles or role in roles:
            rows.append((usage, doc))
    if not rows:
        raise UsageError("no command %r for you" % " ".join(args))
    width = max(len(u) for u, _ in rows)
    lines = [u + " " * (width - len(u) + 2) + d for u, d in rows]
    if not con.user:
        lines.append("(log in to see more: login <user> <PIN>)")
    return "\n".join(lines), {"commands": [u for u, _ in rows]}


# --- status ------------------------------------------------------------------------------


def _storage(path):
    try:
        st = os.statvfs(path)
    except (AttributeError, OSError):
        return None
    return {"total_bytes": st[1] * st[2], "free_bytes": st[1] * st[4]}


async def cmd_status(con, args):
    _need(args, 0)
    fw = con.fw
    clock = fw.clock
    now = clock.now()
    till = fw.till
    if fw.service is not None:
        fw.service.refresh()  # what the card can do right now, not at the last service round
    tse = fw.service.status() if fw.service is not None else {"state": "none", "can": "none fitted"}
    data = {
        "version": VERSION,
        "runtime": sys.implementation.name,
        "platform": fw.platform.name,
        "board": fw.board.name,
        "uptime_s": clock.ticks_diff(clock.ticks_ms(), fw.boot_ms) // 1000,
        "time": iso8601(now),
        "time_valid": now > 1735689600,  # after 2025-01-01: the clock has been set
        "storage": _storage(fw.config["data_dir"]),
        "journal": fw.journal.stats(),
        "tse": tse,
        "sale_open": till.open_sale,
        "last_receipt": till.last_bon_nr,
        "print_queue": [n for n, _ in fw.terminal.queue],
    }
    lines = [
        "smartECR %s on %s, platform %s, board %s"
        % (VERSION, data["runtime"], data["platform"], data["board"]),
        "up %d s; time %s (%s)"
        % (data["uptime_s"], local_text(now), "valid" if data["time_valid"] else "NOT SET"),
    ]
    st = data["storage"]
    if st:
        lines.append("storage: %d of %d KiB free" % (st["free_bytes"] // 1024, st["total_bytes"] // 1024))
    j = data["journal"]
    lines.append("journal: %d records, %d periods, %d bytes" % (j["records"], j["segments"], j["bytes"]))
    if till.waiting_master is not None:
        data["master_waiting"] = till.waiting_master.digest
        lines.append("master data: changed (%s), taken after the next closing" % till.waiting_master.source)
    report = till.reconciliation
    if report is not None:
        data["journal"]["reconciled"] = {"ok": report.ok, "problems": report.problems}
        lines.append("  at boot: %s" % report.summary())
    lines.append("TSE: %s" % tse["can"])
    if "serial" in tse:
        exp = tse["certificate_expiration"]
        lines.append(
            "  serial %s, time %s, self-test %s (next in %d s)"
            % (
                tse["serial"][:16] + "...",
                "valid" if tse["valid_time"] else "NOT SET",
                "passed" if tse["self_test_passed"] else "DUE",
                tse["next_self_test_s"],
            )
        )
        lines.append(
            "  signatures %d of %d; certificate until %s; open transactions %d; clients %d"
            % (
                tse["signatures_used"],
                tse["signatures_max"],
                local_text(exp)[:10] if exp else "?",
                tse["open_transactions"],
                tse["clients"],
            )
        )
    for w in tse.get("warnings", ()):
        lines.append("  warning: " + w)
    lines.append(
        "sale: %s; last receipt %s; print queue %s"
        % ("OPEN" if data["sale_open"] else "none", data["last_receipt"], data["print_queue"] or "empty")
    )
    return "\n".join(lines), data


def _parse_utc(text):
    """Unix seconds of ``YYYY-MM-DDThh:mm:ssZ``: a real day (2000 to 2099) and time, checked,
    never normalised (2026-02-31 is refused, not taken for 2026-03-03)."""
    if len(text) != 20 or text[10] != "T" or text[13] != ":" or text[16] != ":" or text[19] != "Z":
        raise UsageError("give the time as UTC, like 2026-11-22T09:30:00Z")
    try:
        y, mo, d = parse_date(text[:10])
    except ValueError as e:
        raise UsageError(str(e))
    parts = (text[11:13], text[14:16], text[17:19])
    if not all(p.isdigit() for p in parts):
        raise UsageError("give the time as UTC, like 2026-11-22T09:30:00Z")
    h, mi, s = int(parts[0]), int(parts[1]), int(parts[2])
    if not (h < 24 and mi < 60 and s < 60):
        raise UsageError("no such time %r" % text)
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s


async def cmd_date(con, args):
    _need(args, 0)
    now = con.fw.clock.now()
    data = {"utc": iso8601(now), "local": local_text(now), "settable": con.fw.clock.can_set}
    return "%s (UTC %s)" % (data["local"], data["utc"]), data


async def cmd_date_set(con, args):
    _need(args, 1)
    seconds = _parse_utc(args[0])
    clock = con.fw.clock
    if not clock.can_set:
        raise DeviceError("this terminal's clock follows the operating system (NTP): set it there")
    clock.set(seconds)
    if con.fw.service is not None:
        await con.fw.service.sync_time()
    return "clock set to %s" % local_text(seconds)


# --- the TSE -----------------------------------------------------------------------------


def _tse(con):
    if con.fw.client is None:
        raise DeviceError("this terminal has no TSE")
    return con.fw.client


async def _admin(con, work):
    """``await work()`` in an admin session on the card."""
    from tse_sd import protocol as p

    client = _tse(con)
    await client.login(p.USER_ADMIN, con.fw.config["tse"]["admin_pin"])
    try:
        return await work()
    finally:
        await client.logout(p.USER_ADMIN)


async def _tse_state(con):
    service = con.fw.service
    await service.maintain()
    status = service.status()
    return "TSE %s" % status["state"], status


async def cmd_tse_setup(con, args):
    _need(args, 0)
    client, cfg, fw = _tse(con), con.fw.config["tse"], con.fw
    await con.progress("taking the TSE into service")
    await client.setup(cfg["puk"], cfg["admin_pin"], cfg["time_admin_pin"], fw.client_id, fw.clock.now())
    await fw.service.maintain(force=True)
    await fw.till.identify_tse()
    return await _tse_state(con)


async def cmd_tse_selftest(con, args):
    _need(args, 0)
    await _tse(con).self_test(con.fw.client_id)
    return await _tse_state(con)


async def cmd_tse_timesync(con, args):
    _need(args, 0)
    _tse(con)
    await con.fw.service.sync_time()
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

    return TseExports(_tse(con), con.fw.journal, _folder(con, "exports", "tse"), con.fw.clock)


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
    cfg = con.fw.config["tse"]
    user, pin = (
        (p.USER_ADMIN, cfg["admin_pin"]) if args[0] == "admin" else (p.USER_TIME_ADMIN, cfg["time_admin_pin"])
    )
    await _tse(con).unblock(user, cfg["puk"], pin)
    return "%s PIN unblocked (set to the configured tse.%s_pin)" % (args[0], args[0].replace("-", "_"))


async def cmd_tse_decommission(con, args):
    _need(args, 1)
    client = _tse(con)
    serial = _hex(client.info().serial)
    if args[0].lower() != serial[-8:]:
        raise UsageError("confirm with the last 8 characters of the TSE serial (%s...)" % serial[:8])
    await con.progress("exporting what is new before the card goes out of service")
    rec = await _exports(con).export()
    await _admin(con, client.decommission)
    con.fw.journal.append("tse_decommission", {"serial": serial, "exported_to": rec["last"]})
    text, status = await _tse_state(con)
    return (
        text + "; exported up to signature %s. Report it to the tax office: set elster.decommissioned"
        " and elster.reason, then make the ELSTER notification" % rec["last"]
    ), status


# --- journal and exports -------------------------------------------------------------------


async def cmd_journal_stats(con, args):
    _need(args, 0)
    data = con.fw.journal.stats()
    counts = {}
    for rec in con.fw.journal.records(segment=con.fw.journal.segment):
        counts[rec["type"]] = counts.get(rec["type"], 0) + 1
    data["open_period_types"] = counts
    text = "%d records in %d periods (%d bytes); open period %d: %s" % (
        data["records"],
        data["segments"],
        data["bytes"],
        data["open_period"],
        ", ".join("%s %d" % (k, counts[k]) for k in sorted(counts)) or "empty",
    )
    return text, data


async def cmd_journal_verify(con, args):
    _need(args, 0)
    result = []
    for n in con.fw.journal.verify_steps(result):
        if n % 10000 == 0:
            await con.progress("%d records checked" % n, records=n)
        await asyncio.sleep(0)
    ok, problems = result
    if not ok:
        raise ValueError("journal damaged: " + "; ".join(problems[:5]))

    async def progress(segment, compared):
        await con.progress("period %d: %d receipts compared with the TSE" % (segment, compared))

    con.cancellable = False  # TSE commands are not stopped half-way
    report = await con.fw.till.check_journal(full=True, progress=progress)
    if report.problems:
        more = " (+%d more)" % (len(report.problems) - 5) if len(report.problems) > 5 else ""
        raise ValueError("journal does not agree with the TSE: " + "; ".join(report.problems[:5]) + more)
    text = "journal intact: %d records, hash chain and checksums good" % con.fw.journal.seq
    if report.serial is not None:
        text += "; %d signed receipts agree with TSE %s..." % (report.compared, report.serial[:16])
    text += "".join("\nnot checked: " + u for u in report.unchecked)
    return text, {"records": con.fw.journal.seq, "compared": report.compared, "unchecked": report.unchecked}


def _z_range(args):
    try:
        nums = [int(a) for a in args]
    except ValueError:
        raise UsageError("Z numbers are whole numbers")
    first = nums[0] if nums else None
    last = nums[1] if len(nums) > 1 else first
    return first, last


async def cmd_export_dsfinvk(con, args):
    from firmware.exports.dsfinvk import DsfinvkExport

    _need(args, 0, 2)
    fw = con.fw
    export = DsfinvkExport(fw.journal, fw.till.master)
    first, last = _z_range(args)
    closings = export.select(first, last)
    if not closings:
        raise ValueError("no closed period %s" % (("Z %s to %s" % (first, last)) if args else "yet"))
    z0, z1 = closings[0]["z_nr"], closings[-1]["z_nr"]
    folder = _folder(con, "exports")
    path = "%s/dsfinvk-z%04d-z%04d.zip" % (folder, z0, z1)
    work = folder + "/.dsfinvk"
    steps = export.zip_steps(path, closings, work, fw.clock.now())
    told = 0
    try:
        for z, count in steps:
            if z is not None and (count >= told + 1000 or count == 0):
                told = count
                await con.progress("Z %d: %d receipts" % (z, count), z=z, receipts=count)
            await asyncio.sleep(0)
    finally:
        steps.close()
    rows = export.rows
    data = {"file": path, "closings": [z0, z1], "rows": rows, "size": os.stat(path)[6]}
    fw.journal.append("export", {"kind": "dsfinvk", "file": path, "z_first": z0, "z_last": z1})
    return "%s: Z %d to %d, %d lines, %d bytes" % (path, z0, z1, rows["lines.csv"], data["size"]), data


async def cmd_export_tar(con, args):
    _need(args, 0)
    return await _tar(con, True)


# --- configuration -----------------------------------------------------------------------------


async def cmd_config_show(con, args):
    _need(args, 0)
    shown = configuration.masked(con.fw.config)
    changed = configuration.load_settings(con.fw.config["data_dir"])
    return json.dumps(shown), {"config": shown, "changed_here": sorted(changed)}


async def cmd_config_get(con, args):
    _need(args, 1)
    field = configuration.field_at(args[0])
    value = configuration.value_at(con.fw.config, args[0])
    shown = "***" if field.secret else value
    return "%s = %s" % (args[0], json.dumps(shown)), {"key": args[0], "value": shown}


LIVE = ("log.level", "drawer_warn_s", "console.timeout_s")


async def cmd_config_set(con, args):
    _need(args, 2)
    fw = con.fw
    key = args[0]
    field = configuration.field_at(key)
    value = parse_value(field, args[1], key)
    settings = configuration.load_settings(fw.config["data_dir"])
    settings[key] = value
    new = configuration.with_settings(fw.config, {key: value})  # ConfigError: nothing saved
    write_atomic(configuration.settings_path(fw.config["data_dir"]), json.dumps(settings))
    fw.config = new
    if key == "log.level":
        from firmware.log import LEVELS

        fw.log.level = LEVELS[value]
    if key == "drawer_warn_s":
        fw.terminal.watch.limit_s = value
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


# --- logs, reports, peripherals --------------------------------------------------------------


async def cmd_log_tail(con, args):
    _need(args, 0, 1)
    try:
        n = int(args[0]) if args else 20
    except ValueError:
        raise UsageError("the number of lines is a whole number")
    if not 1 <= n <= 1000:
        raise UsageError("1 to 1000 lines")
    lines = con.fw.log.tail(n)
    return "\n".join(lines), {"lines": lines}


async def cmd_report_x(con, args):
    from firmware.receipts import to_text
    from firmware.reports import report, totals

    _need(args, 0)
    fw = con.fw
    t = totals(fw.journal.records(segment=fw.till.z_nr))
    return to_text(report("X", t, fw.till.master)), {"totals": t}


async def cmd_close(con, args):
    from firmware.receipts import to_text
    from firmware.reports import report

    _need(args, 1)
    try:
        counted = parse_cents(args[0])
    except ValueError as e:
        raise UsageError(str(e))
    fw = con.fw
    closing = await fw.till.close_day(counted)
    return to_text(report("Z", closing["totals"], fw.till.master, closing=closing)), {
        "z_nr": closing["z_nr"],
        "difference": closing["difference"],
    }


def _device(con, name):
    board = con.fw.board
    if not board.has(name):
        raise DeviceError("this terminal has no %s" % name.replace("_", " "))
    return board.get(name)


async def cmd_test_print(con, args):
    from hal.escpos import EscPos

    _need(args, 0)
    printer = _device(con, "printer")
    status = printer.status()
    if not status.ready:
        raise DeviceError("printer not ready: " + "; ".join(status.problems()))
    now = con.fw.clock.now()
    e = EscPos().init().codepage().align(1).bold(True).text("smartECR Testseite\n").bold(False)
    e.text("%s\n%s\n" % (VERSION, local_text(now)))
    e.align(0).text("ÄÖÜ äöü ß € 0123456789\n" + "-" * printer.caps.columns + "\n")
    e.align(1).qr("smartECR test %d" % now).feed(1).cut()
    printer.write(e.take())
    return "test page printed (%d columns)" % printer.caps.columns


async def cmd_test_drawer(con, args):
    _need(args, 0)
    term = con.fw.terminal
    _device(con, "drawer")
    term.open_drawer()
    return "drawer pulse sent; drawer is %s" % {True: "open", False: "closed", None: "unknown"}[
        term.drawer_open
    ], {"open": term.drawer_open}


async def cmd_test_display(con, args):
    _need(args, 0)
    display = _device(con, "display")
    cols = display.caps.columns
    display.show("Display-Test ÄÖÜ€", "0123456789" * (cols // 10 + 1))
    return "test pattern on the customer display (%d columns) until the next sale" % cols


async def cmd_test_scan(con, args):
    _need(args, 0)
    scan = con.fw.terminal.last_scan
    if scan is None:
        return "no scan since boot", {"scan": None}
    symbol, when = scan
    return "%s %s at %s" % (symbol.symbology, symbol.text, local_text(when)), {
        "symbology": symbol.symbology,
        "text": symbol.text,
        "time": iso8601(when),
    }


async def cmd_test_card(con, args):
    _need(args, 0, 1)
    if args and args[0] != "contactless":
        raise UsageError("test card [contactless]")
    reader = _device(con, "contactless_reader" if args else "card_reader")
    if not reader.present():
        raise DeviceError("no card in the reader")
    atr = reader.power_on()
    reader.power_off()
    return "card present, ATR %s" % _hex(atr), {"atr": _hex(atr)}


# --- the terminal ---------------------------------------------------------------------------


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


COMMANDS = (
    ("help", (), cmd_help, "help [command]", "what you may run here", ()),
    ("logout", ANY, cmd_logout, "logout", "end the session", ()),
    (
        "passwd",
        TECH + ("read-only",),
        cmd_passwd,
        "passwd <PIN> <new PIN>",
        "change your console PIN",
        ("journal",),
    ),
    ("status", ANY, cmd_status, "status", "firmware, time, storage, journal, TSE, sale", ()),
    (
        "date set",
        TECH,
        cmd_date_set,
        "date set <YYYY-MM-DDThh:mm:ssZ>",
        "set the clock (and the TSE's)",
        ("journal",),
    ),
    ("date", ANY, cmd_date, "date", "the terminal's time", ()),
    ("tse setup", TECH, cmd_tse_setup, "tse setup", "take a new TSE card into service", ("journal",)),
    ("tse selftest", TECH, cmd_tse_selftest, "tse selftest", "run the TSE self-test", ("journal",)),
    ("tse timesync", TECH, cmd_tse_timesync, "tse timesync", "set the TSE's time", ("journal",)),
    ("tse clients", TECH, cmd_tse_clients, "tse clients", "the registered client ids", ()),
    (
        "tse register-client",
        TECH,
        cmd_tse_register,
        "tse register-client <id>",
        "register a client id",
        ("journal",),
    ),
    ("tse export", TECH, cmd_tse_export, "tse export", "export the TSE's new logs to storage", ("journal",)),
    (
        "tse unblock",
        TECH,
        cmd_tse_unblock,
        "tse unblock <admin|time-admin>",
        "unblock a PIN with the PUK",
        ("journal",),
    ),
    (
        "tse decommission",
        TECH,
        cmd_tse_decommission,
        "tse decommission <last 8 of serial>",
        "export, then take the TSE out of service for good",
        ("journal",),
    ),
    ("journal stats", ANY, cmd_journal_stats, "journal stats", "records and periods", ()),
    ("journal verify", STAFF, cmd_journal_verify, "journal verify", "check the hash chain", ("cancel",)),
    (
        "export dsfinvk",
        TECH,
        cmd_export_dsfinvk,
        "export dsfinvk [Z first [Z last]]",
        "DSFinV-K ZIP of closed periods to storage",
        ("journal", "cancel"),
    ),
    ("export tar", TECH, cmd_export_tar, "export tar", "full TSE TAR export to storage", ("journal",)),
    ("config show", ANY, cmd_config_show, "config show", "the configuration (secrets masked)", ()),
    ("config get", ANY, cmd_config_get, "config get <key>", "one setting", ()),
    (
        "config set",
        TECH,
        cmd_config_set,
        "config set <key> <value>",
        "change a setting (checked, saved)",
        ("journal",),
    ),
    ("log tail", ANY, cmd_log_tail, "log tail [lines]", "the last log lines", ()),
    ("report x", STAFF, cmd_report_x, "report x", "X report of the open period", ()),
    ("close", MANAGER, cmd_close, "close <counted cash>", "Z closing with the counted cash", ("journal",)),
    ("test print", TECH, cmd_test_print, "test print", "print a test page", ("journal",)),
    ("test drawer", TECH, cmd_test_drawer, "test drawer", "open the cash drawer", ("journal",)),
    (
        "test display",
        TECH,
        cmd_test_display,
        "test display",
        "test pattern on the customer display",
        ("journal",),
    ),
    ("test scan", TECH, cmd_test_scan, "test scan", "the last scanned code", ()),
    ("test card", TECH, cmd_test_card, "test card [contactless]", "the card reader's ATR", ("journal",)),
    ("reboot", TECH, cmd_reboot, "reboot", "restart the firmware", ("journal",)),
    (
        "factory-reset",
        TECH,
        cmd_factory_reset,
        "factory-reset <register serial>",
        "settings and users to factory",
        ("journal",),
    ),
    ("backup", TECH, cmd_backup, "backup", "settings and master data to storage", ("journal",)),
    (
        "restore",
        TECH,
        cmd_restore,
        "restore <file> [new serial]",
        "settings and master data from a backup",
        ("journal",),
    ),
)


def find(words):
    """The row for a command line: two-word commands first (``tse export``), then one-word."""
    if len(words) > 1:
        two = words[0] + " " + words[1]
        for row in COMMANDS:
            if row[0] == two:
                return row
    for row in COMMANDS:
        if row[0] == words[0]:
            return row
    return None


SECRET_ARGS = {"passwd": (1, 2), "login": (2,)}


def public(words):
    """The command line as it may be journaled and logged: PINs and secret settings masked."""
    hide = SECRET_ARGS.get(words[0], ())
    if words[:2] == ["config", "set"] and len(words) > 3:
        try:
            if configuration.field_at(words[2]).secret:
                hide = (3,)
        except ConfigError:
            pass
    return " ".join("***" if i in hide else w for i, w in enumerate(words))
