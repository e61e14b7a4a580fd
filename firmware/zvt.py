"""ZVT in the terminal (device code): the sale's card payments through an external payment
terminal, and our own card terminal as a PT that another register drives.

    ext = External(board.get("zvt_terminal"), journal, log)
    await ext.recover()                          # at boot: a request whose result was lost
    card, why = await ext.pay(cents, show)       # the card record for the receipt, or (None, why)

    pt = PtBackend(terminal, journal, tid)       # payment.zvt.pt's backend: our kernel, acquirer
    server = PtServer(pt, password, log)

The journal before the wire (PAYMENTS.md, pitfall 1: a terminal approves and the register
never hears of it). Records, each fsync'd before what it announces:

- ``zvt_sent`` ``{"command", "amount"}``: an Authorization or Refund is about to go to the
  external terminal; its ``seq`` is the request's reference (the card record's ``zvt_ref``);
- ``zvt_settled`` ``{"ref", "how", "code"}``: that request paid nothing (``declined``: the
  terminal said so; ``unpaid``: the result was lost and Repeat Receipt showed no payment of
  it; ``reversed``: it was approved but no receipt took it, so it went back);
- ``zvt_pt`` ``{record}``: a payment, refund or reversal our PT side made for an external
  register, once that register took it (our PT's turnover store: Reversal by receipt number,
  Repeat Receipt, End-of-Day);
- ``zvt_pt_close`` ``{"totals"}``: the external register's End-of-Day.

A lost result (the line dropped or T4 ran out after the terminal took the command) is asked
for at once with Repeat Receipt: the terminal resends its last Status Information; if that is an
approval of this amount with a receipt number no journaled payment has, the sale takes it. If
the terminal cannot be reached, the request stays open: before the next payment and at boot it is
asked again, and an approval no receipt carries is reversed (06 30, by its receipt number) — the
same decision as the acquirer link's for a power cut between approval and receipt.
"""

import asyncio

from core.calendar import local_fields
from core.errors import DeviceError, ProtocolError
from core.money import format_cents
from firmware.cardledger import cards_of, end_of_day
from firmware.receipts import CUSTOMER, MERCHANT, slip, to_text
from payment.zvt import messages as m
from payment.zvt.ecr import Ecr, Result

CARD_WAIT_MS = 60000  # how long our PT waits for the customer's card
_POLL_S = 0.2


def _card(result, ref):
    """The receipt's card record from the external terminal's Status Information."""
    s = result.status
    name, zahlart = m.CARDS.get(s.get("card_type"), (s.get("card_name") or "Karte", "Unbar"))
    card = {
        "via": "zvt",
        "zvt_ref": ref,
        "result": "approved",
        "label": s.get("card_name") or name,
        "scheme": name,
        "zahlart": zahlart,
        "entry": "contactless" if s.get("technology") == "contactless" else "chip",
        "lines": [lines for _, lines in result.lines],
    }
    for key, theirs in (
        ("pan", "pan"),
        ("aid", "aid"),
        ("pt_trace", "trace"),
        ("pt_receipt", "receipt_no"),
        ("tid", "tid"),
        ("vu", "vu"),
        ("auth_code", "auth_code"),
        ("cardholder", "cvm"),
    ):
        if s.get(theirs) not in (None, ""):
            card[key] = s[theirs]
    return card


