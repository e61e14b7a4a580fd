"""The card terminal's messages to the acquirer, in the journal (device code): so a power cut
neither loses an approval nor leaves money taken for a sale that never was.

    ledger = CardLedger(journal)
    acquirer = Acquirer(..., ledger=ledger)
    acquirer.stan, acquirer.owed = ledger.open()     # at boot: the last trace number, and the
                                                     # reversals the journal says are owed

Records (fsync'd before the message goes):

- ``card_sent`` ``{"mti", "fields"}``: every message to the acquirer without its card data
  (``payment.acquirer.KEPT``: no PAN, expiry, PSN, PIN block or ICC data), fields by number
  as text;
- ``card_settled`` ``{"stan", "how"}``: the request ``stan`` needs no reversal (``declined``
  by the issuer, ``reversed`` and confirmed by the host).

A card payment in a receipt carries its request's trace number (``cards[].trace``); the
receipt is journaled (``pending``) before the TSE signs it, and a pending receipt is completed
at boot (``Till.recover``). So at boot a 0100 or 0200 that is neither settled nor carried by a
journaled receipt may have been approved for a sale that never was recorded: it is owed a
reversal. That is the decision for a power cut between the approval and the sale's record:
the money goes back; once the receipt is in the journal, the sale stands.
"""

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
            elif kind == "pending" or (kind == "beleg" and "pending" not in data):
                for card in data.get("bon", data).get("cards", ()):
                    if "trace" in card:
                        done.add(card["trace"])
        return last, [r for r in requests if r[1][11] not in done]
