"""The terminal at work: the till with its peripherals (device code).

    term = Terminal(till, board, log, clock)
    await term.plu("1001")            # rung up; the customer display shows it
    await term.scan(symbol)           # a scanned Symbol (or the scanner's ScanError)
    await term.pay_cash(2000)         # signed, journaled, then printed and the drawer opened
    await term.pay_card()             # the card in the reader is read (PAN masked)
    term.state()                      # what the operator screen shows
    await term.run()                  # scanner and device tasks, until stopped

Order of things (KassenSichV): a receipt is printed and the drawer opened only after the
Vorgang is signed and journaled (``Till.finish``). A printer that is offline, out of paper
or open does not stop the sale: the receipt waits in the print queue and is printed when the
printer is ready again (the journal keeps it for a reprint in any case, also after a power
cut). A drawer left open longer than ``drawer_warn_s`` gives a warning. Scans that are
garbage or partial are shown as a message and ring nothing up.

Nothing the cashier does waits for a peripheral: receipts and drawer pulses are handed to the
device task, which also asks the printer and the drawer for their status every ``period``;
a device that does not answer is asked again after 1, 2, 4 ... up to 30 s (``Backoff``), and
a new receipt is a reason to try at once. The customer display takes its text in its own
writer task (hal/display.py).
"""

import asyncio
import os

from core.calendar import local_fields
from core.errors import DeviceError, EcrError, ProtocolError
from core.money import format_cents
from firmware.journal import receipts
from firmware.receipts import payment_slips, receipt, to_escpos, to_text
from firmware.register.bon import TRAINING
from firmware.reports import charts, report, totals
from hal.drawer import DrawerWatch
from hal.scale import ScaleError
from hal.scanner import ScanError
from payment.qr.wallet import kind
from tse_sd.errors import TseError

MESSAGES = 6


def _percent():
    """1..99 for the kernel's random transaction selection."""
    return os.urandom(1)[0] % 99 + 1


class Backoff:
    """When to ask a device again: at once while it answers; after ``failed()`` in 1 s, then
    2, 4 ... up to ``limit_ms``; ``ok()`` starts over."""

    def __init__(self, clock, limit_ms=30000):
        self.clock = clock
        self.limit_ms = limit_ms
        self.delay_ms = 0
        self._at = None

    def due(self):
        return self._at is None or self.clock.ticks_diff(self.clock.ticks_ms(), self._at) >= 0

    def ok(self):
        self.delay_ms = 0
        self._at = None

    def failed(self):
        self.delay_ms = min(max(self.delay_ms * 2, 1000), self.limit_ms)
        self._at = self.clock.ticks_ms() + self.delay_ms