class External:
    def __init__(self, device, journal, log, on_status=None):
        self.device = device
        self.journal = journal
        self.log = log
        self.ecr = Ecr(device.connect, device.password, device.t3_ms, device.t4_ms, on_status, log)
        self.registered = False
        self.open = None  # (ref, command, cents) of a request whose outcome is not known
        self._known = set()  # the terminal's receipt numbers journaled receipts carry

    def load(self, records):
        """The request still open and the receipt numbers already taken, from the journal."""
        sent, done = None, set()
        for rec in records:
            kind, data = rec["type"], rec["data"]
            if kind == "zvt_sent":
                sent = (rec["seq"], data["command"], data["amount"])
            elif kind == "zvt_settled":
                done.add(data["ref"])
            else:
                for card in cards_of(rec):
                    if "zvt_ref" in card:
                        done.add(card["zvt_ref"])
                        self._known.add(card.get("pt_receipt"))
        self.open = sent if sent is not None and sent[0] not in done else None

    def _settle(self, ref, how, code=0):
        self.journal.append("zvt_settled", {"ref": ref, "how": how, "code": code})
        self.open = None

    async def register(self):
        """Registration once (again after the terminal forgot it): None, or why it failed."""
        if self.registered:
            return None
        result = await self.ecr.register()
        if not result.ok:
            return "Terminal %s: %s" % (self.device.where, result.text)
        self.registered = True
        return None

    async def _ask_again(self, command, cents):
        """Repeat Receipt after a lost result: the terminal's Result for this request, a
        not-ok Result when it shows no payment of it, None when it cannot be reached."""
        again = await self.ecr.repeat_receipt()
        if again.lost or (not again.ok and again.code == m.COMMUNICATION):
            return None
        s = again.status
        if again.ok and s is not None and s.get("amount") == cents and s.get("receipt_no") not in self._known:
            return again
        return Result(False, again.code or m.TIMEOUT_OR_ABORT, "keine Zahlung am Terminal")

    async def recover(self):
        """Settle the request left open (boot, or before the next payment). True when none is."""
        if self.open is None:
            return True
        ref, command, cents = self.open
        why = await self.register()
        if why is not None:
            return False
        result = await self._ask_again(command, cents)
        if result is None:
            return False
        if not result.ok:
            self._settle(ref, "unpaid", result.code)
            return True
        receipt_no = result.status.get("receipt_no")
        back = await self.ecr.reverse(receipt_no)
        if not back.ok and back.code != m.ALREADY_REVERSED:
            self.log.warning("zvt: reversal of receipt %s not done: %s", receipt_no, back.text)
            return False
        self.log.warning("zvt: payment %s (receipt %s) had no sale: reversed", ref, receipt_no)
        self._settle(ref, "reversed")
        return True

    async def pay(self, cents, refund=False):
        """``(card record, "")`` for the receipt, or ``(None, why)``: nothing was paid."""
        if not await self.recover():
            return None, "Terminal: letzte Zahlung ungeklärt, bitte Terminal prüfen"
        why = await self.register()
        if why is not None:
            return None, why
        command = "refund" if refund else "authorization"
        ref = self.journal.append("zvt_sent", {"command": command, "amount": cents})["seq"]
        self.open = (ref, command, cents)
        result = await (self.ecr.refund(cents) if refund else self.ecr.pay(cents))
        if result.lost:
            self.log.warning("zvt: the result of %s was lost (%s): asking again", command, result.text)
            again = await self._ask_again(command, cents)
            if again is None:
                return None, "Ergebnis nicht empfangen: wird am Terminal geklärt"
            result = again
        if not result.ok or result.status is None:
            if result.code == 0x6B:  # the terminal forgot our Registration (it restarted)
                self.registered = False
            self._settle(ref, "declined", result.code)
            return None, result.text
        card = _card(result, ref)
        self._known.add(card.get("pt_receipt"))
        self.open = None  # the receipt about to be journaled carries it
        return card, ""


# --- our PT side ---------------------------------------------------------------------------------

# CVM Results (9F34) byte 1 -> ZVT's cardholder authentication (TLV 1F10)
_CVMS = {
    0x01: "offline plaintext PIN",
    0x02: "online PIN",
    0x03: "offline plaintext PIN and signature",
    0x04: "offline enciphered PIN",
    0x05: "offline enciphered PIN and signature",
    0x1E: "signature",
    0x1F: "none",
}


