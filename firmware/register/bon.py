"""The receipt being rung up (a DSFinV-K "Bon"): lines, discounts, payments. Pure domain.

    bon = Bon(master)
    bon.add_plu("1001", qty=2000)          # quantities in thousandths: 2 pieces
    bon.add_weighed("2001", grams=350)
    bon.line_discount(1, percent=1000)     # 10 % off line 1 (hundredths of a percent)
    bon.pay("Bar", 2000)                   # cash given
    record = bon.settle()                  # payments, change, VAT table; ValueError if unpaid

Every line carries its GV_TYP (Umsatz, Rabatt, Pfand, PfandRueckzahlung,
MehrzweckgutscheinKauf, MehrzweckgutscheinEinloesung, TrinkgeldAN, and the cash movements)
and its USt-Schlüssel. Invariants:

1. Lines are never removed: a void appends a negative copy marked ``storno`` (P_STORNO),
   together with the voided line's discounts and deposit, so the receipt shows what happened.
2. The total is the sum of all line amounts; VAT is split per key on receipt level.
3. A line's amount is ``price * quantity`` rounded half-up to the cent, once, when the line is made.
4. Vouchers (Mehrzweckgutschein) and tips are not taxable: USt-Schlüssel 5.
5. Cash may exceed what is due (change is given in cash); other payments may not.
"""

from core.money import div_half_up, whole
from firmware.fiscal.processdata import kassenbeleg_v1
from firmware.register.limits import MAX_AMOUNT, MAX_PRICE, MAX_QTY
from firmware.register.vat import rate, slots, vat_table

BELEG = "Beleg"
TRAINING = "AVTraining"
ABORT = "AVBelegabbruch"

UMSATZ = "Umsatz"
RABATT = "Rabatt"
PFAND = "Pfand"
PFAND_RUECK = "PfandRueckzahlung"
GUTSCHEIN_KAUF = "MehrzweckgutscheinKauf"
GUTSCHEIN_EINLOESUNG = "MehrzweckgutscheinEinloesung"
TRINKGELD = "TrinkgeldAN"
CASH_MOVEMENTS = (
    "Anfangsbestand",
    "Einzahlung",
    "Auszahlung",
    "Privatentnahme",
    "Privateinlage",
    "Geldtransit",
    "DifferenzSollIst",
)

# ZAHLART_TYP (DSFinV-K Anhang D) and how the TSE's processData names them.
PAYMENT_TYPES = {
    "Bar": "Bargeld",
    "Unbar": "Unbar",
    "ECKarte": "EC-Karte",
    "Kreditkarte": "Kreditkarte",
    "ElZahlungsdienstleister": "Elektronischer Zahlungsdienstleister",
    "Guthabenkarte": "Guthabenkarte",
    "Keine": "Keine",
}
NOT_TAXABLE = 5


