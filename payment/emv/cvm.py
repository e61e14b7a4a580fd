"""Cardholder verification (EMV Book 3 §10.5, Annex C3): which method the card's CVM list asks
for here, and what came of it. Device code, sans-I/O: to verify, the step yields
``Verify(method)`` and is resumed with the outcome (a PIN pad did it; the clear PIN never
comes here).

    result = yield from verify(card, aip, txn, caps, tvr, tsi)
    result.value          # CVM Results 9F34: method, condition, result (3 bytes)
    result.signature      # the slip needs the cardholder's signature

The list (``8E``): amount X and Y (4 bytes each, in the application currency), then rules of
two bytes: the method (low six bits; bit 7 "apply the next rule if this one fails") and the
condition. Rules are tried in order; a rule whose condition does not hold, or is not known,
is passed over. A method the terminal does not know sets "unrecognised CVM"; one it does not
support (``9F33`` byte 2) fails, and a PIN method without a PIN pad also sets "PIN pad not
present"; "fail CVM" always fails. A failed method goes on to the next rule only if its rule
says so (bit 7 of its first byte, kept in the CVM Results as the card wrote it); otherwise, or
when the list ends, cardholder verification failed. Conditions 06-09 compare the amount with
X or Y only when the transaction is in the application's currency (``9F42``).
"""

import binascii

from core.errors import ProtocolError
from hal import pinpad
from payment.emv import tvr as bits
from payment.emv.restrictions import CASH, CASHBACK

FAIL = 0x00
OFFLINE_PLAIN_PIN = 0x01
ONLINE_PIN = 0x02
OFFLINE_PLAIN_PIN_SIGNATURE = 0x03
OFFLINE_ENCIPHERED_PIN = 0x04
OFFLINE_ENCIPHERED_PIN_SIGNATURE = 0x05
SIGNATURE = 0x1E
NO_CVM = 0x1F
NAMES = {
    FAIL: "fail CVM",
    OFFLINE_PLAIN_PIN: "offline plaintext PIN",
    ONLINE_PIN: "online PIN",
    OFFLINE_PLAIN_PIN_SIGNATURE: "offline plaintext PIN and signature",
    OFFLINE_ENCIPHERED_PIN: "offline enciphered PIN",
    OFFLINE_ENCIPHERED_PIN_SIGNATURE: "offline enciphered PIN and signature",
    SIGNATURE: "signature",
    NO_CVM: "no CVM required",
}
PIN_METHODS = (
    OFFLINE_PLAIN_PIN,
    ONLINE_PIN,
    OFFLINE_PLAIN_PIN_SIGNATURE,
    OFFLINE_ENCIPHERED_PIN,
    OFFLINE_ENCIPHERED_PIN_SIGNATURE,
)

# CVM Results, byte 3
UNKNOWN = 0x00
FAILED = 0x01
SUCCESSFUL = 0x02

# What the PIN pad reports (the value ``Verify`` is resumed with): hal.pinpad's outcomes.
PIN_OK = pinpad.OK  # offline: the card said 9000; online: the entry was taken
PIN_WRONG = pinpad.WRONG  # offline: the card refused it and the cardholder gave up
PIN_BLOCKED = pinpad.BLOCKED  # the PIN try limit is exceeded (or was, before)
PIN_BYPASSED = pinpad.BYPASSED  # no PIN: skipped, cancelled or not typed in time
PIN_PAD_FAILED = pinpad.FAILED

# Terminal capabilities 9F33, byte 2 (CVM capability).
_CAP = {
    OFFLINE_PLAIN_PIN: 0x80,
    ONLINE_PIN: 0x40,
    SIGNATURE: 0x20,
    OFFLINE_ENCIPHERED_PIN: 0x10,
    NO_CVM: 0x08,
}


class Verify:
    """The step asks: perform ``method`` (a PIN method or signature) and say how it went.
    ``pan``: the card number, which an online PIN's block (ISO 9564 format 0) is made with;
    ``key``: for an enciphered offline PIN, the ICC public key ODA recovered."""

    def __init__(self, method, pan="", key=None):
        self.method = method
        self.pan = pan
        self.key = key  # the card's public key an offline PIN is enciphered with (or None)


def pan_digits(card):
    """The PAN as digits from the card's ``5A``, else from its track 2 equivalent (``57``)."""
    pan = card.get(0x5A)
    if pan is not None:
        return binascii.hexlify(pan).decode().upper().rstrip("F")
    track2 = card.get(0x57)
    return binascii.hexlify(track2).decode().upper().split("D")[0] if track2 else ""


class CvmResult:
    """``code`` is the rule's first byte as the card wrote it (bit 7 included), as CVM Results
    carry it; ``method`` its low six bits."""

    def __init__(self, code, condition, result, signature=False):
        self.cdcvm = False  # contactless: the phone verified its owner
        self.code = code
        self.method = code & 0x3F
        self.condition = condition
        self.result = result
        self.signature = signature

    @property
    def value(self):
        return bytes((self.code, self.condition, self.result))


