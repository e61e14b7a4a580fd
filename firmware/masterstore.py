"""Which master data a period uses: a change takes effect only between closings (device code).

    store = MasterStore(data_dir, journal, log)
    master, waiting = store.open(load_master(path), busy=till_has_receipts)   # at boot
    till = Till(master, ...); till.master_store, till.waiting_master = store, waiting
    store.adopt(waiting)                     # Till.close_day does it after the closing

DSFinV-K Tz. 3.3: the master data (Stammdaten) of a period are those of its closing; a change
in the middle of a period would give one period two sets. So the terminal keeps a copy of the
master data in use (``<data_dir>/master-in-use.json``) and journals a ``master`` record (the
SHA-256 of the file, its serial, its article count) each time it takes a new one. A master
file that changed while the open period has receipts (a new file deployed, edited, restored)
waits: the period goes on with the copy, and the new data are taken right after the next
closing. A change of the register serial is never taken this way (the TSE knows the register
by it): that is the console's ``restore <file> <new serial>`` procedure.
"""

import json

from core.errors import ConfigError
from core.storage import exists, write_atomic
from firmware.register.master import load_master

IN_USE = "/master-in-use.json"


def _same(a, b):
    """The same master data, byte for byte or as JSON (a restored file is written anew)."""
    if a.digest == b.digest:
        return True
    with open(a.source) as f:
        first = json.load(f)
    with open(b.source) as f:
        return json.load(f) == first


class MasterStore:
    def __init__(self, data_dir, journal, log):
        self.path = data_dir + IN_USE
        self.journal = journal
        self.log = log

    def open(self, master, busy):
        """``(master data to use now, master data waiting for the closing or None)``."""
        used = None
        if exists(self.path):
            try:
                used = load_master(self.path)
            except ConfigError as e:  # a damaged copy: the file's data are taken, and said so
                self.log.error("master data in use unreadable, taking the file's: %s", e)
        if used is not None and _same(used, master):
            return used, None
        if used is not None:
            if busy:
                self.log.warning(
                    "master data changed (%s) while this period has receipts: they are taken after"
                    " the next closing (DSFinV-K Tz. 3.3)" % master.source
                )
                return used, master
            why = self.refused(master, used)
            if why:
                self.log.error("master data %s refused: %s" % (master.source, why))
                return used, None
        self.adopt(master)
        return master, None

    def refused(self, master, current):
        """Why ``master`` may not follow ``current`` now (None: it may)."""
        if master.register["serial"] != current.register["serial"] and not self._announced(master):
            return "it changes the register serial; use the console's restore procedure (docs/technician.md)"
        return None

    def _announced(self, master):
        """Did the console's serial change procedure journal this serial (``serial_change``)?"""
        for rec in self.journal.records(segment=self.journal.segment, kind="serial_change"):
            if rec["data"].get("new") == master.register["serial"]:
                return True
        return False

    def adopt(self, master):
        """Take ``master`` from now on: the copy, and a ``master`` record in the journal."""
        with open(master.source, "rb") as f:
            raw = f.read()
        write_atomic(self.path, raw.decode())
        record = {
            "digest": master.digest,
            "source": master.source,
            "serial": master.register["serial"],
            "articles": len(master.articles),
        }
        if getattr(master, "store_version", None) is not None:
            record["store_version"] = master.store_version  # the store server's version
        self.journal.append("master", record)
        master.source = self.path
        self.log.info("master data %s... in use", master.digest[:16])
