"""Loyalty points (device code): earned per whole euro paid, redeemed as a discount on the
receipt, every balance derived from the receipts themselves.

    book = PointsBook(master.loyalty)
    book.load(receipts(journal.records()))     # at boot
    book.balance("4000-1001")                  # points now
    kunde = book.entry(account, paid=1250, redeemed=100)   # what the receipt carries: "kunde"
    book.add(record)                           # a journaled receipt's "kunde" applied

A receipt with a loyalty customer carries ``kunde`` ``{"card", "name", "points", "redeemed",
"balance"}`` (points earned on it, points redeemed, the balance after it) in its journal record,
written before the TSE signs it, with the rest of the receipt: a power cut cannot book points
without their receipt or a receipt without its points. The balance is the sum over the journal's
receipts (``points - redeemed``); nothing else holds it. The DSFinV-K export puts the card and
the name in KUNDE_ID and KUNDE_NAME; the redeemed points are a Rabatt line like any receipt
discount.
"""


class PointsBook:
    def __init__(self, loyalty):
        self.loyalty = loyalty
        self.balances = {}

    def load(self, receipts):
        for record in receipts:
            self.add(record)

    def add(self, record):
        kunde = record.get("kunde")
        if kunde is not None and record.get("bon_typ") == "Beleg":
            card = kunde["card"]
            self.balances[card] = self.balances.get(card, 0) + kunde["points"] - kunde["redeemed"]

    def balance(self, card):
        return self.balances.get(card, 0)

    def points(self, paid):
        """Points for ``paid`` cents: per whole euro (nothing for a return)."""
        return max(0, paid) // 100 * self.loyalty.points_per_euro

    def entry(self, account, paid, redeemed):
        earned = self.points(paid)
        return {
            "card": account.card,
            "name": account.name,
            "points": earned,
            "redeemed": redeemed,
            "balance": self.balance(account.card) - redeemed + earned,
        }
