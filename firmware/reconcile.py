"""The journal answers to the TSE: what the journal says against what the card signed.

    facts = JournalFacts(journal)                  # one pass: numbers, counters, gaps
    report = await reconcile(journal, client, "KASSE-1", facts)             # at boot: the tail
    report = await reconcile(journal, client, "KASSE-1", full=True)         # journal verify
    report.problems     # what does not agree, one sentence each
    report.unchecked    # what could not be checked here, and why
    report.lost         # transactions the TSE signed for this register that the journal lacks
    record_lost(journal, report, facts)            # journal_mismatch: documented once, numbers skipped

Theory of operation (docs/compliance.md, "What the reconciliation finds"). The hash chain
shows that the journal was not changed *by accident*; anyone who knows the format can
recompute it. The anchor is the TSE: every signed Vorgang is also on the card, signed, and
nobody can make the card forget or change it. So:

1. ``JournalFacts`` walks the journal once: receipt numbers must follow each other, closings
   too (Z 1, 2, ... each in its own segment); per TSE serial it keeps the highest transaction
   number and signature counter the journal knows, and what ``journal_mismatch`` records
   already documented (those numbers count as seen: nothing is given out twice).
2. At boot (after ``Till.recover`` finished what a power cut left open) ``reconcile`` asks the
   card for this register's transactions numbered after the highest the journal knows
   (an export filtered by transaction numbers and client). Every FinishTransaction found
   there is a signed Vorgang the journal lacks: lost records. The card's signature counter
   must not be behind the journal's either (another card, or a journal not of this card).
3. ``journal verify`` (``full=True``) goes further, period by period: every signed receipt's
   lines and payments must give the processData it was signed with, and that processData,
   signature and counter must be the card's own log of that transaction; every Finish on the
   card must be in the journal. A changed amount is found even when the chain was recomputed.
   The terminal compares with the card's logs; it does not check ECDSA itself (no ECDSA on
   MicroPython): that is ``python -m tools.audit verify-journal`` on a PC, and ``unchecked``
   says so, and names receipts whose logs the card no longer holds.
4. Nothing is repaired: a loss is reported (``problems``), journaled once as a
   ``journal_mismatch`` record with what the card signed, and the receipt numbers the lost
   Vorgänge had are skipped.

Unsigned records (closings without a difference, reprints, console events, receipts made
while the TSE had failed) have only the chain: cutting them from the end is not detectable.
"""

import binascii

from firmware.fiscal.qr import b64
from firmware.journal import receipts
from firmware.register.bon import process_data as rebuild_process_data
from tse_sd import protocol as p
from tse_sd.errors import TseError
from tse_sd.export import ExportReader

_LAST = 0xFFFFFFFF  # the highest transaction number asked for: "all after"
_FINISH = "FinishTransaction"


class JournalFacts:
    """What one pass over the journal says (see the module text, 1)."""

    def __init__(self, journal):
        self.bon_nr = 0  # the highest receipt number given out, documented skips included
        self.z_nr = 0  # the last closing
        self.problems = []
        self.numbers = {}  # TSE serial -> highest transaction number in the journal
        self.counters = {}  # TSE serial -> highest signature counter in the journal
        self.documented = {}  # TSE serial -> transaction numbers a journal_mismatch documents
        self.serials = set()  # every TSE identity journaled ("tse" records)
        self.clients = set()  # every client id the register signed as (a serial changed between)
        self.deleted = {}  # TSE serial -> signature counter up to which the card's store was emptied
        self.mismatches = 0
        self.gaps = []  # [first, last] receipt numbers missing, not documented as lost yet
        self._gaps = []  # (first, last, where) of every jump in the receipt numbers
        self._explained = []  # [first, last] ranges a journal_mismatch documents as lost
        self._current = None  # the serial of records that name none (older tse_start records)
        for segment in journal.segments():
            for rec in journal.records(segment=segment):
                self._record(rec, segment)
        for first, last, where in self._gaps:
            if not any(a <= first and last <= b for a, b in self._explained):
                self.gaps.append([first, last])
                self.problems.append("%s: receipt number %d follows %d" % (where, last + 1, first - 1))

    def _note(self, serial, number, counter=0):
        if serial is None or not isinstance(number, int):
            return
        if number > self.numbers.get(serial, 0):
            self.numbers[serial] = number
        if isinstance(counter, int) and counter > self.counters.get(serial, 0):
            self.counters[serial] = counter

    def _signed(self, tse):
        if isinstance(tse, dict):
            self._note(tse.get("serial"), tse.get("number"), tse.get("counter"))
            if isinstance(tse.get("client_id"), str):
                self.clients.add(tse["client_id"])

    def _record(self, rec, segment):
        kind, data = rec["type"], rec["data"]
        where = "z%06d.log seq %d" % (segment, rec["seq"])
        if kind == "beleg":
            n = data.get("bon_nr")
            if not isinstance(n, int):
                self.problems.append("%s: a receipt without a receipt number" % where)
                return
            if n > self.bon_nr + 1:
                self._gaps.append((self.bon_nr + 1, n - 1, where))
            elif n <= self.bon_nr:
                self.problems.append("%s: receipt number %d again (after %d)" % (where, n, self.bon_nr))
            self.bon_nr = max(self.bon_nr, n)
            self._signed(data.get("tse"))
        elif kind == "tse_start":
            self._note(data.get("serial", self._current), data.get("number"))
        elif kind == "tse_late":
            self._signed(data.get("tse"))
        elif kind == "tse":
            self._current = data.get("serial")
            self.serials.add(self._current)
        elif kind == "tse_delete":
            self.deleted[data.get("serial")] = data.get("up_to") or 0
        elif kind == "closing":
            z = data.get("z_nr")
            if z != self.z_nr + 1 or z != segment:
                self.problems.append("%s: closing Z %s follows Z %d" % (where, z, self.z_nr))
            if isinstance(z, int):
                self.z_nr = max(self.z_nr, z)
        elif kind == "journal_mismatch":
            self.mismatches += 1
            skipped = data.get("bon_nr_skipped")
            if skipped:
                self.bon_nr = max(self.bon_nr, skipped[1])
            for missing in data.get("bon_nr_missing", ()):
                self._explained.append(missing)
            serial = data.get("tse_serial")
            for number in data.get("numbers", ()):
                self.documented.setdefault(serial, set()).add(number)
                self._note(serial, number)


