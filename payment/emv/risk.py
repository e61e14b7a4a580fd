"""Terminal risk management (EMV Book 3 §10.6) and terminal action analysis (§10.7). Device
code, sans-I/O: the velocity check asks the card (GET DATA) through ``exchange``.

    yield from manage(card, aip, txn, limits, tvr, tsi, rand)   # config.Limits; sets TVR byte 4
    kind = analyse(tvr, card, tac, online=True)                  # config.Tac -> AAC, TC or ARQC

Risk management runs when the card asks for it (AIP byte 1 bit 4):

- floor limit: the amount at or above ``limits.floor`` -> "transaction exceeds floor limit";
- random selection, below the floor limit only: a transaction under ``limits.threshold`` goes
  online with ``limits.target`` percent probability; from the threshold up to the floor limit
  the probability rises linearly to ``limits.max_target`` (``rand()`` gives 1..99);
- velocity, when the card has both consecutive offline limits (``9F14`` lower, ``9F23``
  upper): GET DATA of the ATC (``9F36``) and the last online ATC (``9F13``); either missing
  sets both limit bits; a last online ATC of 0 is a new card; ATC - last online ATC above a
  limit sets its bit.

Action analysis: a TVR bit that is also set in the issuer's (``9F0E``) or the terminal's denial
code declines offline (AAC). An online-capable terminal then goes online (ARQC) on a match
with the online codes (``9F0F``, TAC online), else approves offline (TC). Without the host,
the default codes (``9F0D``, TAC default) decide between AAC and TC (``after_no_host``). An
absent IAC-Denial counts as all zeros, absent IAC-Online and IAC-Default as all ones.
"""

from payment.emv import tvr as bits
from payment.emv.apdu import AAC, ARQC, OK, TC, exchange, get_data
from payment.emv.tlv import find

ALL = b"\xff" * 5
NONE = bytes(5)


def _counter(tag):
    data, sw = yield from exchange(get_data(tag))
    if sw != OK:
        return None
    value = find(data, (tag,))
    return int.from_bytes(value, "big") if value is not None and len(value) == 2 else None


def manage(card, aip, txn, limits, tvr, tsi, rand):
    if not aip[0] & 0x08:
        return
    tsi.set(bits.TERMINAL_RISK_PERFORMED)
    if txn.amount >= limits.floor:
        tvr.set(bits.FLOOR_LIMIT_EXCEEDED)
    elif limits.target or limits.max_target:
        if txn.amount < limits.threshold:
            percent = limits.target
        else:
            span = limits.floor - limits.threshold
            rise = (limits.max_target - limits.target) * (txn.amount - limits.threshold)
            percent = limits.target + (rise // span if span else 0)
        if rand() <= percent:
            tvr.set(bits.RANDOM_ONLINE)
    lower, upper = card.get(0x9F14), card.get(0x9F23)
    if lower is None or upper is None:
        return
    atc = yield from _counter(0x9F36)
    last_online = yield from _counter(0x9F13)
    if atc is None or last_online is None:
        tvr.set(bits.LOWER_OFFLINE_LIMIT_EXCEEDED)
        tvr.set(bits.UPPER_OFFLINE_LIMIT_EXCEEDED)
        return
    if last_online == 0:
        tvr.set(bits.NEW_CARD)
    offline = atc - last_online
    if offline > int.from_bytes(lower, "big"):
        tvr.set(bits.LOWER_OFFLINE_LIMIT_EXCEEDED)
    if offline > int.from_bytes(upper, "big"):
        tvr.set(bits.UPPER_OFFLINE_LIMIT_EXCEEDED)


def analyse(tvr, card, tac, online=True):
    """The cryptogram to ask for in the first GENERATE AC."""
    if tvr.matches(card.get(0x9F0E, NONE)) or tvr.matches(tac.denial):
        return AAC
    if online:
        if tvr.matches(card.get(0x9F0F, ALL)) or tvr.matches(tac.online):
            return ARQC
        return TC
    return after_no_host(tvr, card, tac)


def after_no_host(tvr, card, tac):
    """Offline-only, or the host could not be reached: the default codes decide."""
    if tvr.matches(card.get(0x9F0D, ALL)) or tvr.matches(tac.default):
        return AAC
    return TC