def parse(cvm_list):
    """(X, Y, [(code, condition)]) of a CVM list: ``code & 0x3F`` is the method, bit 7 of it
    "apply the next rule if this one fails"."""
    if len(cvm_list) < 8 or len(cvm_list) % 2:
        raise ProtocolError("CVM list (8E) of %d bytes is not X, Y and 2-byte rules" % len(cvm_list))
    x = int.from_bytes(cvm_list[0:4], "big")
    y = int.from_bytes(cvm_list[4:8], "big")
    rules = []
    for i in range(8, len(cvm_list), 2):
        rules.append((cvm_list[i], cvm_list[i + 1]))
    return x, y, rules


def supported(method, caps):
    """Whether the terminal (``9F33``, 3 bytes) can do ``method``: True, False, or None for a
    method it does not know."""
    if method == FAIL:
        return True
    if method == OFFLINE_PLAIN_PIN_SIGNATURE:
        return bool(caps[1] & _CAP[OFFLINE_PLAIN_PIN] and caps[1] & _CAP[SIGNATURE])
    if method == OFFLINE_ENCIPHERED_PIN_SIGNATURE:
        return bool(caps[1] & _CAP[OFFLINE_ENCIPHERED_PIN] and caps[1] & _CAP[SIGNATURE])
    mask = _CAP.get(method)
    return None if mask is None else bool(caps[1] & mask)


def applies(condition, method, x, y, txn, caps, same_currency):
    """Whether a rule's condition holds: True, False, or None for one not known."""
    cash = txn.kind == CASH
    cashback = txn.kind == CASHBACK or txn.cashback > 0
    if condition == 0x00:
        return True
    if condition == 0x01:  # unattended cash: this terminal is attended
        return False
    if condition == 0x02:
        return not (cash or cashback)
    if condition == 0x03:
        return supported(method, caps) is True
    if condition == 0x04:  # manual cash: cash at an attended terminal
        return cash
    if condition == 0x05:
        return cashback
    if 0x06 <= condition <= 0x09:
        if not same_currency:
            return False
        limit = x if condition <= 0x07 else y
        return txn.amount < limit if condition in (0x06, 0x08) else txn.amount > limit
    return None


def verify(card, aip, txn, caps, tvr, tsi, icc_key=None):
    """The step. ``card`` {tag: value}; ``aip`` the 2-byte AIP; ``caps`` the 3-byte ``9F33``;
    ``icc_key`` the card's public key if ODA recovered it (an enciphered PIN needs it)."""
    if not aip[0] & 0x10:  # the card does not support cardholder verification
        return CvmResult(0x3F, 0x00, UNKNOWN)
    cvm_list = card.get(0x8E)
    if not cvm_list or len(cvm_list) <= 8:
        tvr.set(bits.ICC_DATA_MISSING)
        return CvmResult(0x3F, 0x00, UNKNOWN)
    x, y, rules = parse(cvm_list)
    tsi.set(bits.CVM_PERFORMED)
    same_currency = card.get(0x9F42) == txn.currency
    last = None
    for code, condition in rules:
        method = code & 0x3F
        if not applies(condition, method, x, y, txn, caps, same_currency):
            continue
        last = (code, condition)
        outcome = yield from perform(method, caps, tvr, pan_digits(card), icc_key)
        if outcome is not None:
            return CvmResult(code, condition, outcome, method in (SIGNATURE, 0x03, 0x05))
        if not code & 0x40:  # "apply the next rule if this one fails" not set
            break
    tvr.set(bits.CVM_FAILED)
    if last is None:
        return CvmResult(0x3F, 0x00, FAILED)  # no rule applied: "no CVM performed"
    return CvmResult(last[0], last[1], FAILED)


def perform(method, caps, tvr, pan="", key=None):
    """A step: the CVM Results' result byte if ``method`` succeeded, None if it failed. An
    enciphered offline PIN without the card's key fails (Book 3 §10.5.1)."""
    can = supported(method, caps)
    if can is None:
        tvr.set(bits.UNRECOGNISED_CVM)
        return None
    if method == FAIL:
        return None
    if method == NO_CVM:
        return SUCCESSFUL if can else None
    if not can:
        if method in PIN_METHODS:
            tvr.set(bits.PIN_PAD_MISSING)
        return None
    if method == SIGNATURE:
        return UNKNOWN  # the merchant compares it on the slip
    if method in (OFFLINE_ENCIPHERED_PIN, OFFLINE_ENCIPHERED_PIN_SIGNATURE) and key is None:
        return None
    outcome = yield Verify(method, pan, key)
    if outcome == PIN_OK:
        if method == ONLINE_PIN:
            tvr.set(bits.ONLINE_PIN_ENTERED)
            return UNKNOWN  # the issuer checks it
        return UNKNOWN if method in (0x03, 0x05) else SUCCESSFUL
    if outcome == PIN_BLOCKED:
        tvr.set(bits.PIN_TRY_LIMIT_EXCEEDED)
    elif outcome == PIN_BYPASSED:
        tvr.set(bits.PIN_NOT_ENTERED)
    elif outcome == PIN_PAD_FAILED:
        tvr.set(bits.PIN_PAD_MISSING)
    elif outcome != PIN_WRONG:
        raise ValueError("a PIN pad answered %r" % (outcome,))
    return None