class Bon:
    def __init__(self, master, bon_typ=BELEG):
        if bon_typ not in (BELEG, TRAINING):
            raise ValueError("a receipt is rung up as Beleg or AVTraining, not %r" % (bon_typ,))
        self.master = master
        self.bon_typ = bon_typ
        self.lines = []
        self.payments = []
        self.cards = []  # card authorisations (masked, for the audit): payment.emv.kernel.Outcome.record
        self.customer = None  # the loyalty customer: {"card", "name", "points", "redeemed", "balance"}
        self.references = []
        self.name = ""

    # --- lines ----------------------------------------------------------------------------

    def _line(self, gv_typ, text, qty, price, amount, vat_key, **extra):
        rate(vat_key)
        if abs(amount) > MAX_AMOUNT or abs(self.total + amount) > MAX_AMOUNT:
            raise ValueError("a line or a receipt is at most %s cents" % MAX_AMOUNT)
        line = {
            "pos": len(self.lines) + 1,
            "gv_typ": gv_typ,
            "text": text,
            "qty": qty,
            "price": price,
            "amount": amount,
            "vat_key": vat_key,
            "storno": False,
        }
        for key, value in extra.items():
            if value not in (None, ""):
                line[key] = value
        self.lines.append(line)
        return line

    def _article_line(self, art, qty, price, gv_typ=UMSATZ):
        if not whole(qty) or qty == 0 or abs(qty) > MAX_QTY:
            raise ValueError("quantity must be a non-zero whole number of thousandths, at most %d" % MAX_QTY)
        if price is None:
            if art.open_price:
                raise ValueError("%s has no fixed price: type the price" % art.name)
            price = art.price
        elif not whole(price) or not 0 <= price <= MAX_PRICE:
            raise ValueError("price must be whole cents from 0 to %d" % MAX_PRICE)
        amount = div_half_up(price * qty, 1000)
        line = self._line(
            gv_typ,
            art.name,
            qty,
            price,
            amount,
            art.vat_key,
            plu=art.plu,
            gtin=art.gtin,
            group_id=art.group_id,
            group=self.master.group_name(art.group_id),
            unit=art.unit,
        )
        if art.deposit_plu and gv_typ == UMSATZ:
            dep = self.master.article(art.deposit_plu)
            units = qty // 1000 if qty % 1000 == 0 else (1 if qty > 0 else -1)
            self._line(
                PFAND,
                dep.name,
                units * 1000,
                dep.price,
                dep.price * units,
                dep.vat_key,
                plu=dep.plu,
                ref_pos=line["pos"],
            )
        return line

    def add_plu(self, plu, qty=1000, price=None):
        art = self.master.article(plu)
        if art.weighed:
            raise ValueError("%s is weighed: put it on the scale" % art.name)
        return self._article_line(art, qty, price)

    def add_barcode(self, gtin, qty=1000):
        art = self.master.by_gtin(gtin)
        return self.add_plu(art.plu, qty)

    def add_weighed(self, plu, grams):
        art = self.master.article(plu)
        if not art.weighed:
            raise ValueError("%s is not sold by weight" % art.name)
        if not isinstance(grams, int) or grams <= 0:
            raise ValueError("weight must be whole grams > 0")
        return self._article_line(art, grams, None)

    def add_open(self, group_id, vat_key, price, text=None, qty=1000):
        """A line whose price is typed (open price / Warengruppe key)."""
        if not whole(price) or price < 0:
            raise ValueError("price must be whole cents >= 0")
        group = self.master.group_name(group_id)
        if not group:
            raise ValueError("unknown product group %r" % (group_id,))
        return self._line(
            UMSATZ,
            text or group,
            qty,
            price,
            div_half_up(price * qty, 1000),
            vat_key,
            group_id=group_id,
            group=group,
        )

    def add_return(self, plu, qty=1000):
        """Goods taken back: a negative line (and its deposit back)."""
        return self.add_plu(plu, -abs(qty))

    def pfand_refund(self, plu, units=1):
        """Empties brought back: PfandRueckzahlung of the deposit article ``plu``."""
        dep = self.master.article(plu)
        if dep.price is None or units <= 0:
            raise ValueError("deposit refund needs a priced deposit article and units > 0")
        return self._line(
            PFAND_RUECK, dep.name, -units * 1000, dep.price, -dep.price * units, dep.vat_key, plu=dep.plu
        )

    def sell_voucher(self, amount, number):
        self._positive(amount)
        return self._line(
            GUTSCHEIN_KAUF, "Gutschein %s" % number, 1000, amount, amount, NOT_TAXABLE, voucher=number
        )

    def redeem_voucher(self, amount, number):
        self._positive(amount)
        return self._line(
            GUTSCHEIN_EINLOESUNG, "Gutschein %s" % number, 1000, -amount, -amount, NOT_TAXABLE, voucher=number
        )

    def add_tip(self, amount):
        self._positive(amount)
        return self._line(TRINKGELD, "Trinkgeld", 1000, amount, amount, NOT_TAXABLE)

    @staticmethod
    def _positive(amount):
        if not whole(amount) or amount <= 0:
            raise ValueError("amount must be whole cents > 0")

    def _get(self, pos):
        if not isinstance(pos, int) or not 1 <= pos <= len(self.lines):
            raise ValueError("no line %r" % (pos,))
        line = self.lines[pos - 1]
        if line["storno"] or self._voided(pos):
            raise ValueError("line %d is voided" % pos)
        return line

    def _voided(self, pos):
        return any(other["storno"] and other.get("ref_pos") == pos for other in self.lines)

    def void(self, pos):
        """Positionsstorno: the line, its discounts and its deposit are cancelled by negative copies."""
        line = self._get(pos)
        followers = [other for other in self.lines if other.get("ref_pos") == pos and not other["storno"]]
        for target in [line] + followers:
            copy = dict(target)
            copy["pos"] = len(self.lines) + 1
            copy["qty"] = -target["qty"]
            copy["amount"] = -target["amount"]
            copy["storno"] = True
            copy["ref_pos"] = target["pos"]
            self.lines.append(copy)

    def line_discount(self, pos, percent=None, amount=None):
        """A Rabatt line on line ``pos``: ``percent`` in hundredths of a percent, or ``amount`` cents."""
        line = self._get(pos)
        if line["gv_typ"] != UMSATZ or line["amount"] <= 0:
            raise ValueError("only a sold article can be discounted")
        cut = self._discount(line["amount"], percent, amount)
        return self._line(RABATT, "Rabatt %s" % line["text"], 1000, -cut, -cut, line["vat_key"], ref_pos=pos)

    def receipt_discount(self, percent=None, amount=None, text="Rabatt auf den Bon"):
        """Rabatt on everything sold, split over the VAT keys in proportion to their goods
        (``text``: what the lines say, e.g. loyalty points redeemed)."""
        base = {}
        for line in self.lines:
            if line["gv_typ"] in (UMSATZ, RABATT):
                base[line["vat_key"]] = base.get(line["vat_key"], 0) + line["amount"]
        total = sum(v for v in base.values() if v > 0)
        if total <= 0:
            raise ValueError("nothing to discount")
        cut = self._discount(total, percent, amount)
        keys = sorted(k for k in base if base[k] > 0)
        shares = {k: div_half_up(cut * base[k], total) for k in keys}
        largest = max(keys, key=lambda k: base[k])
        shares[largest] += cut - sum(shares.values())  # rounding rest: no cent lost or made
        return [self._line(RABATT, text, 1000, -shares[k], -shares[k], k) for k in keys if shares[k]]

    @staticmethod
    def _discount(base, percent, amount):
        if (percent is None) == (amount is None):
            raise ValueError("give a percent or an amount")
        if percent is not None:
            if not isinstance(percent, int) or not 0 < percent <= 10000:
                raise ValueError("percent is hundredths of a percent, 1..10000")
            return div_half_up(base * percent, 10000)
        if not whole(amount) or not 0 < amount <= base:
            raise ValueError("a discount must be more than 0 and at most %d cents" % base)
        return amount

    # --- totals ---------------------------------------------------------------------------

    @property
    def total(self):
        return sum(line["amount"] for line in self.lines)

    def gross_by_key(self):
        return gross_by_key(self.lines)

    # --- payment --------------------------------------------------------------------------

    @property
    def paid(self):
        return sum(p["amount"] for p in self.payments)

    def pay(self, zahlart, amount, name=None, card=None):
        """Record a payment (cash given, card amount...). Only cash may exceed what is due.
        ``card``: what the card terminal approved (masked PAN, AID, cryptogram...), kept with
        the receipt for the audit."""
        if zahlart not in PAYMENT_TYPES:
            raise ValueError("unknown payment type %r" % (zahlart,))
        if not whole(amount) or amount == 0 or abs(amount) > MAX_AMOUNT:
            raise ValueError("a payment is a non-zero whole number of cents, at most %d" % MAX_AMOUNT)
        due = self.total - self.paid
        if (amount > 0) != (due > 0):
            raise ValueError("nothing of that sign is due (due: %d)" % due)
        if zahlart != "Bar" and abs(amount) > abs(due):
            raise ValueError("only cash can exceed the amount due")
        self.payments.append({"typ": zahlart, "name": name or PAYMENT_TYPES[zahlart], "amount": amount})
        if card is not None:
            self.cards.append(dict(card, amount=amount))

    def settle(self):
        """``(payments, given, change)``: what was paid, net of change. ValueError if not paid."""
        total = self.total
        paid = self.paid
        if (total >= 0 and paid < total) or (total < 0 and paid != total):
            raise ValueError("%d cents still due" % (total - paid))
        change = paid - total
        given = sum(p["amount"] for p in self.payments if p["typ"] == "Bar")
        if change > 0 and change > given:
            raise ValueError("change can only be given from cash")
        merged = {}
        for p in self.payments:
            key = (p["typ"], p["name"])
            merged[key] = merged.get(key, 0) + p["amount"]
        if change:
            merged[("Bar", PAYMENT_TYPES["Bar"])] -= change
        payments = [{"typ": t, "name": n, "amount": a} for (t, n), a in merged.items() if a]
        payments.sort(key=lambda p: (p["typ"] != "Bar", p["typ"]))
        return payments, given, change

    def process_data(self, bon_typ=None, payments=None):
        """processData ``Kassenbeleg-V1`` of this receipt (DSFinV-K Anhang I)."""
        return process_data(bon_typ or self.bon_typ, self.lines, payments or [])

    def record(self, payments, given=0, change=0, bon_typ=None):
        """The receipt's data for the journal (without number, times and TSE data)."""
        out = {
            "bon_typ": bon_typ or self.bon_typ,
            "bon_name": self.name,
            "lines": self.lines,
            "payments": payments,
            "given": given,
            "change": change,
            "total": self.total,
            "vat": [list(row) for row in vat_table(self.gross_by_key())],
            "references": self.references,
        }
        if self.cards:
            out["cards"] = self.cards
        if self.customer is not None:
            out["kunde"] = self.customer
        return out


