"""QR payments in the sale (device code): the customer's code read by the camera, the
terminal's code shown on the customer screen.

    qr = QrPayments(terminal, journal, wallet_host, cfg["wallet"], log)
    await qr.scanned(text)     # a scanned payment code pays what is due: (card record, "") or (None, why)
    qr.show()                  # merchant-presented: the EMVCo code on the customer screen, then wait
    await qr.transfer()        # EPC GiroCode: the sale is recorded as awaiting the transfer
    await qr.recover()         # at boot: a wallet payment no receipt took is reversed

Customer-presented codes (``payment.qr.wallet.kind``): an EMVCo consumer-presented code is
chip data and goes to the acquirer (``payment.acquirer``) like a card's, booked by its scheme
as a card is (ECKarte / Kreditkarte); an opaque wallet token (Bluecode-, Alipay-style) goes to
the wallet host (``payment.qr.wallet``), booked ``ElZahlungsdienstleister``. The merchant-
presented code (EMVCo MPM, dynamic, with the amount and our merchant reference) is paid from
the customer's phone through the wallet host; we poll it. A GiroCode (EPC QR) confirms
nothing: the sale is booked ``Unbar`` "Überweisung (offen)" and the receipt says the transfer is
awaited. A code that is broken (CRC, truncated), in another currency or used before is refused
with a message; the sale stays as it was.

The journal before the wire: ``qr_sent`` ``{"reference", "amount", "kind"}`` before a wallet
payment goes to the host (the receipt's record carries the reference); ``qr_settled``
``{"reference", "how"}`` when it paid nothing. At boot a reference that neither a receipt nor
a settlement closed is asked for and, if the host approved it, reversed.
"""

import binascii
import hashlib

from core.calendar import local_fields
from core.errors import ProtocolError
from core.money import format_cents
from firmware.cardledger import cards_of
from payment.emv.dol import bcd
from payment.emv.online import GoOnline
from payment.emv.selection import match
from payment.qr import emvco, epc, wallet

WALLET, TRANSFER = "ElZahlungsdienstleister", "Unbar"
_FAILED = (OSError, ProtocolError)
_SEEN = 64  # how many used codes the terminal remembers (the host remembers them all)


def _masked(token):
    return token[:4] + "*" * (len(token) - 8) + token[-4:]


