"""The back office's figures from the replicated receipts (host code): a period's turnover by
register, hour, product group, cashier and payment type, receipts, closings, cash
differences and the registers' health.

Only ``Beleg`` receipts count as turnover, training receipts never (DSFinV-K: AVTraining is
no turnover); amounts are integer cents; hours are German local time (Europe/Berlin).
"""

import datetime

BERLIN = "Europe/Berlin"


def period(first, last):
    """Unix seconds ``[start, end)`` of the German calendar days ``first``..``last`` (ISO dates)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(BERLIN)
    a = datetime.datetime.combine(datetime.date.fromisoformat(first), datetime.time(), zone)
    b = datetime.datetime.combine(datetime.date.fromisoformat(last), datetime.time(), zone)
    return int(a.timestamp()), int((b + datetime.timedelta(days=1)).timestamp())


_TURNOVER = "r.bon_typ = 'Beleg' AND NOT r.training AND r.t >= %(start)s AND r.t < %(end)s"


async def _rows(pool, sql, args):
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(sql, args)
        return await cur.fetchall()


async def summary(pool, start, end, serial=None):
    """Everything the dashboard draws, as lists of ``[label, cents]`` (or counts)."""
    args = {"start": start, "end": end, "serial": serial}
    where = _TURNOVER + (" AND r.serial = %(serial)s" if serial else "")
    total = await _rows(pool, "SELECT count(*), coalesce(sum(gross), 0) FROM receipts r WHERE " + where, args)
    by = {}
    by["register"] = await _rows(
        pool, "SELECT serial, sum(gross) FROM receipts r WHERE %s GROUP BY 1 ORDER BY 1" % where, args
    )
    by["hour"] = await _rows(
        pool,
        "SELECT extract(hour FROM to_timestamp(r.t) AT TIME ZONE '%s')::int AS h, sum(gross)"
        " FROM receipts r WHERE %s GROUP BY 1 ORDER BY 1" % (BERLIN, where),
        args,
    )
    by["group"] = await _rows(
        pool,
        "SELECT CASE WHEN l.grp = '' THEN '(ohne)' ELSE l.grp END, sum(l.amount) FROM receipt_lines l"
        " JOIN receipts r ON r.serial = l.serial AND r.seq = l.seq WHERE %s GROUP BY 1 ORDER BY 2 DESC"
        % where,
        args,
    )
    by["cashier"] = await _rows(
        pool, "SELECT operator, sum(gross) FROM receipts r WHERE %s GROUP BY 1 ORDER BY 2 DESC" % where, args
    )
    by["payment"] = await _rows(
        pool,
        "SELECT p.name, sum(p.amount) FROM receipt_payments p JOIN receipts r ON r.serial = p.serial"
        " AND r.seq = p.seq WHERE %s GROUP BY 1 ORDER BY 2 DESC" % where,
        args,
    )
    hours = dict(by["hour"])
    by["hour"] = [["%02d" % h, hours.get(h, 0)] for h in range(24)]
    return {
        "receipts": total[0][0],
        "gross": int(total[0][1]),
        "by": {key: [[str(label), int(cents)] for label, cents in rows] for key, rows in by.items()},
    }


async def receipts(pool, start, end, serial=None, limit=200):
    sql = (
        "SELECT serial, seq, bon_nr, z_nr, t, bon_typ, operator, gross, signed, verified, problem"
        " FROM receipts r"
        " WHERE r.t >= %(start)s AND r.t < %(end)s"
        + (" AND r.serial = %(serial)s" if serial else "")
        + " ORDER BY t DESC, seq DESC LIMIT %(limit)s"
    )
    return await _rows(pool, sql, {"start": start, "end": end, "serial": serial, "limit": limit})


async def receipt(pool, serial, seq):
    rows = await _rows(
        pool,
        "SELECT data, signed, verified, problem FROM receipts WHERE serial = %(serial)s AND seq = %(seq)s",
        {"serial": serial, "seq": seq},
    )
    return rows[0] if rows else None


async def closings(pool, limit=100):
    return await _rows(
        pool,
        "SELECT serial, z_nr, t, (data->>'counted')::bigint, (data->>'expected')::bigint,"
        " (data->>'difference')::bigint FROM closings ORDER BY t DESC LIMIT %(limit)s",
        {"limit": limit},
    )


async def registers(pool):
    """One row per register: serial, name, last seen, status, head, master versions, forked, alarms."""
    return await _rows(
        pool,
        "SELECT g.serial, g.name, g.last_seen, g.status, g.head_seq, g.master_received, g.master_in_use,"
        " g.forked, g.enrolled,"
        " (SELECT count(*) FROM alarms a WHERE a.serial = g.serial AND a.cleared IS NULL)"
        " FROM registers g ORDER BY g.serial",
        {},
    )


async def alarms(pool, limit=50):
    return await _rows(
        pool,
        "SELECT at, serial, kind, seq, detail FROM alarms WHERE cleared IS NULL"
        " ORDER BY at DESC LIMIT %(limit)s",
        {"limit": limit},
    )
