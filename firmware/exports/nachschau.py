"""Kassen-Nachschau: everything an unannounced tax inspector asks for, in one step.

    folder = await kassen_nachschau("/media/usb", journal, master, tse_exports, clock)

Writes ``Kassen-Nachschau-<register>-<time>/`` on the removable storage at ``target``: the
DSFinV-K export of every closed period (``dsfinvk.zip``) and a full, checked copy of the TSE's
TAR export (``tse-....tar``; omitted with a note when no TSE is fitted). The copy does not
count as the register's own stored export, so it never allows the card to be emptied. The
hand-over is journaled (``nachschau``).
"""

from core.calendar import local_iso
from core.errors import EcrError
from core.storage import makedirs
from firmware.exports.dsfinvk import DsfinvkExport


async def kassen_nachschau(target, journal, master, tse_exports, clock, reference="data/dsfinvk"):
    now = clock.now()
    stamp = local_iso(now).replace("-", "").replace(":", "")
    folder = "%s/Kassen-Nachschau-%s-%s" % (target, master.register["serial"], stamp)
    makedirs(folder)
    export = DsfinvkExport(journal, master, reference)
    closings = export.select()
    rows = export.write_zip(folder + "/dsfinvk.zip", closings, folder + "/.dsfinvk", now)
    done = {"folder": folder, "closings": [c["z_nr"] for c in closings], "rows": sum(rows.values())}
    if tse_exports is None:
        done["tse"] = "no TSE fitted"
    else:
        try:
            done["tse"] = (await tse_exports.export(to=folder))["file"]
        except EcrError as e:
            done["tse"] = "TSE export failed: %s" % e
    journal.append("nachschau", done)
    return done
