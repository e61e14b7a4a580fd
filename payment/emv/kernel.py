"""One EMV transaction from card to outcome (device code, sans-I/O).

    step = transaction(terminal, Purchase(1250, today, un, rand), contactless=False, ca_keys={})
    outcome = await run(step, reader, pinpad, host)        # payment.emv.runner

The step yields ``Transmit`` (to the card), ``Verify`` (to the PIN pad, see ``cvm``) and
``GoOnline`` (to the acquirer: the ICC data for DE 55; it is resumed with a ``HostAnswer``, or
``None`` when the host cannot be reached), and returns an ``Outcome``.

Contact (EMV Books 3 and 4): application selection, GET PROCESSING OPTIONS with the PDOL,
READ RECORD per AFL, offline data authentication (CDA when card and terminal can — the
signature comes with GENERATE AC and covers the PDOL and CDOL values and the answer — else
DDA, else SDA), processing restrictions, cardholder verification, terminal risk management,
terminal action analysis, the first GENERATE AC; with an ARQC the host's answer, issuer
authentication (EXTERNAL AUTHENTICATE when the card asks for it), the issuer's scripts
(``payment/emv/scripts.py``: template 71 before, 72 after) and the second GENERATE AC (TC to
approve, AAC to decline). Without the host: the default action codes decide, with the
authorisation response code ``Y3`` or ``Z3``.

Contactless (EMV mode, Book B limits): at or above the AID's contactless transaction limit
the card is sent to the chip ("try another interface"); at or above the CVM limit a CVM is
required: the phone's own verification when the card reports it (AIP byte 1 bit 2), else
online PIN; the TTQ tells the card both. A GPO answer that carries the cryptogram (Visa
qVSDC) ends the card's part; otherwise one GENERATE AC, and the host's answer is final (the
card has left the field: no second GENERATE AC).
"""

import binascii

from core.errors import ProtocolError
from payment.emv import apdu, cvm, dol, oda, risk, selection
from payment.emv import tvr as bits
from payment.emv.apdu import AAC, TC, command, exchange
from payment.emv.gac import generate_ac
from payment.emv.gac import parse as parse_cryptogram
from payment.emv.online import GoOnline
from payment.emv.restrictions import PURCHASE, REFUND, Transaction, check, date_of
from payment.emv.scripts import perform as perform_scripts
from payment.emv.tlv import encode, find, flatten

APPROVED = "approved"
DECLINED = "declined"
TRY_ANOTHER_INTERFACE = "try another interface"
END_APPLICATION = "end application"

DEFAULT_DDOL = b"\x9f\x37\x04"
# What goes to the host in DE 55 (the ICC data of an online authorisation).
ONLINE_TAGS = (
    0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03,
    0x9F33, 0x9F34, 0x9F35, 0x84, 0x9F09, 0x5F34, 0x9F66, 0x9F6C,
)  # fmt: skip


class Purchase(Transaction):
    """A transaction with what the kernel needs besides the card: ``un`` (4 random bytes,
    ``9F37``), ``rand()`` (1..99, random selection), ``time`` (HHMMSS, 3 BCD bytes)."""

    def __init__(self, amount, date, un, rand, time=b"\x00\x00\x00", kind=PURCHASE, **kwargs):
        Transaction.__init__(self, amount, date, kind, **kwargs)
        self.un = un
        self.rand = rand
        self.time = time


