"""The TSE's TAR export: into storage, checked, and only then may the card be emptied.

    exports = TseExports(client, journal, "data/tse-exports", clock)
    done = await exports.export()                    # incremental: every log not yet exported
    done = await exports.export(full=True)           # everything the card holds
    await exports.delete_stored_data(admin_pin)      # export + check + deleteStoredData, one step
    check_tar("x.tar")                               # the structural check, on the device

Theory of operation: an export is streamed into ``.partial.tar`` and checked before it gets its
name ``tse-<serial>-<time>-sig<first>-<last>.tar``: every ustar header's checksum, nothing cut
short, ``info.csv`` and a certificate present, log names of the TR-03153 form, signature
counters without a gap or a repeat and (incremental) starting right after the last export.
A checked export is journaled (``tse_export``); the next incremental export starts after its
last counter. ``deleteStoredData`` is sent only inside one admin session right after an export
whose check passed and which reaches the card's current signature counter, so no log can be
deleted that is not in a checked file. The cryptographic check (every signature against the
certificate) is the auditor's: ``python -m tools.audit verify-tar`` on a PC.
"""

import binascii
import os

from core.calendar import local_iso
from core.errors import ExportError
from core.storage import makedirs, sync
from tse_sd import protocol as p
from tse_sd.export import log_counter, parse_header

_BLOCK = 512


class TarCheck:
    def __init__(self):
        self.logs = 0
        self.first = None
        self.last = None
        self.certificates = 0
        self.info = False
        self.problems = []

    @property
    def ok(self):
        return not self.problems


def check_tar(path, expect_first=None):
    """Structural check of a TAR export (device side); a ``TarCheck``."""
    out = TarCheck()
    counters = []
    ended = False
    with open(path, "rb") as f:
        while True:
            header = f.read(_BLOCK)
            if len(header) < _BLOCK:
                out.problems.append("the archive ends without its two zero blocks (cut short?)")
                break
            if header == bytes(_BLOCK):
                ended = True
                break
            try:
                name, size, ok = parse_header(header)
            except ValueError:
                out.problems.append("not a TAR header at byte %d" % (f.tell() - _BLOCK))
                break
            if not ok:
                out.problems.append("%s: header checksum wrong" % name)
                break
            left = (size + _BLOCK - 1) // _BLOCK * _BLOCK
            while left:
                chunk = f.read(min(left, 4096))
                if not chunk:
                    break
                left -= len(chunk)
            if left:
                out.problems.append("%s: cut short" % name)
                break
            if name == "info.csv":
                out.info = True
            elif "_X509." in name:
                out.certificates += 1
            elif name.endswith(".log"):
                c = log_counter(name)
                if c is None:
                    out.problems.append("%s: not a TR-03153 log file name" % name)
                else:
                    counters.append(c)
            else:
                out.problems.append("%s: unexpected member" % name)
    if ended and not out.info:
        out.problems.append("info.csv is missing")
    if ended and not out.certificates:
        out.problems.append("no certificate in the export")
    counters.sort()
    out.logs = len(counters)
    if counters:
        out.first, out.last = counters[0], counters[-1]
        for a, b in zip(counters, counters[1:]):
            if b == a:
                out.problems.append("signature counter %d twice" % a)
            elif b != a + 1:
                out.problems.append("signature counters jump from %d to %d" % (a, b))
        if expect_first is not None and counters[0] != expect_first:
            out.problems.append("starts at signature counter %d, expected %d" % (counters[0], expect_first))
    return out


class TseExports:
    def __init__(self, client, journal, folder, clock):
        self.client = client
        self.journal = journal
        self.folder = folder
        self.clock = clock

    def last_exported(self, serial):
        """The highest signature counter of this TSE in a checked export kept in storage (0:
        none yet); copies handed over elsewhere (``to=``) do not count."""
        last = 0
        for rec in self.journal.records(kind="tse_export"):
            data = rec["data"]
            if data["serial"] == serial and data["kind"] != "copy" and data["last"]:
                last = max(last, data["last"])
        return last

    async def export(self, full=False, to=None):
        """Export into storage (or, ``to`` a folder, a full copy for someone else, such as an
        auditor) and check it; the journaled ``tse_export`` record's data. ``ExportError``
        (the partial file removed) if the export fails its check."""
        info = self.client.info()
        serial = binascii.hexlify(info.serial).decode()
        full = full or to is not None
        first = None if full else self.last_exported(serial) + 1
        folder = self.folder if to is None else to
        makedirs(folder)
        partial = folder + "/.partial.tar"
        with open(partial, "wb") as f:
            if full:
                await self.client.export_tar(f.write)
            else:
                await self.client.export_tar(f.write, p.EXPORT_SIGNATURES, first)
            sync(f)
        check = check_tar(partial, first)
        if not check.ok:
            os.remove(partial)
            raise ExportError("the TSE export failed its check: " + "; ".join(check.problems))
        now = self.clock.now()
        name = "tse-%s-%s-sig%s-%s.tar" % (
            serial[:16],
            local_iso(now).replace("-", "").replace(":", ""),
            check.first or 0,
            check.last or 0,
        )
        os.rename(partial, folder + "/" + name)
        size = os.stat(folder + "/" + name)[6]
        record = {
            "file": folder + "/" + name,
            "serial": serial,
            "kind": "copy" if to is not None else "full" if full else "incremental",
            "first": check.first,
            "last": check.last,
            "logs": check.logs,
            "size": size,
        }
        self.journal.append("tse_export", record)
        return record

    async def delete_stored_data(self, admin_pin):
        """Export what is new, check it, and free the card's store: all in one admin session.
        Returns the export's record; ``ExportError`` and nothing deleted when the check fails
        or the export does not reach the card's latest signature."""
        await self.client.login(p.USER_ADMIN, admin_pin)
        try:
            record = await self.export()
            reached = self.client.info().created_signatures
            if (record["last"] or 0) < reached:
                raise ExportError(
                    "the export ends at signature %s, the card is at %d: nothing deleted"
                    % (record["last"], reached)
                )
            await self.client.delete_stored_data()
        finally:
            await self.client.logout(p.USER_ADMIN)
        self.journal.append("tse_delete", {"serial": record["serial"], "up_to": record["last"]})
        return record
