"""The sale workflow: ring up, sign on the TSE, record in the journal, hand over the receipt.

    till = Till(master, journal, tse_client, clock, log)   # tse_client may be None: no TSE fitted
    await till.recover()                  # at boot: finish what a power cut interrupted
    till.open_bon()                       # or open_bon(TRAINING); ring() opens a Beleg itself
    await till.ring("add_plu", "1001")    # the first entry starts the TSE transaction at once
    till.pay("Bar", 1000)                 # till.due, till.void(pos), till.sale(): the screens' view
    record = await till.finish()          # signed and in the journal: now print the receipt

The till owns the receipt being rung up (``firmware/register/bon.py``): the terminal, the
console and the workloads ask the till, never the Bon.

Theory of operation (KassenSichV § 2, AEAO zu § 146a; see docs/compliance.md):

- The first entry of a Vorgang starts a TSE transaction immediately; the start is journaled.
- Before the TSE finishes the transaction, the complete receipt and its processData are
  journaled as ``pending`` (fsync). After the Finish, the receipt with its TSE data is journaled
  as ``beleg`` (fsync). Only then is a receipt printed or the drawer opened.
- If the TSE fails (pulled, error, no answer), the Vorgang goes on: the receipt carries the
  failure and its reason for people (``failure_text``: "TSE-Karte entnommen"; the technical
  detail in ``tse_detail`` and the log) and the register's own times. A card that only needs
  its time or a self-test, or whose link was lost because it was put back, is brought to
  ready by the service and the command tried once more. After a failure the next Vorgang
  first closes what the failure left open (``recover``: signed late, or aborted) — no reboot.
- ``recover()`` first journals the TSE's identity (serial, public key, certificate) when a
  TSE not seen before is fitted: the DSFinV-K export's Stamm_TSE comes from these records.
  Then it reconciles the journal with the TSE's open transactions after a power cut:
  a ``pending`` receipt is finished with its recorded processData (or, if the TSE finished it
  already, taken from the TSE's last answer); a receipt recorded with a TSE failure whose
  transaction is still open is signed late (``tse_late``); any other open transaction of this
  register is finished as ``AVBelegabbruch`` and recorded. Afterwards every TSE transaction of
  this register is in the journal and every journal receipt is signed or has its failure noted.
"""

import binascii

from core.money import whole
from firmware import VERSION
from firmware.fiscal.processdata import PROCESS_TYPE
from firmware.fiscal.qr import b64, receipt_qr
from firmware.journal import receipts
from firmware.reconcile import JournalFacts, reconcile, record_lost
from firmware.register import bon as bons
from firmware.reports import totals
from tse_sd import errors
from tse_sd.client import LOG_TIME_FORMAT, SIGNATURE_ALGORITHM
from tse_sd.errors import TseError

# What a receipt and the journal say when the TSE failed: for people (AEAO zu § 146a Nr. 7);
# the technical detail goes to the log and to the record's ``tse_detail``.
_FAILURES = (
    (errors.NoTimeSet, "TSE-Zeit nicht gesetzt"),
    (errors.NeedsSelfTest, "TSE-Selbsttest ausstehend"),
    (errors.NeedsSelfTestPassed, "TSE-Selbsttest ausstehend"),
    (errors.SelfTestFailed, "TSE-Selbsttest fehlgeschlagen"),
    (errors.CertificateExpired, "TSE-Zertifikat abgelaufen"),
    (errors.StoreFull, "TSE-Speicher voll"),
    (errors.SignaturesExceeded, "TSE-Signaturen aufgebraucht"),
    (errors.ClientNotRegistered, "Kasse nicht an der TSE angemeldet"),
    (errors.NotInitialized, "TSE nicht in Betrieb genommen"),
    (errors.Decommissioned, "TSE außer Betrieb"),
    (errors.MaxParallelTransactions, "zu viele offene TSE-Vorgänge"),
    (errors.TseProtocolError, "TSE-Antwort fehlerhaft"),
)
_UNAVAILABLE = {
    "io": "TSE-Karte entnommen",
    "unreachable": "TSE nicht erreichbar",
    "timeout": "TSE antwortet nicht",
}
NO_TSE = "keine TSE eingebaut"
# The card needs only what its service can do at once (time, self-test), or the link was
# lost and is opened again (a card put back): the command is tried once more.
_FIXABLE = (errors.NoTimeSet, errors.NeedsSelfTest, errors.NeedsSelfTestPassed, errors.TseUnavailable)