class Outcome:
    def __init__(self, result, reason="", card=None, cryptogram=None, tvr=None, tsi=None, cvm_result=None):
        self.result = result  # APPROVED, DECLINED, TRY_ANOTHER_INTERFACE, END_APPLICATION
        self.reason = reason
        self.card = card or {}  # aid, label, scheme, pan (masked), expiry
        self.cryptogram = cryptogram
        self.tvr = tvr
        self.tsi = tsi
        self.cvm = cvm_result
        self.online = False
        self.arc = b""
        self.auth_code = ""  # the issuer's approval code (DE 38), online only
        self.trace = ""  # the acquirer link's trace number (DE 11), online only
        self.scripts = b""  # Issuer Script Results (9F5B): 5 bytes per script run
        self.terminal_aid = None  # the terminal's AID entry the card ran under
        self.cda = None  # (ICC key, PDOL + CDOL1 values) while CDA goes on to the second GAC

    def record(self):
        """What the journal keeps for the audit (no full PAN, no track 2, no PIN data)."""
        out = {"result": self.result, "reason": self.reason, "online": self.online}
        if self.trace:
            out.update(trace=self.trace, auth_code=self.auth_code)
        out.update(self.card)
        for name, value in (
            ("tvr", self.tvr),
            ("tsi", self.tsi),
            ("arc", self.arc),
            ("scripts", self.scripts),
        ):
            if value:
                out[name] = binascii.hexlify(value).decode().upper()
        if self.cvm is not None:
            out["cvm"] = binascii.hexlify(self.cvm.value).decode().upper()
            if self.cvm.cdcvm:
                out["cdcvm"] = True
        if self.cryptogram is not None:
            out.update(
                cryptogram=binascii.hexlify(self.cryptogram.ac).decode().upper(),
                cryptogram_type=self.cryptogram.name,
                atc=self.cryptogram.atc,
            )
        return out


def _summary(chosen, card):
    digits = cvm.pan_digits(card)
    expiry = card.get(0x5F24, b"")
    return {
        "aid": binascii.hexlify(chosen.aid).decode().upper(),
        "label": chosen.label,
        "scheme": chosen.terminal_aid.scheme,
        "pan": "*" * (len(digits) - 4) + digits[-4:] if len(digits) >= 12 else "",
        "expiry": binascii.hexlify(expiry).decode()[:4],
    }


def _terminal_data(terminal, ta, txn, tvr, contactless):
    values = {
        0x9F02: dol.bcd(txn.amount, 6),
        0x9F03: dol.bcd(txn.cashback, 6),
        0x9F1A: terminal.country,
        0x5F2A: terminal.currency,
        0x9A: txn.date,
        0x9F21: txn.time,
        0x9C: bytes((txn.kind,)),
        0x9F37: txn.un,
        0x9F33: terminal.capabilities,
        0x9F35: bytes((terminal.terminal_type,)),
        0x95: tvr.value,
    }
    if ta.app_version:
        values[0x9F09] = ta.app_version
    if contactless:
        values[0x9F66] = _ttq(terminal, ta, txn)
    return values


def _ttq(terminal, ta, txn):
    ttq = bytearray(terminal.ttq)
    if txn.amount > ta.contactless_floor or txn.amount == 0 or terminal.online:
        ttq[1] |= 0x80  # online cryptogram required
    if txn.amount >= ta.cvm_limit:
        ttq[1] |= 0x40  # CVM required
    return bytes(ttq)


def afl_entries(afl):
    """(SFI, first record, last record, records for ODA) of each 4-byte AFL entry."""
    if len(afl) % 4:
        raise ProtocolError("AFL of %d bytes is not a list of 4-byte entries" % len(afl))
    out = []
    for i in range(0, len(afl), 4):
        sfi, first, last, count = afl[i] >> 3, afl[i + 1], afl[i + 2], afl[i + 3]
        if not 1 <= sfi <= 30 or first < 1 or last < first or count > last - first + 1:
            raise ProtocolError("AFL entry %s is not valid" % binascii.hexlify(afl[i : i + 4]).decode())
        out.append((sfi, first, last, count))
    return out


def _read(chosen, values):
    """GPO and the records: (card data by tag, AIP, the records for ODA, the PDOL values sent)."""
    pdol = dol.parse(chosen.pdol) if chosen.pdol else []
    pdol_data = dol.build(pdol, values)
    answer = yield from command(apdu.get_processing_options(pdol_data), "GET PROCESSING OPTIONS")
    card = dict(chosen.fci)
    gpo = find(answer, (0x77,))
    if gpo is not None:
        flatten(gpo, card)
        aip, afl = card.get(0x82), card.get(0x94)
    else:
        body = find(answer, (0x80,))
        if body is None or len(body) < 2:
            raise ProtocolError("GPO answer is neither format 1 (80) nor format 2 (77)")
        aip, afl = body[:2], body[2:]
    if aip is None or len(aip) != 2:
        raise ProtocolError("GPO answer lacks the AIP (82)")
    card[0x82] = aip
    signed = []
    for sfi, first, last, count in afl_entries(afl or b""):
        for number in range(first, last + 1):
            rec = yield from command(apdu.read_record(sfi, number), "READ RECORD")
            body = find(rec, (0x70,))
            if body is None:
                raise ProtocolError("record %d of SFI %d is not a 70 template" % (number, sfi))
            flatten(body, card)
            if number < first + count:
                signed.append((sfi, rec))
    return card, aip, signed, pdol_data