def gross_by_key(lines):
    """Gross amount per USt-Schlüssel over ``lines``, keys that sum to zero left out."""
    out = {}
    for line in lines:
        out[line["vat_key"]] = out.get(line["vat_key"], 0) + line["amount"]
    return {k: v for k, v in out.items() if v}


def process_data(bon_typ, lines, payments):
    """processData ``Kassenbeleg-V1`` of a receipt's lines and (settled) payments."""
    pay = [(p["amount"], "Bar" if p["typ"] == "Bar" else "Unbar") for p in payments]
    return kassenbeleg_v1(bon_typ, slots(gross_by_key(lines)), pay)


def cash_movement(master, gv_typ, amount, text=None):
    """A Bon for cash put in or taken out: Anfangsbestand, Einzahlung, Privatentnahme..."""
    if gv_typ not in CASH_MOVEMENTS:
        raise ValueError("unknown cash movement %r" % (gv_typ,))
    if not whole(amount) or amount == 0:
        raise ValueError("amount must be non-zero whole cents (negative: money leaves the drawer)")
    bon = Bon(master)
    bon._line(gv_typ, text or gv_typ, 1000, amount, amount, NOT_TAXABLE)
    bon.pay("Bar", amount)
    return bon


def storno_of(master, record):
    """A new Beleg cancelling an earlier one: every line and payment negated, with a reference.

    (DSFinV-K: with a TSE, AVBelegstorno cannot be used correctly; a Storno is a new Beleg with
    reversed signs and a Bon_Referenzen entry of type Transaktion.)"""
    bon = Bon(master)
    for line in record["lines"]:
        copy = dict(line)
        copy["pos"] = len(bon.lines) + 1
        copy["qty"] = -line["qty"]
        copy["amount"] = -line["amount"]
        copy.pop("ref_pos", None)
        bon.lines.append(copy)
    for p in record["payments"]:
        bon.payments.append({"typ": p["typ"], "name": p["name"], "amount": -p["amount"]})
    bon.references.append(
        {
            "ref_typ": "Transaktion",
            "ref_name": "Storno",
            "ref_z_nr": record["z_nr"],
            "ref_bon_id": record["bon_id"],
            "ref_datum": record["end"],
        }
    )
    bon.name = "Storno zu Bon %d" % record["bon_nr"]
    return bon
