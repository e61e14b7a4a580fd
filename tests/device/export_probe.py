"""Write the DSFinV-K export of a journal on either runtime (tests/host/test_dsfinvk.py and the
MicroPython export benchmark).

    export_probe.py JOURNAL MASTER OUT.zip WORK   -> one JSON line: rows per file, seconds
"""

import json
import sys
import time

from firmware.exports.dsfinvk import DsfinvkExport
from firmware.journal import Journal
from firmware.register.master import MasterData
from hal.clock import SystemClock


def main(journal_dir, master_path, out, work):
    with open(master_path) as f:
        master = MasterData.from_dict(json.load(f))
    journal = Journal(journal_dir, SystemClock())
    try:
        started = time.time()
        export = DsfinvkExport(journal, master)
        rows = export.write_zip(out, export.select(), work, 0)
        return {"rows": rows, "seconds": time.time() - started}
    finally:
        journal.close()


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