def _authenticate(card, aip, caps, signed, ca_keys, txn, tvr, tsi):
    """CDA if card and terminal can, else DDA, else SDA, else "ODA not performed". Returns
    (the ICC public key once recovered, or None; whether CDA goes on at GENERATE AC)."""
    cda = aip[0] & 0x01 and caps[2] & 0x08 and 0x9F26 not in card  # not when it decided at GPO
    dda = aip[0] & 0x20 and caps[2] & 0x40
    sda = aip[0] & 0x40 and caps[2] & 0x80
    if not (cda or dda or sda):
        tvr.set(bits.ODA_NOT_PERFORMED)
        return None, False
    tsi.set(bits.ODA_PERFORMED)
    failed = bits.CDA_FAILED if cda else bits.DDA_FAILED if dda else bits.SDA_FAILED
    if not (cda or dda):
        tvr.set(bits.SDA_SELECTED)
    rid, index = card.get(0x4F, card.get(0x84, b""))[:5], card.get(0x8F)
    ca = ca_keys.get((bytes(rid), index[0] if index else -1))
    if ca is None:
        tvr.set(failed)
        return None, False
    today = date_of(txn.date, 0x9A)
    try:
        static = oda.static_data(signed, card)
        digits = cvm.pan_digits(card)
        issuer = oda.issuer_key(ca, card, digits, today)
        if not (cda or dda):
            card[0x9F45] = oda.check_sda(issuer, card, static)
            return None, False
        icc = oda.icc_key(issuer, card, static, digits, today)
        if cda:
            return icc, True
        ddol = dol.build(dol.parse(card.get(0x9F49, DEFAULT_DDOL)), {0x9F37: txn.un})
        answer = yield from command(apdu.internal_authenticate(ddol), "INTERNAL AUTHENTICATE")
        sdad = find(answer, (0x80,))
        if sdad is None:
            sdad = find(answer, (0x77, 0x9F4B))
        if sdad is None:
            raise oda.OdaFailed("INTERNAL AUTHENTICATE answer without signed dynamic data")
        card[0x9F4C] = oda.check_dda(icc, sdad, ddol)
        return icc, False
    except (oda.OdaFailed, ProtocolError):
        tvr.set(failed)
    return None, False


def _cda(icc, answer, un, signed_before, tvr):
    """Check a GENERATE AC answer's CDA signature; the AC is the one it signed. False: CDA
    failed (set in the TVR): the card's cryptogram counts as an AAC."""
    sdad = answer.fields.get(0x9F4B)
    try:
        if sdad is None:
            raise oda.OdaFailed("GENERATE AC answer without the CDA signature (9F4B)")
        number, answer.ac = oda.check_cda(
            icc, sdad, un, answer.cid, signed_before + answer.sent + answer.unsigned
        )
    except oda.OdaFailed:
        tvr.set(bits.CDA_FAILED)
        return False
    answer.fields[0x9F26] = answer.ac
    answer.fields[0x9F4C] = number
    return True


