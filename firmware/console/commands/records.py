"""The journal and the exports on the console: ``journal stats``, ``journal verify``,
``export dsfinvk``, ``export tar`` (device code)."""

import asyncio
import os

from firmware.console.commands.base import (
    UsageError,
    _folder,
    _need,
)
from firmware.console.commands.tse import _tar


async def cmd_journal_stats(con, args):
    _need(args, 0)
    data = con.svc.journal.stats()
    counts = {}
    for rec in con.svc.journal.records(segment=con.svc.journal.segment):
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
    for n in con.svc.journal.verify_steps(result):
        if n % 10000 == 0:
            await con.progress("%d records checked" % n, records=n)
        await asyncio.sleep(0)
    ok, problems = result
    if not ok:
        raise ValueError("journal damaged: " + "; ".join(problems[:5]))

    async def progress(segment, compared):
        await con.progress("period %d: %d receipts compared with the TSE" % (segment, compared))

    con.cancellable = False  # TSE commands are not stopped half-way
    report = await con.svc.till.check_journal(full=True, progress=progress)
    if report.problems:
        more = " (+%d more)" % (len(report.problems) - 5) if len(report.problems) > 5 else ""
        raise ValueError("journal does not agree with the TSE: " + "; ".join(report.problems[:5]) + more)
    text = "journal intact: %d records, hash chain and checksums good" % con.svc.journal.seq
    if report.serial is not None:
        text += "; %d signed receipts agree with TSE %s..." % (report.compared, report.serial[:16])
    text += "".join("\nnot checked: " + u for u in report.unchecked)
    return text, {"records": con.svc.journal.seq, "compared": report.compared, "unchecked": report.unchecked}


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
    svc = con.svc
    export = DsfinvkExport(svc.journal, svc.till.master)
    first, last = _z_range(args)
    closings = export.select(first, last)
    if not closings:
        raise ValueError("no closed period %s" % (("Z %s to %s" % (first, last)) if args else "yet"))
    z0, z1 = closings[0]["z_nr"], closings[-1]["z_nr"]
    folder = _folder(con, "exports")
    path = "%s/dsfinvk-z%04d-z%04d.zip" % (folder, z0, z1)
    work = folder + "/.dsfinvk"
    steps = export.zip_steps(path, closings, work, svc.clock.now())
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
    svc.journal.append("export", {"kind": "dsfinvk", "file": path, "z_first": z0, "z_last": z1})
    return "%s: Z %d to %d, %d lines, %d bytes" % (path, z0, z1, rows["lines.csv"], data["size"]), data


async def cmd_export_tar(con, args):
    _need(args, 0)
    return await _tar(con, True)