class Report:
    def __init__(self):
        self.serial = None  # the fitted TSE's serial (hex), if it could be read
        self.problems = []
        self.unchecked = []
        self.lost = []  # TransactionLog of signed transactions the journal lacks
        self.compared = 0  # receipts compared with the card's logs (full)

    @property
    def ok(self):
        return not self.problems

    def summary(self):
        """One line for the console's ``status`` and the log."""
        if self.problems:
            more = " (+%d more)" % (len(self.problems) - 1) if len(self.problems) > 1 else ""
            return "MISMATCH: %s%s" % (self.problems[0], more)
        if self.serial is None:
            return "not reconciled (%s)" % ("; ".join(self.unchecked) or "no TSE")
        return "agrees with TSE %s..." % self.serial[:16]


async def _finish_logs(client, client_ids, first, last):
    """The card's FinishTransaction logs numbered ``first`` to ``last`` of the client ids
    ``client_ids`` (the card filters when there is one; transaction numbers are the card's,
    unique over all its clients)."""
    logs = []

    def keep(log, name):
        if log.operation == _FINISH and log.client_id in client_ids:
            logs.append(log)

    reader = ExportReader(keep)
    only = client_ids[0] if len(client_ids) == 1 else ""
    await client.export_tar(reader.feed, p.EXPORT_TRANSACTIONS, first, last, only)
    reader.close()
    return logs


def _hex(data):
    return binascii.hexlify(data).decode()


async def reconcile(journal, client, client_id, facts=None, full=False, progress=None):
    """Compare the journal with the fitted TSE (module text 2 and 3). A card that cannot be
    read leaves the comparison in ``unchecked``; TSE faults are never raised from here."""
    report = Report()
    facts = facts if facts is not None else JournalFacts(journal)
    report.problems.extend(journal.findings)
    report.problems.extend(facts.problems)
    if full:
        report.unchecked.append(
            "ECDSA signatures: not checked on the terminal; check them on a PC with"
            " python -m tools.audit verify-journal <journal folder>"
        )
    if client is None:
        report.unchecked.append("no TSE fitted")
        return report
    try:
        info = client.info()
        serial = _hex(info.serial)
        known = facts.counters.get(serial, 0)
        if info.created_signatures < known:
            report.problems.append(
                "the TSE has made %d signatures, but the journal holds its signature %d: the journal"
                " is not this card's, or the card was reset" % (info.created_signatures, known)
            )
        documented = facts.documented.get(serial, set())
        if full:
            upto = await _compare_all(journal, client, client_id, serial, facts, report, progress)
        else:
            upto = facts.numbers.get(serial, 0)
        for log in await _finish_logs(client, [client_id], upto + 1, _LAST):
            if log.number not in documented:
                report.lost.append(log)
        report.serial = serial
    except TseError as e:
        report.unchecked.append("the TSE could not be read (%s)" % e)
        return report
    if report.lost:  # a sale that finished while we asked the card is journaled by now
        now = _numbers_in(journal, journal.segment)
        report.lost = [log for log in report.lost if log.number not in now]
    if report.lost:
        report.problems.append(
            "the TSE signed %d transaction(s) of this register that the journal lacks: number %s"
            % (len(report.lost), ", ".join(str(log.number) for log in report.lost))
        )
    for other in sorted(facts.serials):
        if other != serial:
            report.unchecked.append("receipts signed by TSE %s...: that TSE is not fitted" % other[:16])
    return report


def _numbers_in(journal, segment):
    """The TSE transaction numbers of one segment's receipts: pending (journaled before the
    card is asked to finish), signed, signed late."""
    numbers = set()
    for rec in journal.records(segment=segment):
        data = rec["data"]
        if rec["type"] == "pending":
            numbers.add(data.get("number"))
        elif rec["type"] in ("beleg", "tse_late") and isinstance(data.get("tse"), dict):
            numbers.add(data["tse"].get("number"))
    return numbers


