"""Processing restrictions (EMV Book 3 §10.4): may this card do this transaction here, today?
Device code, no I/O: it reads the card's data and sets TVR bits; the transaction goes on
either way (terminal action analysis decides what the bits mean).

    check(card, txn, tvr)     # card: {tag: value} from the records; txn: Transaction below

- Application version: the card's ``9F08`` differs from the terminal's ``9F09`` for this AID
  -> "ICC and terminal have different application versions".
- Application Usage Control ``9F07``: an ATM needs "valid at ATMs", any other terminal "valid
  at terminals other than ATMs"; with the issuer country ``5F28``, domestic (equal to the
  terminal's ``9F1A``) or international use must be allowed for cash, goods, services and
  cashback as the transaction is one -> else "requested service not allowed for card product".
- Dates: effective ``5F25`` after today -> "application not yet effective"; expiry ``5F24``
  before today -> "expired application". YY below 50 is 20YY, else 19YY (Book 3 §10.4.3).
"""

from core.errors import ProtocolError
from payment.emv import tvr as bits
from payment.emv.dol import from_bcd

PURCHASE = 0x00
CASH = 0x01
CASHBACK = 0x09
REFUND = 0x20

# AUC byte 1
_DOM_CASH, _INT_CASH, _DOM_GOODS, _INT_GOODS = 0x80, 0x40, 0x20, 0x10
_DOM_SERVICES, _INT_SERVICES, _ATM, _NOT_ATM = 0x08, 0x04, 0x02, 0x01
# AUC byte 2
_DOM_CASHBACK, _INT_CASHBACK = 0x80, 0x40


class Transaction:
    """What the terminal knows of the transaction: ``amount`` (cents), ``kind`` (``9C``:
    PURCHASE, CASH, CASHBACK, REFUND), ``date`` (YYMMDD, 3 BCD bytes), ``country`` (``9F1A``,
    2 bytes), ``currency`` (``5F2A``), ``atm`` (an ATM, never for this terminal), ``services``
    (a purchase of services, not goods), ``app_version`` (``9F09`` for the chosen AID)."""

    def __init__(
        self,
        amount,
        date,
        kind=PURCHASE,
        country=b"\x02\x76",
        currency=b"\x09\x78",
        atm=False,
        services=False,
        app_version=None,
        cashback=0,
    ):
        self.amount = amount
        self.date = date
        self.kind = kind
        self.country = country
        self.currency = currency
        self.atm = atm
        self.services = services
        self.app_version = app_version
        self.cashback = cashback


def date_of(value, tag):
    """(year, month, day) of a YYMMDD date (``n6``); ``tag`` names it in errors."""
    if len(value) != 3:
        raise ProtocolError("date %X is not 3 bytes" % tag)
    ymd = from_bcd(value)
    yy, mm, dd = ymd // 10000, ymd // 100 % 100, ymd % 100
    if not (1 <= mm <= 12 and 1 <= dd <= 31):
        raise ProtocolError("date %X is not a date (%06d)" % (tag, ymd))
    return (2000 + yy if yy < 50 else 1900 + yy, mm, dd)


def check(card, txn, tvr):
    version = card.get(0x9F08)
    if version is not None and txn.app_version is not None and version != txn.app_version:
        tvr.set(bits.DIFFERENT_VERSIONS)
    auc = card.get(0x9F07)
    if auc is not None and not _usage_allowed(auc, card.get(0x5F28), txn):
        tvr.set(bits.SERVICE_NOT_ALLOWED)
    today = date_of(txn.date, 0x9A)
    effective = card.get(0x5F25)
    if effective is not None and date_of(effective, 0x5F25) > today:
        tvr.set(bits.NOT_YET_EFFECTIVE)
    expiry = card.get(0x5F24)
    if expiry is not None and date_of(expiry, 0x5F24) < today:
        tvr.set(bits.EXPIRED)


def _usage_allowed(auc, issuer_country, txn):
    if len(auc) != 2:
        raise ProtocolError("application usage control (9F07) is not 2 bytes")
    b1, b2 = auc[0], auc[1]
    if not b1 & (_ATM if txn.atm else _NOT_ATM):
        return False
    if issuer_country is None:
        return True
    domestic = bytes(issuer_country[-2:]) == bytes(txn.country[-2:])
    if txn.kind == CASH:
        return bool(b1 & (_DOM_CASH if domestic else _INT_CASH))
    if txn.kind in (PURCHASE, CASHBACK):
        if txn.services:
            allowed = b1 & (_DOM_SERVICES if domestic else _INT_SERVICES)
        else:
            allowed = b1 & (_DOM_GOODS if domestic else _INT_GOODS)
        if txn.kind == CASHBACK or txn.cashback:
            allowed = allowed and b2 & (_DOM_CASHBACK if domestic else _INT_CASHBACK)
        return bool(allowed)
    return True