def transaction(terminal, txn, contactless=False, ca_keys=None):
    """The step: returns an ``Outcome``."""
    tvr, tsi = bits.Tvr(), bits.Tsi()
    try:
        find_app = selection.contactless if contactless else selection.contact
        chosen = yield from find_app(terminal.aids)
    except selection.SelectionFailed as e:
        end = TRY_ANOTHER_INTERFACE if e.outcome == TRY_ANOTHER_INTERFACE else END_APPLICATION
        return Outcome(end, str(e))
    ta = chosen.terminal_aid
    if contactless and ta.contactless_limit and txn.amount >= ta.contactless_limit:
        return Outcome(TRY_ANOTHER_INTERFACE, "amount at or above the contactless limit")
    values = _terminal_data(terminal, ta, txn, tvr, contactless)
    txn.app_version = ta.app_version
    card, aip, signed, pdol_data = yield from _read(chosen, values)
    summary = _summary(chosen, card)
    if 0x5F24 not in card or not (0x5A in card or 0x57 in card):
        return Outcome(END_APPLICATION, "the card lacks its PAN or expiry date", summary)
    icc_key, use_cda = yield from _authenticate(
        card, aip, terminal.capabilities, signed, ca_keys or {}, txn, tvr, tsi
    )
    cda_key = icc_key if use_cda else None
    check(card, txn, tvr)
    refund = txn.kind == REFUND
    if refund:  # money to the cardholder: no verification (3F0000: none performed), no risk
        verified = cvm.CvmResult(0x3F, 0x00, cvm.UNKNOWN)
    elif contactless:
        verified = yield from _contactless_cvm(card, aip, txn, ta, terminal.capabilities, tvr)
    else:
        verified = yield from cvm.verify(card, aip, txn, terminal.capabilities, tvr, tsi, icc_key)
    values[0x9F34] = verified.value
    if refund:
        pass  # no risk to manage: the money goes to the cardholder
    elif not contactless:
        yield from risk.manage(card, aip, txn, ta.limits, tvr, tsi, txn.rand)
    elif txn.amount > ta.contactless_floor:  # the reader's floor limit (Book C-2)
        tvr.set(bits.FLOOR_LIMIT_EXCEEDED)
    values[0x95] = tvr.value
    if 0x9F26 in card and 0x9F27 in card:  # the card decided at GPO (qVSDC)
        first = parse_cryptogram(encode(0x77, [(t, card[t]) for t in (0x9F27, 0x9F36, 0x9F26)]))
    else:
        kind = AAC if refund else risk.analyse(tvr, card, ta.tac, terminal.online)
        cdol1 = card.get(0x8C)
        if cdol1 is None:
            tvr.set(bits.ICC_DATA_MISSING)
            return Outcome(
                END_APPLICATION, "the card has no CDOL1 (8C)", summary, None, tvr.value, tsi.value, verified
            )
        cda = cda_key is not None and kind != AAC
        first = yield from generate_ac(kind, cdol1, values, cda)
        tsi.set(bits.CARD_RISK_PERFORMED)
        if cda and first.kind != AAC and not _cda(cda_key, first, txn.un, pdol_data, tvr):
            return Outcome(DECLINED, "CDA failed", summary, first, tvr.value, tsi.value, verified)
    outcome = Outcome(APPROVED, "", summary, first, None, None, verified)
    outcome.terminal_aid = ta
    outcome.cda = (cda_key, pdol_data + first.sent) if cda_key is not None else None
    if refund:
        yield from _refund(outcome, card, values, contactless)
    elif first.kind == TC:
        outcome.arc = b"Y1"
    elif first.kind == AAC:
        outcome.result, outcome.reason, outcome.arc = DECLINED, "declined by the card", b"Z1"
    else:
        yield from _online(outcome, card, values, ta, terminal, tvr, tsi, contactless)
    outcome.tvr, outcome.tsi = tvr.value, tsi.value
    return outcome


def _contactless_cvm(card, aip, txn, ta, caps, tvr):
    """Below the CVM limit none; at or above it the phone's own verification if it did one
    (``cdcvm`` on the result), else an online PIN."""
    if txn.amount < ta.cvm_limit:
        return cvm.CvmResult(cvm.NO_CVM, 0x00, cvm.SUCCESSFUL)
    ctq = card.get(0x9F6C, b"\x00\x00")
    if aip[0] & 0x02 or (len(ctq) == 2 and ctq[1] & 0x80):  # on-device CV performed
        done = cvm.CvmResult(0x3F, 0x00, cvm.SUCCESSFUL)
        done.cdcvm = True
        return done
    result = yield from cvm.perform(cvm.ONLINE_PIN, caps, tvr, cvm.pan_digits(card))
    if result is None:
        tvr.set(bits.CVM_FAILED)
        return cvm.CvmResult(cvm.ONLINE_PIN, 0x00, cvm.FAILED)
    return cvm.CvmResult(cvm.ONLINE_PIN, 0x00, result)