class PtBackend:
    """The terminal behind our PT side (``payment.zvt.pt``)."""

    def __init__(self, terminal, journal, tid, version):
        self.term = terminal
        self.journal = journal
        self.tid = tid
        self.version = version
        acquirer = terminal.acquirer
        self.vu = acquirer.merchant_id if acquirer is not None else ""
        self.turnover = []  # the records since the last End-of-Day
        self.number = 0  # the last receipt number given out
        self._last = None

    def load(self, records):
        for rec in records:
            if rec["type"] == "zvt_pt":
                self._take(rec["data"])
            elif rec["type"] == "zvt_pt_close":
                self.turnover = []

    def _take(self, record):
        self.number = max(self.number, record["receipt_no"])
        self._last = record
        if record["kind"] == "reversal":
            for old in self.turnover:
                if old["receipt_no"] == record["reverses"]:
                    old["reversed"] = True
        self.turnover.append(record)

    def last(self):
        return self._last

    def _stamp(self, record):
        y, mo, d, h, mi, s = local_fields(self.term.clock.now())
        self.number = self.number % 9999 + 1
        record.update(
            receipt_no=self.number,
            turnover_no=self.number,
            tid=self.tid,
            vu=self.vu,
            time="%02d%02d%02d" % (h, mi, s),
            date="%02d%02d" % (mo, d),
            at=self.term.clock.now(),
        )
        record.setdefault("trace", "%06d" % self.number)
        return record

    async def _wait_card(self, session):
        waited = 0
        while waited < CARD_WAIT_MS and not session.cancelled.is_set():
            reader = await self.term.card_reader()
            if reader is not None:
                return reader
            try:
                await asyncio.wait_for(session.cancelled.wait(), _POLL_S)
            except asyncio.TimeoutError:
                pass
            waited += int(_POLL_S * 1000)
        return None

    async def pay(self, cents, refund, session):
        term = self.term
        if term.paying:  # our own cashier's card payment has the card reader
            return {"result": 0xA0, "amount": cents}
        term.external = term.paying_cents = cents
        term.paying = True
        term.notify()
        try:
            return await self._pay(cents, refund, session)
        finally:
            term.paying = False
            term.external = None
            term.notify()

    async def _pay(self, cents, refund, session):
        from payment.emv import kernel

        term = self.term
        what = "Gutschrift %s EUR" if refund else "Betrag %s EUR"
        await term.show(what % format_cents(cents), "Karte bitte")
        term.say("Zahlung für externe Kasse: %s EUR" % format_cents(cents))
        await session.say(m.INSERT_CARD)
        reader = await self._wait_card(session)
        if reader is None:
            await term.show("Abgebrochen")
            return {"result": m.TIMEOUT_OR_ABORT, "amount": cents}
        await session.say(m.PLEASE_WAIT)
        try:
            outcome = await term.run_kernel(reader, cents, refund)
        except (DeviceError, ProtocolError) as e:
            await term.unpaid()
            term.say("Karte: %s" % e)
            await term.show("Karte: Fehler")
            return {"result": 0x64, "amount": cents}
        if outcome.result != kernel.APPROVED:
            await term.unpaid()
            await term.show("Abgelehnt", outcome.reason)
            return {"result": 0x05, "amount": cents, "text": outcome.reason}
        card = outcome.record()
        record = {
            "result": m.OK,
            "kind": "refund" if refund else "payment",
            "amount": cents,
            "pan": card.get("pan", ""),
            "card_type": m.SCHEME_CARD.get(card.get("scheme")),
            "card_name": card.get("label", ""),
            "aid": card.get("aid", ""),
            "auth_code": card.get("auth_code", ""),
            "technology": "contactless" if reader.caps.contactless else "chip",
            "payment_type": 0x60 if card.get("trace") else 0x40,
            "card": dict(card, entry="contactless" if reader.caps.contactless else "chip"),
        }
        if card.get("trace"):
            record["trace"] = record["online_trace"] = card["trace"]
        code = int(card.get("cvm", "3F0000")[:2], 16) & 0x3F
        if card.get("cvm"):
            record["cvm"] = "none" if card.get("cdcvm") else _CVMS.get(code, "unknown")
            if code in (0x01, 0x02, 0x04):
                record["payment_type"] = 0x70
        await term.show("Gutschrift erfolgt" if refund else "Zahlung erfolgt", format_cents(cents) + " EUR")
        return self._stamp(record)

    async def booked(self, record):
        """The external register took the payment: it stands, in our PT's turnover."""
        self.journal.append("zvt_pt", record)
        self._take(record)
        if record["kind"] != "reversal" and self.term.acquirer is not None:
            self.term.acquirer.booked()

    async def undo(self, record):
        if record["kind"] != "reversal":
            await self.term.unpaid()

    async def reverse(self, receipt_no, session):
        old = None
        for rec in self.turnover:
            if rec["receipt_no"] == receipt_no and rec["kind"] != "reversal":
                old = rec
        if old is None:
            return {"result": m.NO_REVERSAL}
        if old.get("reversed"):
            return {"result": m.ALREADY_REVERSED}
        acquirer = self.term.acquirer
        if old.get("online_trace") and acquirer is not None:
            original = self._request(old["online_trace"])
            if original is not None and not await acquirer.reverse(original[1], original[0]):
                self.term.owe_reversal()  # the host did not confirm: it is sent again until it does
        record = dict(old, kind="reversal", was=old["kind"], reverses=receipt_no, original_trace=old["trace"])
        record["online"] = bool(old.get("online_trace"))
        for key in ("trace", "online_trace", "reversed"):
            record.pop(key, None)
        self.term.say("Storno für externe Kasse: Beleg %d" % receipt_no)
        return self._stamp(record)

    def _request(self, trace):
        """The acquirer request ``trace`` as the journal kept it: ``(mti, fields)``."""
        for rec in self.journal.records():
            data = rec["data"]
            if rec["type"] == "card_sent" and data["fields"].get("11") == trace:
                return data["mti"], {int(n): v for n, v in data["fields"].items()}
        return None

    async def end_of_day(self, session):
        """Our PT's End-of-Day for the external register: its turnover's total, and our
        acquirer's end of day (the 0500 counts every card payment this terminal made)."""
        net = 0
        for rec in self.turnover:
            if rec["kind"] == "payment" and not rec.get("reversed"):
                net += rec["amount"]
            elif rec["kind"] == "refund" and not rec.get("reversed"):
                net -= rec["amount"]
        if self.term.acquirer is not None:
            closed = await end_of_day(self.journal, self.term.acquirer, self.term.clock)
            if closed is None:
                return {"result": m.COMMUNICATION}
        totals = {"count": len(self.turnover), "net": net}
        self.journal.append("zvt_pt_close", {"totals": totals})
        self.turnover = []
        return {"result": m.OK, "amount": abs(net), "kind": "end of day", "totals": totals}

    def slip(self, record, copy, width):
        """The receipt's text lines for the external register's printer."""
        if record.get("kind") == "end of day":
            t = record["totals"]
            return ["Kassenschnitt", "Zahlungen: %d" % t["count"], "Summe EUR %s" % format_cents(t["net"])]
        copy = MERCHANT if copy == 1 else CUSTOMER
        return to_text(self._doc(record, copy, width)).rstrip("\n").split("\n")

    def _doc(self, record, copy, width):
        card = dict(record["card"], tid=self.tid, trace=record["trace"] if "trace" in record else "")
        card["amount"] = -record["amount"] if record["kind"] == "refund" else record["amount"]
        if record["kind"] == "reversal":
            card["reversal"] = True
        bon = {"end": record["at"], "bon_nr": record["receipt_no"]}
        return slip(bon, card, copy, self.term.till.master, width, self.term.simulation)

    def print(self, record):
        """The external register does not print: our printer prints both copies (the
        End-of-Day's report once)."""
        width = self.term.columns()
        if record.get("kind") == "end of day":
            doc = [("line", text, "") for text in self.slip(record, MERCHANT, width)] + [("cut", "", "")]
        else:
            doc = self._doc(record, MERCHANT, width) + self._doc(record, CUSTOMER, width)
        self.term.enqueue(0, doc)
