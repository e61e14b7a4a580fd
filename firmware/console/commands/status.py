"""What the terminal says about itself: status, date, date set (device code)."""

import os
import sys

from core.calendar import days_from_civil, iso8601, local_text, parse_date
from core.errors import DeviceError
from firmware import VERSION
from firmware.console.commands.base import UsageError, _need
from hal import platform as platforms


def _storage(path):
    try:
        st = os.statvfs(path)
    except (AttributeError, OSError):
        return None
    return {"total_bytes": st[1] * st[2], "free_bytes": st[1] * st[4]}


def _tse_where(board):
    """Where the TSE card is: its driver and the mount point, file or address it is reached at."""
    entry = board.entries.get("tse") if board.has("tse") else None
    if not entry:
        return "none"
    return " ".join(str(entry[k]) for k in ("driver", "mount", "path", "host", "port") if entry.get(k))


async def cmd_status(con, args):
    _need(args, 0)
    svc = con.svc
    clock = svc.clock
    now = clock.now()
    till = svc.till
    if svc.tse is not None:
        svc.tse.refresh()  # what the card can do right now, not at the last service round
    tse = svc.tse.status() if svc.tse is not None else {"state": "none", "can": "none fitted"}
    data = {
        "version": VERSION,
        "runtime": sys.implementation.name,
        "platform": svc.platform,
        "board": svc.board.name,
        "machine": platforms.machine(),
        "tse_card": _tse_where(svc.board),
        "uptime_s": clock.ticks_diff(clock.ticks_ms(), svc.boot_ms) // 1000,
        "time": iso8601(now),
        "time_valid": now > 1735689600,  # after 2025-01-01: the clock has been set
        "storage": _storage(svc.config["data_dir"]),
        "journal": svc.journal.stats(),
        "tse": tse,
        "sale_open": till.open_sale,
        "last_receipt": till.last_bon_nr,
        "print_queue": [n for n, _ in svc.terminal.queue],
    }
    lines = [
        "smartECR %s on %s (%s), platform %s, board %s"
        % (VERSION, data["runtime"], data["machine"], data["platform"], data["board"]),
        "TSE card: %s" % data["tse_card"],
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
    now = con.svc.clock.now()
    data = {"utc": iso8601(now), "local": local_text(now), "settable": con.svc.clock.can_set}
    return "%s (UTC %s)" % (data["local"], data["utc"]), data


async def cmd_date_set(con, args):
    _need(args, 1)
    seconds = _parse_utc(args[0])
    clock = con.svc.clock
    if not clock.can_set:
        raise DeviceError("this terminal's clock follows the operating system (NTP): set it there")
    clock.set(seconds)
    if con.svc.tse is not None:
        await con.svc.tse.sync_time()
    return "clock set to %s" % local_text(seconds)
