"""The store's exports from the server's data (host code): one DSFinV-K export over every
register, and the registers' TSE export archives.

    rows = await dsfinvk(pool, "out/store-export", day_first="2026-12-01", day_last="2026-12-31")

Each register's closings are exported by the firmware's own writer (firmware/exports/dsfinvk.py)
reading the replicated journal (``Replica``: the records as the terminal wrote them, by
period), so the store export has exactly the rows each register's own export has; the tables
are then joined, one header each, ``cashregister.csv`` holding a row per Kasse. The TSE
certificate columns are as many for every register (the longest certificate's). The result
passes the project's checker (tools/audit/dsfinvk.py) and the official index.xml/DTD.
"""

import json
import os
import shutil
import zipfile

from firmware.exports.dsfinvk import CERT_PART, TABLES, DsfinvkExport
from firmware.register.master import MasterData
from storeserver.masterdata import latest

REFERENCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "dsfinvk")


class Replica:
    """A register's journal as the server holds it: what DsfinvkExport reads of a Journal."""

    def __init__(self, rows):
        self._by_segment = {}
        for segment, payload in rows:
            self._by_segment.setdefault(segment, []).append(json.loads(bytes(payload)))

    def segments(self):
        return sorted(self._by_segment)

    def records(self, segment=None, kind=None):
        for z in self.segments():
            if segment is not None and z != segment:
                continue
            for rec in self._by_segment[z]:
                if kind is None or rec["type"] == kind:
                    yield rec


async def _replica(pool, serial):
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute("SELECT segment, payload FROM records WHERE serial = %s ORDER BY seq", (serial,))
        return Replica(await cur.fetchall())


async def dsfinvk(pool, folder, day_first=None, day_last=None, serials=None):
    """Write the store's DSFinV-K export into ``folder``; ``{file: rows}`` over all registers."""
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute("SELECT DISTINCT serial FROM closings ORDER BY serial")
        registers = [s for (s,) in await cur.fetchall() if serials is None or s in serials]
    _, store = await latest(pool)
    replicas = {serial: await _replica(pool, serial) for serial in registers}
    parts = 2
    for replica in replicas.values():
        for rec in replica.records(kind="tse"):
            parts = max(parts, (len(rec["data"]["certificate"]) + CERT_PART - 1) // CERT_PART)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    totals = {}
    outputs = {}
    work = folder + ".parts"
    for serial, replica in replicas.items():
        master = _master_of(replica, store, serial)
        export = DsfinvkExport(replica, master, reference=REFERENCE, min_parts=parts)
        closings = export.select(day_first=day_first, day_last=day_last)
        if not closings:
            continue
        part = os.path.join(work, serial)
        export.write(part, closings)
        outputs[serial] = part
        for name, count in export.rows.items():
            totals[name] = totals.get(name, 0) + count
    first = None
    for part in outputs.values():
        if first is None:
            first = part
        for name, _ in TABLES:
            with open(os.path.join(part, name), "rb") as src, open(os.path.join(folder, name), "ab") as dst:
                header = src.readline()
                if part == first:
                    dst.write(header)
                shutil.copyfileobj(src, dst)
    if first is None:  # nothing closed in the period: the empty tables
        export = DsfinvkExport(Replica([]), None, reference=REFERENCE, min_parts=parts)
        export.write(os.path.join(work, "empty"), [])
        first = os.path.join(work, "empty")
        for name, _ in TABLES:
            shutil.copy(os.path.join(first, name), os.path.join(folder, name))
    for name in ("index.xml", "gdpdu-01-09-2004.dtd"):
        shutil.copy(os.path.join(first, name), os.path.join(folder, name))
    shutil.rmtree(work, ignore_errors=True)
    return {name: totals.get(name, 0) for name, _ in TABLES}


def _master_of(replica, store, serial):
    """The master data the export falls back on (a closing carries its own Stammdaten)."""
    register = {"serial": serial, "brand": "smartECR", "model": "smartECR One", "currency": "EUR"}
    for rec in replica.records(kind="closing"):
        register = rec["data"].get("master", {}).get("register", register)
    data = dict(store or {}, register=register)
    return MasterData.from_dict(data) if "business" in data else None


def zip_export(folder, path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(os.listdir(folder)):
            z.write(os.path.join(folder, name), name)
    return path