class QrPayments:
    def __init__(self, terminal, journal, host, cfg, log):
        self.term = terminal
        self.journal = journal
        self.host = host  # payment.qr.wallet.WalletHost, or None: no wallet payments
        self.cfg = cfg
        self.log = log
        self.seen = []  # digests of the codes used since boot: a replay is refused here already
        self.open = []  # references sent to the host that no receipt or settlement closed
        self.waiting = None  # (reference, cents) of the merchant-presented code shown

    def load(self, records):
        sent, done = [], set()
        for rec in records:
            kind, data = rec["type"], rec["data"]
            if kind == "qr_sent":
                sent.append(data["reference"])
            elif kind == "qr_settled":
                done.add(data["reference"])
            else:
                for card in cards_of(rec):
                    if "reference" in card:
                        done.add(card["reference"])
        self.open = [r for r in sent if r not in done]

    def _reference(self):
        return "%s-%06d" % (self.term.till.master.register["serial"], self.journal.seq + 1)

    def _used(self, text):
        digest = hashlib.sha256(text.encode()).digest()[:12]
        if digest in self.seen:
            return True
        self.seen.append(digest)
        del self.seen[:-_SEEN]
        return False

    def _settle(self, reference, how):
        self.journal.append("qr_settled", {"reference": reference, "how": how})
        if reference in self.open:
            self.open.remove(reference)

    async def recover(self):
        """At boot: a wallet payment that no receipt took is reversed, approved or still pending
        (nobody waits for it any more, and a late approval must not stand)."""
        for reference in list(self.open):
            try:
                answer = await self.host.status(reference)
                if answer.get("status") in (wallet.APPROVED, wallet.PENDING):
                    await self.host.reverse(reference)
                    self.log.warning("wallet payment %s had no sale: reversed", reference)
                    self._settle(reference, "reversed")
                else:
                    self._settle(reference, "unpaid")
            except _FAILED as e:
                self.log.warning("wallet host: %s; payment %s stays open", e, reference)
                return False
        return True

    # --- customer-presented -----------------------------------------------------------------

    async def scanned(self, text, cents):
        """The code the customer showed pays ``cents``: ``(card record, zahlart, "")``, or
        ``(None, None, why)`` with nothing changed."""
        what = wallet.kind(text)
        if what is None:
            return None, None, "kein Zahlungscode"
        code = None
        if what == "cpm":
            try:
                code = emvco.read_consumer_presented(text)
            except ProtocolError as e:
                return None, None, "QR-Code ungültig: %s" % e
        if self._used(text):
            return None, None, "Code wurde schon verwendet: bitte neuen Code in der App erzeugen"
        if code is not None:
            return await self._cpm(code, cents)
        return await self._wallet(text, cents)

    async def _cpm(self, code, cents):
        acquirer = self.term.acquirer
        if acquirer is None:
            return None, None, "QR-Kartenzahlung braucht den Netzbetreiber: nicht eingerichtet"
        y, mo, d, h, mi, s = local_fields(self.term.clock.now())
        fields = {
            0x9F02: bcd(cents, 6),
            0x9A: bcd((y % 100) * 10000 + mo * 100 + d, 3),
            0x9F21: bcd(h * 10000 + mi * 100 + s, 3),
        }
        action = GoOnline(code["icc"], fields, code["pan"], code["expiry"], code["psn"], True)
        answer = await acquirer.authorise(action)
        if answer is None:
            return None, None, "Netzbetreiber nicht erreichbar"
        if not answer.approved:
            return None, None, "abgelehnt (%s)" % answer.arc.decode()
        emv = self.term.emv
        aid = match(emv.aids, binascii.unhexlify(code["aid"])) if emv is not None else None
        scheme = aid.scheme if aid is not None else ""
        zahlart = aid.zahlart if aid is not None else "Kreditkarte"
        card = {
            "via": "cpm",
            "result": "approved",
            "entry": "qr",
            "label": code["label"] or (aid.name if aid is not None else "Karte"),
            "scheme": scheme,
            "aid": code["aid"],
            "pan": "*" * (len(code["pan"]) - 4) + code["pan"][-4:],
            "trace": answer.trace,
            "auth_code": answer.auth_code,
            "atc": code["atc"],
            "cryptogram": code["cryptogram"],
            "online": True,
            "arc": binascii.hexlify(answer.arc).decode().upper(),
        }
        if acquirer.terminal_id:
            card["tid"] = acquirer.terminal_id
        return card, zahlart, ""

    async def _wallet(self, token, cents):
        if self.host is None:
            return None, None, "Wallet-Zahlung ist nicht eingerichtet"
        reference = self._reference()
        self.journal.append("qr_sent", {"reference": reference, "amount": cents, "kind": "wallet"})
        self.open.append(reference)
        try:
            try:
                answer = await self.host.pay(token, cents, reference)
            except _FAILED as e:  # no answer: asked once more, the same reference (idempotent)
                self.log.warning("wallet host: %s; asking again for %s", e, reference)
                answer = await self.host.pay(token, cents, reference)
            if answer.get("status") == wallet.PENDING:
                answer = await self.host.wait(reference)
        except _FAILED as e:
            return None, None, "Wallet-Host: %s (wird geklärt)" % e
        return self._decided(answer, reference, cents, wallet.brand(token), _masked(token))

    def _decided(self, answer, reference, cents, name, token=""):
        status = answer.get("status")
        if status == wallet.PENDING:
            return None, None, "Wallet-Zahlung nicht bestätigt (wird geklärt)"
        if status != wallet.APPROVED:
            self._settle(reference, "declined")
            return None, None, "Wallet: abgelehnt (%s)" % answer.get("reason", status)
        card = {
            "via": "wallet",
            "result": "approved",
            "label": name,
            "scheme": name,
            "reference": reference,
            "psp_reference": answer.get("psp_reference", ""),
            "auth_code": answer.get("auth_code", ""),
        }
        if token:
            card["token"] = token
        if reference in self.open:
            self.open.remove(reference)  # the receipt about to be journaled carries it
        return card, WALLET, ""

    # --- merchant-presented -------------------------------------------------------------------

    def code(self, cents, reference):
        business = self.term.till.master.business
        account = (self.cfg["account"], self.term.till.master.register["serial"])
        return emvco.merchant_presented(
            cents, business["name"], business.get("city", "Berlin"), reference, account
        )

    async def shown(self, cents, cancelled):
        """Show our code for ``cents`` and wait for the phone's payment (or ``cancelled``)."""
        if self.host is None:
            return None, None, "Wallet-Zahlung ist nicht eingerichtet"
        reference = self._reference()
        self.journal.append("qr_sent", {"reference": reference, "amount": cents, "kind": "mpm"})
        self.open.append(reference)
        self.waiting = (reference, cents)
        try:
            await self.host.expect(reference, cents)  # announced before the phone can see it
            caption = "Mit der Wallet-App scannen: %s EUR" % format_cents(cents)
            self.term.showing = (self.code(cents, reference), caption)
            self.term.notify()
            answer = await self.host.wait(reference, cancelled)
            if answer.get("status") == wallet.PENDING:  # given up: a late payment must not stand
                await self.host.reverse(reference)
                self._settle(reference, "cancelled")
                return None, None, "Wallet-Zahlung abgebrochen"
        except _FAILED as e:
            return None, None, "Wallet-Host: %s (wird geklärt)" % e
        finally:
            self.waiting = None
            self.term.showing = None
            self.term.notify()
        return self._decided(answer, reference, cents, "Wallet (QR)")

    def transfer_code(self, cents, bon_text):
        business = self.term.till.master.business
        return epc.girocode(business["name"], self.cfg["iban"], cents, bon_text, self.cfg["bic"])
