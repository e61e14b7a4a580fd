"""The card terminal's messages to the acquirer, in the journal (device code): so a power cut
neither loses an approval nor leaves money taken for a sale that never was.

    ledger = CardLedger(journal)
    acquirer = Acquirer(..., ledger=ledger)
    acquirer.stan, acquirer.owed = ledger.open()     # at boot: the last trace number, and the
                                                     # reversals the journal says are owed
    b = batch(journal.records())                     # card payments since the last end of day

Records (fsync'd before the message goes):

- ``card_sent`` ``{"mti", "fields"}``: every message to the acquirer without its card data
  (``payment.acquirer.KEPT``: no PAN, expiry, PSN, PIN block or ICC data), fields by number
  as text;
- ``card_settled`` ``{"stan", "how"}``: the request ``stan`` needs no reversal (``declined``
  by the issuer, ``reversed`` and confirmed by the host);
- ``card_close`` ``{"totals", "code", "host"}``: the end of day (``payment close``): the
  terminal's batch, the host's response code (``00`` it agreed, ``95`` it did not) and its
  totals. The next batch starts after it.

A card payment in a receipt carries its request's trace number (``cards[].trace``); the
receipt is journaled (``pending``) before the TSE signs it, and a pending receipt is completed
at boot (``Till.recover``). So at boot a 0100 or 0200 that is neither settled nor carried by a
journaled receipt may have been approved for a sale that never was recorded: it is owed a
reversal. That is the decision for a power cut between the approval and the sale's record:
the money goes back; once the receipt is in the journal, the sale stands.
"""

from core.calendar import local_fields
from firmware.journal import receipts
from payment.acquirer import Ledger

_REQUESTS = ("0100", "0200")


class CardLedger(Ledger):
    def __init__(self, journal):
        self.journal = journal

    def sent(self, mti, fields):
        self.journal.append("card_sent", {"mti": mti, "fields": {str(n): v for n, v in fields.items()}})

    def settled(self, stan, how):
        self.journal.append("card_settled", {"stan": stan, "how": how})

    def open(self):
        """``(last trace number, [(mti, kept fields), ...] owed a reversal)`` from one pass."""
        last, requests, done = 0, [], set()
        for rec in self.journal.records():
            kind, data = rec["type"], rec["data"]
            if kind == "card_sent":
                fields = {int(n): v for n, v in data["fields"].items()}
                last = int(fields[11])
                if data["mti"] in _REQUESTS:
                    requests.append((data["mti"], fields))
            elif kind == "card_settled":
                done.add(data["stan"])
            elif kind == "zvt_pt":  # our PT side's payment for an external register
                if data.get("online_trace"):
                    done.add(data["online_trace"])
            else:
                for card in cards_of(rec):
                    if "trace" in card:
                        done.add(card["trace"])
        return last, [r for r in requests if r[1][11] not in done]


def cards_of(rec):
    """The card payments of a journal record that holds a whole receipt (``pending``, or a
    ``beleg`` written without one): at boot a pending receipt counts, since ``Till.recover``
    completes it."""
    kind, data = rec["type"], rec["data"]
    if kind == "pending":
        return data["bon"].get("cards", ())
    if kind == "beleg" and "pending" not in data:
        return data.get("cards", ())
    return ()


def _empty():
    return {"schemes": {}, "debits": [0, 0], "credits": [0, 0], "offline": [0, 0]}


def _add(row, amount):
    row[0] += 1
    row[1] += amount


def batch(records):
    """The card payments of the receipts (``Beleg``, whole as ``journal.receipts`` gives them,
    as the X and Z reports count them) since the last ``card_close``:
    ``{"schemes": {scheme: [n, cents]}, "debits": [n, cents], "credits": [n, cents],
    "offline": [n, cents]}``. ``debits`` (payments) and ``credits`` (refunds, negative amounts
    in the receipt, counted positive) are what went online and so what the host booked;
    ``offline`` the approvals the card gave itself (TC), which no host has seen. The schemes'
    sum is the receipts' card total, as the X and Z reports show it."""
    totals = _empty()

    def closing(rec):  # journal.receipts shows it every other record: a closing starts anew
        nonlocal totals
        if rec["type"] == "card_close":
            totals = _empty()
        elif rec["type"] == "zvt_pt":  # paid through our PT side for an external register
            _external(totals, rec["data"])

    for bon in receipts(records, closing):
        if bon["bon_typ"] != "Beleg":
            continue
        for card in bon.get("cards", ()):
            if card.get("via") in (None, "cpm"):  # ours; the external terminal's, the wallet
                _count(totals, card)  # host's and a transfer are not this acquirer's
    return totals


def _external(totals, record):
    """A ``zvt_pt`` record in the batch: a payment or refund as the receipts' are counted; a
    reversal takes its original back out (the host drops a reversed request from its totals)."""
    kind, sign = record["kind"], 1
    if kind == "reversal":
        kind, sign = record["was"], -1
    amount = -record["amount"] if kind == "refund" else record["amount"]
    row = totals["schemes"].setdefault(record["card"].get("scheme", ""), [0, 0])
    row[0] += sign
    row[1] += sign * amount
    online = record.get("online_trace") or record.get("online")
    row = totals["offline"] if not online else totals["credits"] if amount < 0 else totals["debits"]
    row[0] += sign
    row[1] += sign * (abs(amount) if online else amount)


def _count(totals, card):
    amount = card["amount"]
    _add(totals["schemes"].setdefault(card.get("scheme", ""), [0, 0]), amount)
    if "trace" not in card:
        _add(totals["offline"], amount)
    elif amount < 0:
        _add(totals["credits"], -amount)
    else:
        _add(totals["debits"], amount)


async def end_of_day(journal, acquirer, clock):
    """The card terminal's end of day: the batch to the acquirer as a 0500, then ``card_close``
    journaled. ``(totals, code, host)``, or None when the host did not answer (nothing closed)."""
    totals = batch(journal.records())
    _, mo, d, h, mi, s = local_fields(clock.now())
    answer = await acquirer.close(totals, "%02d%02d%02d" % (h, mi, s), "%02d%02d" % (mo, d))
    if answer is None:
        return None
    host = {
        "debits": [int(answer.get(76, "0")), int(answer.get(88, "0"))],
        "credits": [int(answer.get(74, "0")), int(answer.get(86, "0"))],
    }
    code = answer[39]
    journal.append("card_close", {"totals": totals, "code": code, "host": host, "time": clock.now()})
    return totals, code, host