class _Period:
    """One period's signed receipts of one TSE, while they are compared with the card."""

    def __init__(self, serial, report):
        self.serial = serial
        self.report = report
        self.signed = {}  # transaction number -> (what, process_data, signature b64, counter)

    def receipt(self, bon):
        tse = bon.get("tse")
        if not isinstance(tse, dict):
            return
        what = "receipt %s" % bon.get("bon_nr")
        try:
            made = rebuild_process_data(bon["bon_typ"], bon["lines"], bon["payments"])
        except (KeyError, TypeError, ValueError) as e:
            self.report.problems.append("%s: not a whole receipt (%s)" % (what, e))
            return
        if made != tse.get("process_data"):
            self.report.problems.append(
                "%s: its lines and payments make %r, but %r was signed"
                % (what, made, tse.get("process_data"))
            )
        self.add(tse, what)

    def other(self, rec):
        if rec["type"] == "tse_late":
            self.add(rec["data"].get("tse") or {}, "late signature of receipt %s" % rec["data"].get("bon_nr"))

    def add(self, tse, what):
        if tse.get("serial") == self.serial and isinstance(tse.get("number"), int):
            entry = (what, tse.get("process_data"), tse.get("signature"), tse.get("counter"))
            self.signed[tse["number"]] = entry


def _same(entry, log, report):
    what, process_data, signature, counter = entry
    if log.process_data != (process_data or "").encode():
        report.problems.append(
            "%s: the journal says processData %r, the TSE signed %r (transaction %d)"
            % (what, process_data, log.process_data.decode(), log.number)
        )
    elif signature != b64(log.signature) or counter != log.counter:
        report.problems.append(
            "%s: signature or counter differ from the TSE's log of transaction %d" % (what, log.number)
        )
    report.compared += 1


async def _compare_all(journal, client, client_id, serial, facts, report, progress):
    """Module text 3. Returns the highest transaction number compared."""
    waiting = {}  # journal entries whose log did not come yet (signed late, in a later range)
    unmatched = {}  # card logs with no journal entry yet
    upto = 0
    clients = sorted(facts.clients | {client_id})  # every client id this register signed as
    for segment in journal.segments():
        period = _Period(serial, report)
        for bon in receipts(journal.records(segment=segment), period.other):
            period.receipt(bon)
        if not period.signed:
            continue
        last = max(period.signed)
        if last > upto:
            for log in await _finish_logs(client, clients, upto + 1, last):
                unmatched[log.number] = log
            upto = last
        for number, entry in period.signed.items():
            log = unmatched.pop(number, None)
            if log is None:
                waiting[number] = entry
            else:
                _same(entry, log, report)
        for number in [n for n in waiting if n in unmatched]:
            _same(waiting.pop(number), unmatched.pop(number), report)
        if progress is not None:
            await progress(segment, report.compared)
    documented = facts.documented.get(serial, set())
    for number in sorted(unmatched):
        if number not in documented:
            report.lost.append(unmatched[number])
    deleted_upto = facts.deleted.get(serial, 0)
    gone = [n for n, e in waiting.items() if isinstance(e[3], int) and e[3] <= deleted_upto]
    if gone:
        report.unchecked.append(
            "%d receipt(s) signed before the card's store was emptied (up to signature %d): their"
            " logs are in the kept TSE exports, not on the card" % (len(gone), deleted_upto)
        )
    for number in sorted(waiting):
        if number not in gone:
            report.problems.append(
                "%s: the TSE has no FinishTransaction %d for it" % (waiting[number][0], number)
            )
    return upto


def record_lost(journal, report, facts, clock_now):
    """Journal what ``report.lost`` found, once (``journal_mismatch``). The lost Vorgänge had
    the receipt numbers missing from the journal (``bon_nr_missing``: the gaps), or, lost from
    its end, the next ones, which are skipped (``bon_nr_skipped``). Returns the record's data,
    or None if nothing was lost."""
    if not report.lost:
        return None
    gaps = facts.gaps
    rest = len(report.lost) - sum(b - a + 1 for a, b in gaps)
    data = {
        "cause": "signed by the TSE, missing from the journal",
        "found": clock_now,
        "tse_serial": report.serial,
        "numbers": [log.number for log in report.lost],
        "transactions": [
            {
                "number": log.number,
                "counter": log.counter,
                "log_time": log.log_time,
                "process_type": log.process_type,
                "process_data": log.process_data.decode(),
            }
            for log in report.lost
        ],
    }
    if gaps:
        data["bon_nr_missing"] = gaps
    if rest > 0:
        data["bon_nr_skipped"] = [facts.bon_nr + 1, facts.bon_nr + rest]
        facts.bon_nr += rest
    journal.append("journal_mismatch", data)
    for log in report.lost:
        facts.documented.setdefault(report.serial, set()).add(log.number)
    return data