def failure_text(error):
    """The reason a receipt and the journal give for a TSE failure, in German for people."""
    if isinstance(error, errors.TseUnavailable):
        return _UNAVAILABLE.get(error.kind, "TSE nicht erreichbar")
    for cls, text in _FAILURES:
        if isinstance(error, cls):
            return text
    return "TSE-Fehler"


def period_has_vorgaenge(journal):
    """Has the journal's open period a receipt, or one begun?"""
    for rec in journal.records(segment=journal.segment):
        if rec["type"] in ("beleg", "pending", "tse_start"):
            return True
    return False


# What may be rung up on a receipt: the Bon's entry methods (firmware/register/bon.py).
ENTRIES = (
    "add_plu",
    "add_barcode",
    "add_weighed",
    "add_open",
    "add_return",
    "pfand_refund",
    "sell_voucher",
    "redeem_voucher",
    "add_tip",
    "line_discount",
    "receipt_discount",
)


class Till:
    def __init__(self, master, journal, tse, clock, log, operator="1", service=None):
        self.master = master
        self.journal = journal
        self.tse = tse
        self.service = service  # the TseService: brings a card back to ready (time, self-test)
        self.clock = clock
        self.log = log
        self._catch_up = False  # a TSE failure left something open: recover before the next start
        self.master_store = None  # firmware.masterstore: the master data in use, and their changes
        self.waiting_master = None  # master data changed mid-period: taken after the closing
        self.operator = master.operator(operator)
        self.client_id = master.register["serial"]
        self._bon = None
        self._start = None  # TransactionResult of the open Vorgang's Start
        self._start_time = None
        self._failure = ""
        self._public_key = None
        facts = JournalFacts(journal)
        self.last_bon_nr = facts.bon_nr  # documented skips included: no number twice
        self._tse_serials = facts.serials
        self.reconciliation = None  # the boot's Report (firmware.reconcile)

    @property
    def z_nr(self):
        """The number the next closing (Kassenabschluss) will have."""
        return self.journal.segment

    # --- the TSE -----------------------------------------------------------------------

    async def identify_tse(self):
        """Journal the fitted TSE's identity once (Stamm_TSE of the DSFinV-K export)."""
        info = self.tse.info()
        serial = binascii.hexlify(info.serial).decode()
        if serial in self._tse_serials:
            return False
        certificate = await self.tse.certificate()
        self.journal.append(
            "tse",
            {
                "serial": serial,
                "public_key": b64(info.public_key),
                "certificate": b64(certificate),
                "algorithm": SIGNATURE_ALGORITHM,
                "time_format": LOG_TIME_FORMAT,
                "description": info.description,
            },
        )
        self._tse_serials.add(serial)
        return True

    async def _ready_again(self, error):
        """After a ``_FIXABLE`` error: can the service bring the card to ready (time, self-test,
        the link opened again)? Not for a card that does not answer at all."""
        if self.service is None or getattr(error, "kind", "") == "timeout":
            return False
        self.log.warning("TSE: %s; bringing it to ready", error)
        return await self.service.maintain() == "ready"

    async def _tse_call(self, fn, *args):
        """One TSE command. If the card needs time or a self-test, or its link was lost (a card
        pulled and put back), the service brings it to ready and the command runs once more."""
        try:
            return await fn(*args)
        except _FIXABLE as e:
            if not await self._ready_again(e):
                raise
            return await fn(*args)

    def _failed(self, error, where):
        self._catch_up = True
        self.log.error("TSE failed at %s: %s", where, error)
        if self.service is not None:
            self.service.failed(error)
        return failure_text(error), str(error)

    async def _tse_start(self):
        self._start = None
        self._failure = self._detail = ""
        if self.tse is None:
            self._start_time = self.clock.now()
            self._failure = NO_TSE
            return
        if self._catch_up:  # the card may be back: close what the failure left open first
            if self.service is not None and self.service.state != "ready":
                await self.service.maintain()
            if self.service is None or self.service.state == "ready":
                done = await self.recover("TSE-Ausfall")
                if done:
                    self.log.info("TSE back: %s", done)
                if self.reconciliation is not None and self.reconciliation.serial is None:
                    await self.check_journal()  # the card was not there at boot: now it is
        self._start_time = self.clock.now()
        try:
            self._start = await self._tse_call(self.tse.start_transaction, self.client_id)
        except TseError as e:
            self._failure, self._detail = self._failed(e, "start")
            return
        self.journal.append(
            "tse_start",
            {
                "number": self._start.number,
                "log_time": self._start.log_time,
                "serial": binascii.hexlify(self._start.serial).decode(),
            },
            commit=False,
        )

    def _tse_fields(self, start, finish, process_data):
        if self._public_key is None:
            self._public_key = self.tse.info().public_key
        return {
            "number": finish.number,
            "start": start.log_time if start is not None else finish.log_time,
            "end": finish.log_time,
            "counter": finish.signature_counter,
            "signature": b64(finish.signature),
            "serial": binascii.hexlify(finish.serial).decode(),
            "client_id": self.client_id,
            "process_type": PROCESS_TYPE,
            "process_data": process_data,
            "qr": receipt_qr(
                self.client_id, start or finish, finish, PROCESS_TYPE, process_data, self._public_key
            ),
        }

    async def _sign_and_record(self, record, process_data):
        """Pending -> TSE Finish -> beleg. Returns the journaled receipt (whole)."""
        start = self._start
        self._bon = None
        self._start = None
        if start is None:
            self._beleg(record, failure=(self._failure or NO_TSE, self._detail))
            return record
        pending = self.journal.append(
            "pending", {"number": start.number, "process_data": process_data, "bon": record}
        )
        outcome = {"pending": pending["seq"], "bon_nr": record["bon_nr"]}
        try:
            finish = await self._finish(start, process_data)
            self._beleg(outcome, start, finish, process_data)
        except TseError as e:
            failure = self._failed(e, "finish of %d" % start.number)
            self._beleg(outcome, failure=failure, number=start.number)
        del outcome["pending"]
        record.update(outcome)
        return record

    def _beleg(self, record, start=None, finish=None, process_data=None, failure=None, number=None):
        """Journal a ``beleg`` record, every writer through here: ``record`` (a whole receipt of
        ``Bon.record``, or what completes a ``pending`` one) with the TSE's answer (``finish``)
        or the failure (``(text for people, detail)``, and the TSE ``number`` if it started),
        and the end time."""
        if finish is not None:
            record["tse"] = self._tse_fields(start, finish, process_data)
        else:
            record["tse_failure"] = failure[0]
            if failure[1]:
                record["tse_detail"] = failure[1]
            if number is not None:
                record["tse_number"] = number
        record["end"] = self.clock.now()
        self.journal.append("beleg", record)
        return record

    async def _finish(self, start, process_data):
        """FinishTransaction; when the link was lost under it, the card's last answer tells
        whether it signed already (then that answer is the receipt's), before it is retried."""
        args = (self.client_id, start.number, process_data, PROCESS_TYPE)
        try:
            return await self.tse.finish_transaction(*args)
        except _FIXABLE as e:
            if not await self._ready_again(e):
                raise
            if isinstance(e, errors.TseUnavailable):
                last = await self.tse.last_response()
                if last.number == start.number and last.signature_counter > start.signature_counter:
                    return last
            return await self.tse.finish_transaction(*args)

    def _numbered(self, record):
        self.last_bon_nr += 1
        record.update(
            bon_nr=self.last_bon_nr,
            bon_id=str(self.last_bon_nr),
            z_nr=self.z_nr,
            start=self._start_time,
            operator={"id": self.operator.id, "name": self.operator.name},
        )
        return record

    # --- a Vorgang -----------------------------------------------------------------------

    def open_bon(self, bon_typ=bons.BELEG):
        """Open a receipt (``Beleg``, or ``AVTraining``); ``ring`` opens a Beleg by itself."""
        if self._bon is not None:
            raise ValueError("a receipt is already open")
        self._bon = bons.Bon(self.master, bon_typ)

    def _open(self):
        if self._bon is None:
            raise ValueError("no receipt is open")
        return self._bon

    @property
    def open_sale(self):
        return self._bon is not None

    async def ring(self, entry, *args, **kwargs):
        """Ring up an entry (``ring("add_plu", "1001", 2000)``, one of ``ENTRIES``) on the open
        receipt, opening a Beleg if none is; the first line starts the TSE transaction at once.
        Returns the line (or discount). A refused entry (``ValueError``) changes nothing."""
        if entry not in ENTRIES:
            raise ValueError("no entry %r (one of %s)" % (entry, ", ".join(ENTRIES)))
        if self._bon is None:
            self.open_bon()
        bon = self._bon
        first = not bon.lines
        result = getattr(bon, entry)(*args, **kwargs)
        if first and bon.lines:
            await self._tse_start()
        return result

    def void(self, pos):
        """Cancel line ``pos`` of the open receipt (it stays visible, P_STORNO)."""
        self._open().void(pos)

    def pay(self, zahlart, amount, name=None, card=None):
        """A payment on the open receipt (cash given may exceed what is due); ``card`` is the
        card terminal's approval, journaled with the receipt before the TSE signs it."""
        self._open().pay(zahlart, amount, name, card)

    def set_customer(self, kunde):
        """The loyalty customer of the open receipt (``firmware.digital.loyalty``: card, name,
        points earned and redeemed, the balance after it), journaled with the receipt."""
        self._open().customer = kunde

    @property
    def due(self):
        """Cents still to pay on the open receipt (None: none is open)."""
        return None if self._bon is None else self._bon.total - self._bon.paid

    def sale(self):
        """What the screens show of the open receipt: ``{"lines": [[pos, text, qty, amount,
        storno, unit], ...], "total", "paid"}`` (qty in thousandths, unit "kg" or ""), or None."""
        bon = self._bon
        if bon is None:
            return None
        return {
            "lines": [
                [ln["pos"], ln["text"], ln["qty"], ln["amount"], ln["storno"], ln.get("unit") or ""]
                for ln in bon.lines
            ],
            "total": bon.total,
            "paid": bon.paid,
        }

    async def finish(self):
        """The open receipt is paid: sign it, journal it, return its record."""
        bon = self._open()
        payments, given, change = bon.settle()
        record = self._numbered(bon.record(payments, given, change))
        return await self._sign_and_record(record, bon.process_data(payments=payments))

    async def abort(self):
        """Abandon the open receipt: the TSE transaction is finished as AVBelegabbruch."""
        bon = self._bon
        if bon is None:
            raise ValueError("no receipt is open")
        if not bon.lines:
            self._bon = None
            return None
        record = self._numbered(bon.record([], bon_typ=bons.ABORT))
        return await self._sign_and_record(record, bon.process_data(bons.ABORT, []))

    async def cash(self, gv_typ, amount, text=None):
        """A cash movement (Anfangsbestand, Privatentnahme...): its own signed Vorgang."""
        return await self._whole(bons.cash_movement(self.master, gv_typ, amount, text))

    async def storno(self, bon_nr):
        """Cancel an earlier receipt with a new Beleg of negated amounts and a reference."""
        original = self.find(bon_nr)
        if original is None or original["bon_typ"] != bons.BELEG:
            raise ValueError("no receipt %r to cancel" % (bon_nr,))
        return await self._whole(bons.storno_of(self.master, original))

    async def _whole(self, bon):
        if self._bon is not None:
            raise ValueError("finish the open receipt first")
        self._bon = bon
        await self._tse_start()
        return await self.finish()

    async def close_day(self, counted, count=None):
        """Kassenabschluss: book a counted-cash difference, journal the closing, start a new
        period. ``count``: the cash counted by denomination, [[cents, pieces], ...], journaled
        with the closing."""
        if self._bon is not None:
            raise ValueError("finish the open receipt first")
        if not whole(counted):
            raise ValueError("counted cash must be whole cents")
        expected = totals(self.journal.records(segment=self.z_nr))["cash"]
        if counted != expected:
            await self.cash("DifferenzSollIst", counted - expected, "Differenz Soll/Ist")
        z_nr = self.z_nr
        closing = {
            "z_nr": z_nr,
            "time": self.clock.now(),
            "counted": counted,
            "expected": expected,
            "difference": counted - expected,
            "totals": totals(self.journal.records(segment=z_nr)),
            # master data as it stood for this period: the DSFinV-K export's Stammdaten
            "master": {"business": self.master.business, "register": self.master.register},
            "software": VERSION,
        }
        if count:
            closing["count"] = count
        self.journal.append("closing", closing)
        self.journal.new_segment(z_nr)
        waiting = self.waiting_master
        if waiting is not None and self.master_store is not None:  # its time has come (Tz. 3.3)
            why = self.master_store.refused(waiting, self.master)
            if why:
                self.log.error("master data %s not taken: %s", waiting.source, why)
            else:
                self.master_store.adopt(waiting)
                self.master = waiting
                self.waiting_master = None
        return closing

    def period_has_vorgaenge(self):
        """Has the open period a Vorgang (a receipt, or one begun)? Master data may change only
        when it has none: right after a closing (DSFinV-K Tz. 3.3)."""
        return self._bon is not None or period_has_vorgaenge(self.journal)

    def reprint(self, bon_nr):
        """A receipt again, for a customer who asks: journaled as a copy, marked "Kopie"."""
        bon = self.find(bon_nr)
        if bon is None:
            raise ValueError("no receipt %r" % (bon_nr,))
        self.journal.append("reprint", {"bon_nr": bon_nr, "operator": self.operator.id})
        return bon

    def find(self, bon_nr):
        for bon in receipts(self.journal.records()):
            if bon["bon_nr"] == bon_nr:
                return bon
        return None

    # --- the journal answers to the TSE -------------------------------------------------------

    async def check_journal(self, full=False, progress=None):
        """Reconcile the journal with the TSE (firmware.reconcile): at boot after ``recover``,
        ``full`` for the console's ``journal verify``. Signed Vorgänge the journal lacks are
        journaled once as ``journal_mismatch`` and their receipt numbers are not given out
        again. Returns the ``Report``."""
        facts = JournalFacts(self.journal)
        report = await reconcile(self.journal, self.tse, self.client_id, facts, full, progress)
        record_lost(self.journal, report, facts, self.clock.now())
        for problem in report.problems:
            self.log.error("journal does not agree with the TSE: %s", problem)
        self.last_bon_nr = max(self.last_bon_nr, facts.bon_nr)
        if not full:
            self.reconciliation = report
        return report

    # --- after a power cut -----------------------------------------------------------------

    async def recover(self, cause="Stromausfall"):
        """Reconcile the journal with the TSE (see the module text). Returns what was done.
        At boot after a power cut; during the day before the first start after a TSE failure
        (``cause`` names it on an aborted receipt)."""
        done = []
        if self.tse is None:
            return done
        self._catch_up = False
        # One streaming pass, keeping only what is still open: a pending receipt until its
        # beleg appears, a failed receipt's TSE number until it is signed late.
        pending, failed, recorded = {}, {}, set()
        for rec in self.journal.records():
            kind, data = rec["type"], rec["data"]
            if kind == "pending":
                pending[rec["seq"]] = (data["number"], data["process_data"], data["bon"]["bon_nr"])
            elif kind == "beleg":
                p = pending.pop(data["pending"], None) if "pending" in data else None
                if "tse" in data:
                    recorded.add(data["tse"]["number"])
                elif "tse_number" in data and p is not None:
                    failed[data["tse_number"]] = (data["bon_nr"], p[1])
            elif kind == "tse_late":
                recorded.add(data["number"])
                failed.pop(data["number"], None)
        try:
            await self.identify_tse()
            open_numbers = await self.tse.list_started(self.client_id)
            for seq, (number, process_data, bon_nr) in pending.items():
                if number in recorded:
                    continue
                outcome = {"pending": seq, "bon_nr": bon_nr, "recovered": True}
                if number in open_numbers:
                    finish = await self.tse.finish_transaction(
                        self.client_id, number, process_data, PROCESS_TYPE
                    )
                    open_numbers.remove(number)
                else:
                    finish = await self.tse.last_response()
                if finish.number == number:
                    self._beleg(outcome, None, finish, process_data)
                else:
                    lost = ("TSE-Antwort bei Stromausfall verloren", "signed, but the TSE's answer was lost")
                    self._beleg(outcome, failure=lost, number=number)
                self.last_bon_nr = max(self.last_bon_nr, bon_nr)
                done.append(("completed", bon_nr))
            for number in open_numbers:
                late = failed.get(number)
                if late is not None:
                    bon_nr, pd = late
                    finish = await self.tse.finish_transaction(self.client_id, number, pd, PROCESS_TYPE)
                    self.journal.append(
                        "tse_late",
                        {"bon_nr": bon_nr, "number": number, "tse": self._tse_fields(None, finish, pd)},
                    )
                    done.append(("signed late", bon_nr))
                    continue
                empty = bons.Bon(self.master)
                empty.name = "Abbruch nach " + cause
                pd = empty.process_data(bons.ABORT)
                finish = await self.tse.finish_transaction(self.client_id, number, pd, PROCESS_TYPE)
                self._start_time = self.clock.now()
                record = self._numbered(empty.record([], bon_typ=bons.ABORT))
                record["recovered"] = True
                self._beleg(record, None, finish, pd)
                done.append(("aborted", record["bon_nr"]))
        except TseError as e:
            self._catch_up = True
            self.log.error("reconciling with the TSE failed: %s", e)
            done.append(("tse unavailable", str(e)))
        if done:
            self.journal.append("recovery", {"tse": [list(x) for x in done]})
        return done