def _refund(outcome, card, values, contactless):
    """A refund (EMV Book 4 §6.3.3: the card is asked for an AAC and the refund goes to the
    acquirer): the acquirer's answer decides; without one nothing is paid back."""
    answer = yield _go_online(outcome.cryptogram, card, values, contactless, True)
    outcome.online = answer is not None
    if answer is None:
        outcome.result, outcome.reason, outcome.arc = DECLINED, "the host could not be reached", b"Z3"
        return
    outcome.arc, outcome.auth_code, outcome.trace = answer.arc, answer.auth_code, answer.trace
    if not answer.approved:
        outcome.result = DECLINED
        outcome.reason = "refund declined by the acquirer (%s)" % answer.arc.decode("ascii", "replace")


def _go_online(first, card, values, contactless, refund=False):
    fields = dict(values)
    fields.update(first.fields)
    for tag in (0x82, 0x84, 0x5F34, 0x9F6C):
        if tag in card:
            fields[tag] = card[tag]
    fields[0x84] = fields.get(0x84) or card.get(0x4F, b"")
    icc = b"".join(encode(t, fields[t]) for t in ONLINE_TAGS if t in fields)
    psn = card.get(0x5F34)
    expiry = binascii.hexlify(card.get(0x5F24, b"")).decode()[:4]
    return GoOnline(icc, fields, cvm.pan_digits(card), expiry, psn[0] if psn else None, contactless, refund)


def _online(outcome, card, values, ta, terminal, tvr, tsi, contactless):
    first = outcome.cryptogram
    answer = yield _go_online(first, card, values, contactless)
    outcome.online = answer is not None
    if answer is None:
        decision = risk.after_no_host(tvr, card, ta.tac)
        arc = b"Y3" if decision == TC else b"Z3"
    else:
        arc = answer.arc
        outcome.auth_code, outcome.trace = answer.auth_code, answer.trace
        decision = TC if answer.approved else AAC
        if answer.issuer_auth and card[0x82][0] & 0x04 and not contactless:
            tsi.set(bits.ISSUER_AUTH_PERFORMED)
            _, sw = yield from exchange(apdu.external_authenticate(answer.issuer_auth))
            if sw != apdu.OK:
                tvr.set(bits.ISSUER_AUTH_FAILED)
    outcome.arc = arc
    scripts = answer.scripts if answer is not None and not contactless else b""
    if scripts:
        outcome.scripts = yield from perform_scripts(scripts, 0x71, tvr, tsi)
    if contactless:
        final_kind = decision
    else:
        values = dict(values)
        values.update({0x8A: arc, 0x95: tvr.value})
        if answer is not None and answer.issuer_auth:
            values[0x91] = answer.issuer_auth
        cdol2 = card.get(0x8D)
        if cdol2 is None:
            tvr.set(bits.ICC_DATA_MISSING)
            final_kind = AAC
        else:
            cda = outcome.cda is not None and decision == TC
            second = yield from generate_ac(decision, cdol2, values, cda, second=True)
            outcome.cryptogram = second
            final_kind = second.kind
            if (
                cda
                and second.kind == TC
                and not _cda(outcome.cda[0], second, values[0x9F37], outcome.cda[1], tvr)
            ):
                final_kind = AAC
                outcome.reason = "CDA failed"
        if scripts:
            outcome.scripts += yield from perform_scripts(scripts, 0x72, tvr, tsi)
    if final_kind == TC:
        outcome.result = APPROVED
    else:
        outcome.result = DECLINED
        if outcome.reason:
            pass  # said already (CDA failed)
        elif answer is None:
            outcome.reason = "the host could not be reached"
        elif not answer.approved:
            outcome.reason = "declined by the issuer (%s)" % arc.decode("ascii", "replace")
        else:
            outcome.reason = "declined by the card after the issuer's approval"
