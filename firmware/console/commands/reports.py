"""Logs, reports and the closing on the console: log tail, report x, close (device code)."""

from core.money import parse_cents
from firmware.console.commands.base import UsageError, _need


async def cmd_log_tail(con, args):
    _need(args, 0, 1)
    try:
        n = int(args[0]) if args else 20
    except ValueError:
        raise UsageError("the number of lines is a whole number")
    if not 1 <= n <= 1000:
        raise UsageError("1 to 1000 lines")
    lines = con.svc.log.tail(n)
    return "\n".join(lines), {"lines": lines}


async def cmd_report_x(con, args):
    from firmware.receipts import to_text
    from firmware.reports import report, totals

    _need(args, 0)
    svc = con.svc
    t = totals(svc.journal.records(segment=svc.till.z_nr))
    return to_text(report("X", t, svc.till.master)), {"totals": t}


async def cmd_close(con, args):
    from firmware.receipts import to_text
    from firmware.reports import report

    _need(args, 1)
    try:
        counted = parse_cents(args[0])
    except ValueError as e:
        raise UsageError(str(e))
    svc = con.svc
    closing = await svc.till.close_day(counted)
    return to_text(report("Z", closing["totals"], svc.till.master, closing=closing)), {
        "z_nr": closing["z_nr"],
        "difference": closing["difference"],
    }