class Terminal:
    def __init__(
        self, till, board, log, clock, drawer_warn_s=30, service=None, emv=None, ca_keys=None, acquirer=None
    ):
        self.till = till
        self.emv = emv  # payment.emv.config.Terminal: the card applications accepted
        self.ca_keys = ca_keys or {}  # payment.emv.capk: the CA keys offline data authentication uses
        self.acquirer = acquirer  # payment.acquirer.Acquirer, or None: offline only
        # The CA key store holds test keys only (payment.emv.capk refuses live ones in this
        # firmware): every card slip says SIMULATION.
        self.simulation = True
        self.board = board
        self.log = log
        self.clock = clock
        self.service = service
        self.queue = []  # (bon_nr, receipt document) waiting for the printer, oldest first
        self.messages = []
        self.last_receipt = ""
        self.watch = DrawerWatch(drawer_warn_s)
        self.drawer_open = None
        self.printer_problems = []
        self.card = None  # the last card read (masked)
        self.last_scan = None  # (Symbol, time) of the last good scan: the console's ``test scan``
        self._tse_read = None  # ticks of the last TSE status read for the operator screen
        self._printer_backoff = Backoff(clock)
        self._drawer_backoff = Backoff(clock)
        self._unopened = {}  # device name -> why it could not be opened, as last said
        self._kick = False  # a drawer pulse asked for, not yet sent
        self._wake = asyncio.Event()  # the device task has something to do now
        self._stop = asyncio.Event()
        self._owed = asyncio.Event()  # a reversal the acquirer has not confirmed waits
        self.training = False  # the next receipts are AVTraining
        self.shown = ("Willkommen", "", 0)  # the customer's last prompt, and when (ticks)
        self.tse_wait_ms = None  # a TSE command longer than this (a cloud's round trip): "Bitte warten"
        self.paying = False  # a card payment is under way: the customer follows its prompts
        self.paying_cents = 0  # what it is for (the PIN pad's prompt shows it)
        self.external = None  # cents an external register pays through our PT side (ZVT), or None
        self.zvt = None  # firmware.zvt.External: the external payment terminal, or None
        self.card_terminal = "integrated"  # which pays card payments: "integrated" or "external"
        self.qr = None  # firmware.qrpay.QrPayments, or None: no QR payments
        self.showing = None  # (text, caption) of the QR code on the customer screen, or None
        self._qr_task = None  # the merchant-presented code's wait for the phone
        self._qr_cancel = None
        self.outbox = None  # firmware.digital.outbox.Outbox: digital receipts, or None: paper only
        self.receipt_client = None  # its ReceiptClient (the receipt server)
        self.receipt_how = "paper"  # how the next receipt is issued: paper, digital, both, none
        self.issued = None  # the last digital receipt issued: {"id", "url", "how", "bon_nr"}
        self._uploads = asyncio.Event()  # a digital receipt waits for the receipt server
        self.points = None  # firmware.digital.loyalty.PointsBook, or None: no loyalty scheme
        self.customer = None  # the loyalty Account of the sale under way (its card was scanned)
        self.redeemed = 0  # points redeemed on it
        self.store = None  # firmware.storelink.StoreLink: the store server
        self._watchers = []
        self.signed_on = False  # an operator signed on at the touch screen

    def _device(self, name):
        """The board's device ``name``, or None; why it cannot be opened is said once."""
        if not self.board.has(name):
            return None
        try:
            device = self.board.get(name)
        except EcrError as e:
            if self._unopened.get(name) != str(e):
                self._unopened[name] = str(e)
                self.say("%s: %s" % (name, e))
            return None
        self._unopened.pop(name, None)
        return device

    def say(self, text):
        self.log.info("operator: %s", text)
        self.messages.append(text)
        del self.messages[:-MESSAGES]
        self.notify()

    def subscribe(self):
        """An event set whenever what the screens show may have changed (each screen its own)."""
        event = asyncio.Event()
        self._watchers.append(event)
        return event

    def notify(self):
        for event in self._watchers:
            event.set()

    async def show(self, top, bottom=""):
        """What the customer is told now: the DM-D display's two lines; the customer panel
        (ui/touch.py) reads ``shown``."""
        self.shown = (top, bottom, self.clock.ticks_ms())
        self.notify()
        display = self._device("display")
        if display is not None:
            try:
                await display.show(top, bottom)
            except DeviceError as e:
                self.log.warning("%s", e)

    async def _signing(self, work):
        """``await work``, in which the TSE may sign; when that takes longer than ``tse_wait_ms``
        the customer reads "Bitte warten" until it is done (what comes next is shown after; a
        refused line puts back what was there)."""
        if self.tse_wait_ms is None:
            return await work
        before, shown = self.shown[:2], []
        notice = asyncio.create_task(self._wait_notice(shown))
        try:
            result = await work
        except Exception:
            await self._notice_done(notice, shown)
            if shown:
                await self.show(*before)
            raise
        await self._notice_done(notice, shown)
        return result

    async def _wait_notice(self, shown):
        await asyncio.sleep(self.tse_wait_ms / 1000)
        shown.append(True)
        self.log.info("TSE slower than %d ms: the customer is asked to wait", self.tse_wait_ms)
        await self.show("Bitte warten", "TSE signiert ...")

    @staticmethod
    async def _notice_done(notice, shown):
        if shown:
            await notice  # on its way to the display: finished, not cut off mid-command
        else:
            notice.cancel()

    # --- ringing up ------------------------------------------------------------------------

    def _qr_waits(self):
        """Our code is on the customer screen for the amount due: the sale stays as it is until
        the phone paid or the cashier stopped it ("QR abbrechen")."""
        if self._qr_task is None:
            return False
        self.say("QR-Zahlung läuft: erst bezahlen lassen oder QR abbrechen")
        return True

    async def _add(self, entry, *args):
        till = self.till
        if self._qr_waits():
            return None
        if self.showing is not None and self._qr_task is None:  # a GiroCode of the last sale
            self.showing = None
        try:
            if self.training and not till.open_sale:
                till.open_bon(TRAINING)
            line = await self._signing(till.ring(entry, *args))  # the first line starts the TSE's
        except (ValueError, KeyError) as e:
            if till.open_sale and not till.sale()["lines"]:
                await till.abort()  # a training receipt opened for a refused first line
            self.say(str(e.args[0]) if e.args else str(e))
            return None
        if isinstance(line, list):  # a receipt discount: a line per VAT rate
            line = {"text": "Rabatt auf den Bon", "amount": sum(ln["amount"] for ln in line)}
        await self.show(line["text"], format_cents(line["amount"]) + " EUR")
        return line

    async def plu(self, code, qty=1000):
        return await self._add("add_plu", code, qty)

    async def barcode(self, gtin):
        return await self._add("add_barcode", gtin)

    async def scan(self, item):
        """A scanner result: an article's GTIN rings it up; a payment code from the customer's
        app pays the open sale (firmware/qrpay.py); anything else is a message."""
        if isinstance(item, ScanError):
            self.say("Scan abgelehnt: %s" % item)
            return None
        self.last_scan = (item, self.clock.now())
        if self.points is not None and self.till.master.loyalty.account(item.text) is not None:
            return await self.set_customer(item.text)
        if self.till.open_sale and kind(item.text) is not None:
            return await self.pay_qr(item.text)
        if item.symbology not in ("EAN13", "EAN8"):
            self.say("%s-Code gelesen, kein Artikel: %s" % (item.symbology, item.text[:40]))
            return None
        return await self.barcode(item.text)

    async def give_back(self, code, qty=1000):
        """Goods brought back (a negative line, its deposit too): paid out in cash or to a card."""
        return await self._add("add_return", code, qty)

    async def weighed(self, code, grams=None):
        """A weighed article: ``grams`` typed, or (None) what the board's scale weighs now."""
        if grams is None:
            scale = self._device("scale")
            if scale is None:
                self.say("keine Waage: bitte das Gewicht eingeben")
                return None
            try:
                grams = await scale.weight()
            except ScaleError as e:
                self.say("%s: bitte erneut wiegen oder das Gewicht eingeben" % e)
                return None
        return await self._add("add_weighed", code, grams)

    async def open_price(self, code, price, qty=1000):
        """An open-price article (its PLU names the group and VAT) at a typed price."""
        return await self._add("add_plu", code, qty, price)

    async def pfand(self, code, units):
        """Empties brought back: the deposit of ``units`` of deposit article ``code`` paid back."""
        return await self._add("pfand_refund", code, units)

    async def discount(self, pos=None, percent=None, cents=None):
        """A discount of the typed percent (hundredths) or cents: on line ``pos``, or the receipt."""
        if not self.till.open_sale:
            self.say("kein offener Bon")
            return None
        if pos is None:
            return await self._add("receipt_discount", percent, cents)
        return await self._add("line_discount", pos, percent, cents)

    async def voucher(self, sell, cents, number):
        return await self._add("sell_voucher" if sell else "redeem_voucher", cents, number)

    async def tip(self, cents):
        return await self._add("add_tip", cents)

    # --- the operator and the other Vorgänge -------------------------------------------------

    def sign_on(self, operator_id, pin):
        """The operator who works the till from now: their number and PIN (a wrong one changes
        nothing). Not while a receipt is open: it belongs to who began it."""
        till = self.till
        if till.open_sale:
            raise ValueError("erst den offenen Bon abschließen")
        try:
            op = till.master.operator(operator_id)
        except ValueError:
            op = None
        if op is None or not op.check(pin):
            self.log.warning("sign-on refused for operator %r", operator_id)
            raise ValueError("Bediener oder PIN falsch")
        till.operator = op
        self.signed_on = True
        self.say("angemeldet: %s" % op.name)

    def sign_off(self):
        if self.till.open_sale:
            raise ValueError("erst den offenen Bon abschließen")
        self.signed_on = False
        self.say("abgemeldet: %s" % self.till.operator.name)

    def set_training(self, on):
        """Training mode: every receipt from now is an AVTraining (marked, signed, never counted)."""
        if self.till.open_sale:
            raise ValueError("erst den offenen Bon abschließen")
        self.training = bool(on)
        self.say("Training an: keine echten Umsätze" if on else "Training aus")

    async def _whole(self, fn, *args):
        """A Vorgang of its own (cash movement, Storno): signed, journaled, printed."""
        return self._recorded(await fn(*args), drawer=True)

    def _recorded(self, record, drawer):
        """A Vorgang the Till signed and journaled: a failed signature said, the drawer opened
        (before the receipt: the cashier gives change while it prints), the receipt issued as
        the customer asked (``set_receipt``): printed, and/or its code on the customer screen."""
        if record.get("tse_failure"):
            self.say("Bon %d ohne TSE-Signatur: %s" % (record["bon_nr"], record["tse_failure"]))
        if drawer:
            self.open_drawer()
        how, self.receipt_how = self.receipt_how, "paper"
        issued = how in ("digital", "both") and self._issue(record, how)
        if how == "none":
            self.till.journal.append("receipt_issue", {"bon_nr": record["bon_nr"], "how": "none"})
        elif how != "digital" or not issued:  # digital only: the printer is not used
            self.print_receipt(record)
        return record

    def set_receipt(self, how):
        """How the next receipt is issued (the customer's choice, asked at paying): ``paper``,
        ``digital`` (the code on the customer screen, no paper), ``both``, ``none`` (the receipt
        is made and journaled; nobody takes it)."""
        if how in ("digital", "both") and self.outbox is None:
            self.say("Digitaler Bon ist nicht eingerichtet")
            return False
        self.receipt_how = how
        self.notify()
        return True

    def _issue(self, record, how):
        """The receipt sealed and its URL shown: a failure here prints the receipt instead."""
        account = None
        if record.get("kunde"):  # into the loyalty customer's list: the key wrapped to the account
            known = self.till.master.loyalty.account(record["kunde"]["card"])
            if known is not None:
                account = (known.account, known.public_key)
        try:
            issued = self.outbox.issue(record, self.till.master, how, account)
        except (OSError, ValueError) as e:
            self.log.error("digital receipt %d not issued: %s", record["bon_nr"], e)
            self.say("Digitaler Bon nicht möglich: Beleg wird gedruckt")
            return False
        issued["bon_nr"] = record["bon_nr"]
        self.issued = issued
        self.showing = (issued["url"], "Ihr digitaler Bon: mit der Kamera scannen")
        self.say("Bon %d digital ausgegeben" % record["bon_nr"])
        self._uploads.set()
        self.notify()
        return True

    async def movement(self, kind, cents, text=None):
        """Cash put in (positive) or taken out: Einzahlung, Auszahlung, Geldtransit..."""
        record = await self._whole(self.till.cash, kind, cents, text)
        self.say("%s %s EUR gebucht (Bon %d)" % (kind, format_cents(cents), record["bon_nr"]))
        return record

    async def storno(self, bon_nr):
        record = await self._whole(self.till.storno, bon_nr)
        self.say("Bon %d storniert mit Bon %d" % (bon_nr, record["bon_nr"]))
        return record

    def reprint(self, bon_nr):
        """A copy of an earlier receipt, marked as one; journaled."""
        record = self.till.reprint(bon_nr)
        doc = receipt(record, self.till.master, self.columns(), reprint=True)
        self.enqueue(record["bon_nr"], doc)
        self.say("Kopie von Bon %d gedruckt" % bon_nr)

    def drawer(self, reason):
        """The drawer opened without a sale: journaled with the reason and who opened it."""
        self.till.journal.append("drawer", {"reason": reason, "operator": self.till.operator.id})
        self.open_drawer()
        self.say("Lade geöffnet: %s" % reason)

    def recent(self, n=20):
        """The period's latest receipts for a Storno or a copy, newest first:
        [bon_nr, "HH:MM", total, type]."""
        out = []
        for bon in receipts(self.till.journal.records(segment=self.till.z_nr)):
            _, _, _, h, mi, _ = local_fields(bon["end"])
            out.append([bon["bon_nr"], "%02d:%02d" % (h, mi), bon["total"], bon["bon_typ"]])
        return out[::-1][:n]

    def x_report(self, printed=False):
        """The open period's totals and charts; ``printed``: on the printer too."""
        records = self.till.journal.records
        t = totals(records(segment=self.till.z_nr))
        pictures = charts(records(segment=self.till.z_nr))
        if printed:
            doc = report("X", t, self.till.master, self.columns(), pictures=pictures)
            self.enqueue(None, doc)
        return t, pictures

    async def z_close(self, counts):
        """The Z closing with the cash counted by denomination ({cents: pieces}); printed."""
        count = sorted(([cents, pieces] for cents, pieces in counts.items() if pieces), reverse=True)
        counted = sum(cents * pieces for cents, pieces in count)
        pictures = charts(self.till.journal.records(segment=self.till.z_nr))
        closing = await self.till.close_day(counted, count)
        doc = report("Z", closing["totals"], self.till.master, self.columns(), closing, pictures)
        self.enqueue(None, doc)
        self.say(
            "Z-Bon Nr. %d: gezählt %s EUR, Differenz %s EUR"
            % (closing["z_nr"], format_cents(counted), format_cents(closing["difference"]))
        )
        return closing

    async def void(self, pos):
        if self._qr_waits():
            return
        if not self.till.open_sale:
            self.say("kein offener Bon")
            return
        try:
            self.till.void(pos)
        except ValueError as e:
            self.say(str(e))

    async def abort(self):
        if self._qr_waits():
            return None
        if not self.till.open_sale:
            self.say("kein offener Bon")
            return None
        record = await self.till.abort()
        self.customer, self.redeemed = None, 0
        await self.show("Abgebrochen")
        return record

    # --- paying ----------------------------------------------------------------------------

    async def pay_cash(self, given=None):
        """Cash; ``given`` cents handed over (``None``: exactly the total)."""
        till = self.till
        if self._qr_waits():
            return None
        if not till.open_sale:
            self.say("kein offener Bon")
            return None
        try:
            till.pay("Bar", till.due if given is None else given)
        except ValueError as e:
            self.say(str(e))
            return None
        if till.due > 0:
            self.say("noch %s EUR fällig" % format_cents(till.due))
            await self.show("Noch zu zahlen", format_cents(till.due) + " EUR")
            return None
        return await self._finish(cash=True)

    async def pay_card(self, terminal=None):
        """The card pays what is due. ``terminal`` (default: the configured one) ``integrated``:
        the card in our reader, the EMV kernel (payment/emv/kernel.py) with the board's PIN pad;
        ``external``: the external ZVT terminal (firmware/zvt.py), its receipt lines printed
        with ours. Approved, it is booked with its scheme's payment type and the approval goes
        into the journal with the receipt. Meanwhile ``paying``: the customer screen follows
        the card's prompts."""
        terminal = terminal or self.card_terminal
        if self._qr_waits():
            return None
        if terminal == "external" and self.zvt is None:
            self.say("kein externes Kartenterminal eingerichtet")
            return None
        if self.paying:
            self.say("Bitte warten: eine Kartenzahlung läuft")
            return None
        self.paying = True
        try:
            return await (self._pay_external() if terminal == "external" else self._pay_card())
        finally:
            self.paying = False
            self.notify()

    async def _pay_external(self):
        till = self.till
        if not till.open_sale:
            self.say("kein offener Bon")
            return None
        due = till.due
        if due == 0:
            self.say("nichts mit Karte zu zahlen")
            return None
        refund = due < 0
        amount = -due if refund else due
        self.paying_cents = amount
        await self.show(
            ("Gutschrift %s EUR" if refund else "Betrag %s EUR") % format_cents(amount), "Karte bitte"
        )
        card, why = await self.zvt.pay(amount, refund)
        if card is None:
            self.say("Kartenterminal: %s" % why)
            await self.show("Abgelehnt", why)
            return None
        zahlart = card.pop("zahlart")
        self.card = card
        till.pay(zahlart, due, card["label"], card=card)
        done = "Gutschrift erfolgt" if refund else "Zahlung erfolgt"
        self.say("Karte %s %s: %s (Kartenterminal)" % (card["label"], card.get("pan", ""), done))
        await self.show(done, format_cents(amount) + " EUR")
        return await self._finish(cash=False)

    def _due(self):
        """What is due on the open sale, or None (said why)."""
        if not self.till.open_sale:
            self.say("kein offener Bon")
            return None
        due = self.till.due
        if due <= 0:
            self.say("nichts zu zahlen")
            return None
        if self.paying or self._qr_task is not None:
            self.say("Bitte warten: eine Zahlung läuft")
            return None
        if self.qr is None:
            self.say("QR-Zahlung ist nicht eingerichtet")
            return None
        return due

    async def _paid(self, card, zahlart, due, why):
        """A QR payment's outcome: booked and the sale finished, or said why not."""
        if card is None:
            self.say("QR-Zahlung: %s" % why)
            await self.show("Abgelehnt", why)
            return None
        self.card = card
        self.till.pay(zahlart, due, card["label"], card=card)
        shown = card.get("pan") or card.get("token")
        self.say("%s: Zahlung erfolgt" % (card["label"] + (" " + shown if shown else "")))
        await self.show("Zahlung erfolgt", format_cents(due) + " EUR")
        record = await self._finish(cash=False)
        if card.get("via") == "cpm" and self.acquirer is not None:
            self.acquirer.booked()
        return record

    async def pay_qr(self, text):
        """The code the customer's app shows (scanned) pays what is due."""
        due = self._due()
        if due is None:
            return None
        self.paying, self.paying_cents = True, due
        await self.show("QR-Zahlung", format_cents(due) + " EUR")
        try:
            card, zahlart, why = await self.qr.scanned(text, due)
        finally:
            self.paying = False
            self.notify()
        return await self._paid(card, zahlart, due, why)

    def show_qr(self):
        """Our code on the customer screen for what is due; the phone pays it through the
        wallet host, and the sale is finished when the host says so (``cancel_qr`` stops).
        Returns the task that waits for it (its result: the receipt, or None), or None."""
        due = self._due()
        if due is None:
            return None
        self._qr_cancel = asyncio.Event()
        self._qr_task = asyncio.create_task(self._pay_shown(due))
        return self._qr_task

    async def _pay_shown(self, due):
        try:
            card, zahlart, why = await self.qr.shown(due, self._qr_cancel)
            return await self._paid(card, zahlart, due, why)
        finally:
            self._qr_task = None
            self.notify()

    def cancel_qr(self):
        if self._qr_cancel is None or self._qr_task is None:
            self.say("kein QR-Code angezeigt")
            return False
        self._qr_cancel.set()
        return True

    async def pay_transfer(self):
        """The customer pays by SEPA transfer from the phone: the GiroCode on the customer
        screen; the sale is booked as awaiting the transfer (Unbar), not as paid."""
        due = self._due()
        if due is None:
            return None
        if not self.qr.cfg["iban"]:
            self.say("keine IBAN für Überweisungen eingerichtet")
            return None
        text = "Bon %s" % (self.till.last_bon_nr + 1)
        code = self.qr.transfer_code(due, text)
        card = {"via": "transfer", "result": "awaiting", "label": "SEPA-Überweisung", "girocode": code}
        self.till.pay("Unbar", due, "Überweisung (offen)", card=card)
        self.say("Überweisung %s EUR erwartet (GiroCode auf dem Kundendisplay)" % format_cents(due))
        record = await self._finish(cash=False)
        self.showing = (code, "Überweisung %s EUR: mit der Banking-App scannen" % format_cents(due))
        self.notify()
        return record

    # --- loyalty -----------------------------------------------------------------------------

    async def set_customer(self, card):
        """A loyalty card (scanned, or its number typed): the sale's points go to its account,
        and its digital receipt into the account's list (paper becomes paper and digital)."""
        if self.points is None:
            self.say("kein Kundenprogramm eingerichtet")
            return None
        account = self.till.master.loyalty.account(card)
        if account is None:
            self.say("Kundenkarte %s unbekannt" % card)
            return None
        self.customer, self.redeemed = account, 0
        if self.receipt_how == "paper" and self.outbox is not None:
            self.receipt_how = "both"
        balance = self.points.balance(account.card)
        self.say("Kunde %s: %d Punkte" % (account.name, balance))
        await self.show("Hallo " + account.name, "%d Punkte" % balance)
        return account

    async def redeem(self, points):
        """``points`` of the customer's balance off this receipt, as a Rabatt line (its VAT split
        over the rates like any receipt discount)."""
        if self.customer is None:
            self.say("erst die Kundenkarte scannen")
            return None
        if not self.till.open_sale or (self.till.due or 0) <= 0:
            self.say("kein offener Bon zum Einlösen")
            return None
        left = self.points.balance(self.customer.card) - self.redeemed
        if points > left:
            self.say("nur %d Punkte auf dem Konto" % left)
            return None
        cents = points * self.till.master.loyalty.cents_per_point
        line = await self._add("receipt_discount", None, cents, "Punkte eingelöst (%d)" % points)
        if line is not None:
            self.redeemed += points
        return line

    def _customer_entry(self):
        """The receipt about to be finished gets the customer's points (``kunde``)."""
        if self.customer is None or self.till.due is None:
            return
        bon = self.till.sale()
        self.till.set_customer(self.points.entry(self.customer, bon["total"], self.redeemed))

    async def zvt_status(self, code, text):
        """The external terminal's prompt, on the customer display."""
        await self.show(text or "Bitte warten", format_cents(self.paying_cents) + " EUR")

    async def _pay_card(self):
        till = self.till
        if not till.open_sale:
            self.say("kein offener Bon")
            return None
        if self.emv is None:
            self.say("Kartenzahlung ist nicht eingerichtet")
            return None
        due = till.due
        if due == 0:
            self.say("nichts mit Karte zu zahlen")
            return None
        refund = due < 0  # a return: the money goes back to the card
        amount = -due if refund else due
        self.paying_cents = amount
        what = "Gutschrift %s EUR" if refund else "Betrag %s EUR"
        await self.show(what % format_cents(amount), "Karte bitte")
        try:
            reader = await self.card_reader()
            if reader is None:
                self.say("keine Karte: bitte Karte stecken oder auflegen")
                return None
            await self.show("Bitte warten", format_cents(amount) + " EUR")
            outcome = await self.run_kernel(reader, amount, refund)
        except (DeviceError, ProtocolError) as e:
            await self.unpaid()  # an issuer's approval, if one came, pays nothing
            self.say("Karte: %s" % e)
            await self.show("Karte: Fehler", "bitte erneut")
            return None
        from payment.emv import kernel

        self.card = outcome.record()
        self.card["entry"] = "contactless" if reader.caps.contactless else "chip"
        if self.acquirer is not None:
            self.card["tid"] = self.acquirer.terminal_id
        if outcome.result != kernel.APPROVED:
            await self.unpaid()
            if outcome.result == kernel.TRY_ANOTHER_INTERFACE:
                self.say("Bitte Karte einstecken (%s)" % outcome.reason)
                await self.show("Bitte Karte", "einstecken")
            else:
                self.say("Karte abgelehnt: %s" % outcome.reason)
                await self.show("Abgelehnt", outcome.reason)
            return None
        aid = outcome.terminal_aid
        till.pay(aid.zahlart, due, aid.name or self.card["label"], card=self.card)
        done = "Gutschrift erfolgt" if refund else "Zahlung erfolgt"
        self.say("Karte %s %s: %s" % (self.card["label"], self.card["pan"], done))
        await self.show(done, format_cents(amount) + " EUR")
        record = await self._finish(cash=False)
        if self.acquirer is not None:
            self.acquirer.booked()  # journaled with the receipt: the approval stands
        return record

    def owe_reversal(self):
        """A reversal the acquirer did not confirm waits: the acquirer task sends it again."""
        self._owed.set()

    async def unpaid(self):
        """No sale takes the card payment: an issuer's approval for it is reversed (a reversal
        the host does not confirm is sent again by ``_acquirer_loop``)."""
        if self.acquirer is not None and self.acquirer.approval is not None:
            if not await self.acquirer.reverse_approval():
                self.owe_reversal()

    async def run_kernel(self, reader, amount, refund=False):
        from payment.emv.dol import bcd
        from payment.emv.kernel import Purchase, transaction
        from payment.emv.restrictions import PURCHASE, REFUND
        from payment.emv.runner import run

        y, mo, d, h, mi, s = local_fields(self.clock.now())
        date, time = bcd((y % 100) * 10000 + mo * 100 + d, 3), bcd(h * 10000 + mi * 100 + s, 3)
        txn = Purchase(amount, date, os.urandom(4), _percent, time, REFUND if refund else PURCHASE)
        pinpad = self._device("pinpad")
        if pinpad is not None:
            pinpad.on_event = self._pin_event
        await reader.power_on()
        try:
            step = transaction(self.emv, txn, reader.caps.contactless, self.ca_keys)
            return await run(step, reader, pinpad, self.acquirer)
        finally:
            await reader.power_off()
            if pinpad is not None:
                pinpad.clear()

    async def _pin_event(self, kind, value):
        """What the PIN pad tells the customer display (never a digit)."""
        banner = "SIMULATION-keine PIN" if getattr(self._device("pinpad"), "simulation", False) else ""
        if kind == "enter":
            await self.show("PIN eingeben", banner or format_cents(self.paying_cents) + " EUR")
        elif kind == "digits":
            await self.show("PIN: " + "*" * value, banner)
        elif kind == "choose":  # a card with several applications: the customer picks by number
            self.say("Karte: Anwendung wählen (%s)" % ", ".join(value))
            await self.show(
                " ".join("%d %s" % (i + 1, label) for i, label in enumerate(value)), "Bitte wählen"
            )
        elif kind == "wrong":
            self.say("PIN falsch, noch %d Versuch(e)" % value)
            await self.show("PIN falsch", "noch %d Versuche" % value)

    async def card_reader(self):
        """The slot with a card in it: contactless first (the usual case), then the chip."""
        for name in ("contactless_reader", "card_reader"):
            reader = self._device(name)
            if reader is not None and await reader.present():
                return reader
        return None

    async def _finish(self, cash):
        self._customer_entry()
        record = await self._signing(self.till.finish())
        if self.points is not None:
            self.points.add(record)
        self.customer, self.redeemed = None, 0
        if record.get("change"):
            await self.show("Rückgeld", format_cents(record["change"]) + " EUR")
        else:
            await self.show("Danke!", format_cents(record["total"]) + " EUR")
        return self._recorded(record, cash and record["bon_typ"] != TRAINING)  # training: no money

    # --- printer and drawer ------------------------------------------------------------------

    def print_receipt(self, record):
        """Queue the receipt for the printer (the sale is complete either way), and after it
        what each card payment prints (``firmware.receipts.payment_slips``)."""
        width = self.columns()
        doc = receipt(record, self.till.master, width)
        doc += payment_slips(record, self.till.master, width, self.simulation)
        self.enqueue(record["bon_nr"], doc)

    def enqueue(self, bon_nr, doc):
        self.last_receipt = to_text(doc)
        self.queue.append((bon_nr, doc))
        self._printer_backoff.ok()  # a new receipt: try the printer now, whatever it did before
        self._wake.set()

    def columns(self):
        printer = self._device("printer")
        return printer.caps.columns if printer is not None else 42

    async def flush_queue(self):
        """Print what waits if the printer is ready; a printer that does not answer is asked
        again later (back-off)."""
        printer = self._device("printer")
        if printer is None or not self.queue:
            return
        try:
            status = await printer.status()
        except (DeviceError, ProtocolError) as e:
            self._printer_backoff.failed()
            self._printer_problem(["Drucker nicht erreichbar (%s)" % e])
            return
        self._printer_backoff.ok()
        if not status.ready:
            self._printer_problem(status.problems())
            return
        while self.queue:
            try:
                await printer.write(to_escpos(self.queue[0][1], printer.caps))
            except DeviceError as e:
                self._printer_backoff.failed()
                self._printer_problem(["Druck fehlgeschlagen (%s)" % e])
                return
            self.queue.pop(0)
        self.printer_problems = []

    def _printer_problem(self, problems):
        if problems != self.printer_problems:
            waiting = ", ".join(str(bon_nr) for bon_nr, _ in self.queue)
            self.say("Bon %s wartet: %s" % (waiting, "; ".join(problems)))
        self.printer_problems = problems

    def open_drawer(self):
        """Ask the device task for a drawer pulse; returns at once."""
        if self.board.has("drawer"):
            self._kick = True
            self._wake.set()

    async def kick_drawer(self):
        """The drawer pulse now, then its sensor read (the console's ``test drawer``)."""
        drawer = self._device("drawer")
        if drawer is None:
            return
        try:
            await drawer.open()
        except DeviceError as e:
            self.say("Kassenlade: %s" % e)
            return
        self._drawer_backoff.ok()
        await self.check_drawer()

    def warn_drawer_after(self, seconds):
        """A drawer left open longer than ``seconds`` gives a warning (``drawer_warn_s``)."""
        self.watch.limit_s = seconds

    async def check_drawer(self):
        drawer = self._device("drawer")
        if drawer is None:
            return
        try:
            self.drawer_open = await drawer.is_open()
        except (DeviceError, ProtocolError):
            self.drawer_open = None
            self._drawer_backoff.failed()
            return
        self._drawer_backoff.ok()
        warning = self.watch.update(self.drawer_open, self.clock.now())
        if warning:
            self.say(warning)

    # --- the loop ------------------------------------------------------------------------------

    def _tse_now(self):
        """The TSE's status as it is now (its status block read at most once a second)."""
        if self.service is None:
            return None
        now = self.clock.ticks_ms()
        if self._tse_read is None or self.clock.ticks_diff(now, self._tse_read) >= 1000:
            self._tse_read = now
            self.service.refresh()
        return self.service.status()

    def state(self):
        return {
            "bon": self.till.sale(),
            "last_bon_nr": self.till.last_bon_nr,
            "last_receipt": self.last_receipt,
            "queue": [bon_nr for bon_nr, _ in self.queue],
            "printer": self.printer_problems,
            "drawer_open": self.drawer_open,
            "tse": self._tse_now(),
            "messages": list(self.messages),
            "operator": {"id": self.till.operator.id, "name": self.till.operator.name},
            "signed_on": self.signed_on,
            "training": self.training,
            "scale": self.board.has("scale"),
            "external": self.external,
            "qr": None if self.showing is None else self.showing[1],
            "receipt_how": self.receipt_how,
            "digital": None if self.issued is None else {k: self.issued[k] for k in ("id", "bon_nr", "how")},
            "outbox": len(self.outbox.pending()) if self.outbox is not None else 0,
            "customer": None
            if self.customer is None
            else {
                "card": self.customer.card,
                "name": self.customer.name,
                "points": self.points.balance(self.customer.card) - self.redeemed,
            },
        }

    async def _scanner_loop(self):
        scanner = self._device("scanner")
        if scanner is None:
            return
        while not self._stop.is_set():
            try:
                item = await scanner.read()
            except (OSError, DeviceError) as e:
                self.log.warning("scanner: %s; retrying", e)
                await asyncio.sleep(2)
                continue
            try:
                await self.scan(item)
            except TseError as e:
                self.say("TSE: %s" % e)

    async def _device_loop(self, period):
        """Drawer pulses, the print queue and the drawer sensor, each device in its own time."""
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if self._kick:
                    self._kick = False
                    await self.kick_drawer()
                if self._printer_backoff.due():
                    await self.flush_queue()
                if self._drawer_backoff.due():
                    await self.check_drawer()
            except Exception as e:  # a driver's bug must not end printing for the shift
                self.log.error("device task: %r", e)
            if not self._wake.is_set():
                try:
                    await asyncio.wait_for(self._wake.wait(), period)
                except asyncio.TimeoutError:
                    pass

    async def _upload_loop(self):
        """Digital receipts to the receipt server: at once, then after 1, 2, 4 ... 30 s while it
        cannot be reached."""
        backoff = Backoff(self.clock)
        while True:
            if not self.outbox.pending():
                self._uploads.clear()
                await self._uploads.wait()
            if await self.outbox.drain(self.receipt_client):
                backoff.ok()
            else:
                backoff.failed()
                await asyncio.sleep(backoff.delay_ms / 1000)

    async def _acquirer_loop(self):
        """Reversals the acquirer has not confirmed are sent again: at once (at boot, after a
        power cut), then after 1, 2, 4 ... 30 s while the host does not answer."""
        backoff = Backoff(self.clock)
        while True:
            if not self.acquirer.owed:
                self._owed.clear()
                await self._owed.wait()
            if await self.acquirer.send_reversals():
                backoff.ok()
            else:
                backoff.failed()
                await asyncio.sleep(backoff.delay_ms / 1000)

    async def run(self, period=1):
        for name in self.board.names():  # open every device now: problems show at boot
            self._device(name)
        await self.show("Willkommen")
        tasks = [asyncio.create_task(self._scanner_loop()), asyncio.create_task(self._device_loop(period))]
        if self.acquirer is not None:
            tasks.append(asyncio.create_task(self._acquirer_loop()))
        if self.outbox is not None and self.receipt_client is not None:
            tasks.append(asyncio.create_task(self._upload_loop()))
        await self._stop.wait()
        for task in tasks:
            task.cancel()

    def stop(self):
        self._stop.set()
