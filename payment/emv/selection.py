"""Application selection: which of the card's applications this terminal runs (device code,
sans-I/O: the steps ``yield Transmit(apdu)``, see ``payment.emv.apdu``).

    selected = yield from contact(terminal_aids)       # EMV Book 1 §12
    selected = yield from contactless(terminal_aids)   # EMV Book B (Entry Point): the PPSE
    selected.aid, selected.label, selected.pdol, selected.kernel

Contact: the card's directory (SELECT "1PAY.SYS.DDF01", then READ RECORD of the directory's SFI
until ``6A83``) gives the candidates that match a terminal AID; a card without a directory, or
one where none matched, is asked for each terminal AID in turn (SELECT, then SELECT next
occurrence while the AID allows partial matches). ``6A81`` to the first SELECT is a blocked
card; an application answering ``6283`` is blocked and left out. Contactless: the PPSE's
entries (``BF0C`` → ``61``) that match a terminal AID, with the kernel from ``9F2A`` or the
terminal AID's. Then the candidates in priority order (``87`` low nibble, 1 first; none =
last). On a contact card (Book 1 §12.4) the cardholder is asked (``yield Choose(labels)``, the
PIN pad's keys and the customer display): to pick one when there are several, to confirm the
one when it needs confirmation (``87`` bit 8). The answer is the index picked, ``CANCELLED``,
or ``NO_CHOICE`` (nobody to ask, or no key in time): then the terminal takes them in priority
order and leaves out those that need confirmation. The Entry Point (contactless) asks nobody.
The chosen one is SELECTed again (final selection) and must answer 9000 with its own name in
the FCI, else the next candidate is tried.
"""

import binascii

from core.errors import ProtocolError
from payment.emv.apdu import OK, exchange, read_record, select
from payment.emv.tlv import find, flatten, items

PSE = b"1PAY.SYS.DDF01"
PPSE = b"2PAY.SYS.DDF01"
MAX_OCCURRENCES = 8  # SELECT next rounds per terminal AID
MAX_DIRECTORY_RECORDS = 32

# The kernel a PPSE entry without 9F2A runs, by RID (EMV Book B, Table 3-6).
KERNEL_BY_RID = {
    b"\xa0\x00\x00\x00\x04": 2,  # Mastercard
    b"\xa0\x00\x00\x00\x03": 3,  # Visa
    b"\xa0\x00\x00\x00\x25": 4,  # American Express
    b"\xa0\x00\x00\x00\x65": 5,  # JCB
    b"\xa0\x00\x00\x03\x33": 7,  # UnionPay
}


CANCELLED, NO_CHOICE = -1, None  # answers to Choose besides an index


class Choose:
    """The step asks the cardholder to pick one of ``labels`` (in priority order), or to
    confirm the only one."""

    def __init__(self, labels):
        self.labels = labels


class SelectionFailed(ProtocolError):
    """No application to run. ``outcome``: ``"card blocked"``, ``"no common application"``,
    or (contactless) ``"try another interface"``."""

    def __init__(self, outcome, detail=""):
        ProtocolError.__init__(self, outcome + (": " + detail if detail else ""))
        self.outcome = outcome


class Candidate:
    def __init__(self, aid, terminal_aid, label="", priority=None, kernel=None):
        self.aid = aid
        self.terminal_aid = terminal_aid
        self.label = label
        self.priority = priority  # the 87 byte, or None
        self.kernel = kernel

    def needs_confirmation(self):
        return self.priority is not None and bool(self.priority & 0x80)

    def rank(self):
        low = (self.priority or 0) & 0x0F
        return low if low else 16


class Selected:
    """The application chosen: its AID, label, FCI (flattened), PDOL (bytes or None), kernel."""

    def __init__(self, candidate, fci):
        self.aid = candidate.aid
        self.terminal_aid = candidate.terminal_aid
        self.kernel = candidate.kernel
        self.fci = fci
        self.label = _text(fci.get(0x9F12) or fci.get(0x50) or candidate.label.encode()) or candidate.label
        self.pdol = fci.get(0x9F38)


def _text(value):
    try:
        return value.decode().strip()
    except (UnicodeError, AttributeError):
        return ""


def match(terminal_aids, adf):
    """The terminal AID that ``adf`` (the card's application name) runs under, or None."""
    for ta in terminal_aids:
        if adf == ta.aid or (ta.partial and adf[: len(ta.aid)] == ta.aid):
            return ta
    return None


def _entries(template):
    """The (ADF name, label, priority, 9F2A) of the ``61`` entries in a template's value."""
    out = []
    for tag, value in items(template):
        if tag != 0x61:
            continue
        entry = flatten(value)
        adf = entry.get(0x4F)
        if not adf or not 5 <= len(adf) <= 16:
            continue  # an entry without a usable name is passed over (Book 1 12.3.2)
        prio = entry.get(0x87)
        kernel = entry.get(0x9F2A)
        out.append(
            (adf, _text(entry.get(0x50, b"")), prio[0] if prio else None, kernel[0] if kernel else None)
        )
    return out


def _directory(terminal_aids):
    """Candidates from the card's PSE directory; None when the card has none (or it fails)."""
    data, sw = yield from exchange(select(PSE))
    if sw == 0x6A81:
        raise SelectionFailed("card blocked")
    if sw != OK:
        return None
    sfi = find(data, (0x6F, 0xA5, 0x88))
    if not sfi or not 1 <= sfi[0] <= 10:
        return None
    out = []
    for number in range(1, MAX_DIRECTORY_RECORDS + 1):
        record, sw = yield from exchange(read_record(sfi[0], number))
        if sw == 0x6A83:
            break
        if sw != OK:
            return None
        body = find(record, (0x70,))
        if body is None:
            return None
        for adf, label, prio, _ in _entries(body):
            ta = match(terminal_aids, adf)
            if ta is not None:
                out.append(Candidate(adf, ta, label, prio, ta.kernel))
    return out


def _aid_list(terminal_aids):
    """Candidates found by asking for each terminal AID (Book 1 12.3.3)."""
    out = []
    first = True
    for ta in terminal_aids:
        next_one = False
        for _ in range(MAX_OCCURRENCES):
            data, sw = yield from exchange(select(ta.aid, next_one))
            if first and sw == 0x6A81:
                raise SelectionFailed("card blocked")
            first = False
            if sw not in (OK, 0x6283):
                break
            name = find(data, (0x6F, 0x84)) or b""
            if name[: len(ta.aid)] != ta.aid or (len(name) > len(ta.aid) and not ta.partial):
                break
            if any(c.aid == name for c in out):  # "next" gave the same one again: none is left
                break
            if sw == OK:  # 6283: the application is blocked, not a candidate
                fci = flatten(data)
                prio = fci.get(0x87)
                out.append(
                    Candidate(name, ta, _text(fci.get(0x50, b"")), prio[0] if prio else None, ta.kernel)
                )
            if not ta.partial:
                break
            next_one = True
    return out


def _ask(ranked):
    """The cardholder's choice on a contact card: the candidates to try, in order."""
    if len(ranked) == 1 and not ranked[0].needs_confirmation():
        return ranked
    answer = yield Choose([c.label or binascii.hexlify(c.aid).decode().upper() for c in ranked])
    if answer == CANCELLED:
        raise SelectionFailed("cancelled", "by the cardholder")
    if isinstance(answer, int) and 0 <= answer < len(ranked):
        chosen = ranked[answer]  # confirmed by the choice; the others only if they need none
        return [chosen] + [c for c in ranked if c is not chosen and not c.needs_confirmation()]
    return [c for c in ranked if not c.needs_confirmation()]


def _final(candidates, contact_card):
    """Final selection: the best candidate that answers its SELECT with its own FCI; on a
    contact card as the cardholder chose (``_ask``)."""
    order = [(cand.rank(), i, cand) for i, cand in enumerate(candidates)]  # the card's order: equals
    order.sort()
    ranked = [cand for _, _, cand in order]
    if contact_card and ranked:
        ranked = yield from _ask(ranked)
    for cand in ranked:
        data, sw = yield from exchange(select(cand.aid))
        if sw != OK or find(data, (0x6F, 0x84)) != cand.aid:
            continue
        return Selected(cand, flatten(data))
    if candidates and not ranked:
        raise SelectionFailed("no common application", "every match needs the cardholder's confirmation")
    raise SelectionFailed("no common application")


def contact(terminal_aids):
    candidates = yield from _directory(terminal_aids)
    if not candidates:
        candidates = yield from _aid_list(terminal_aids)
    return (yield from _final(candidates, True))


def contactless(terminal_aids):
    data, sw = yield from exchange(select(PPSE))
    if sw != OK:
        raise SelectionFailed("try another interface", "the card has no PPSE (SW %04X)" % sw)
    directory = find(data, (0x6F, 0xA5, 0xBF0C))
    candidates = []
    for adf, label, prio, kernel in _entries(directory or b""):
        ta = match(terminal_aids, adf)
        if ta is not None:
            kernel = kernel or ta.kernel or KERNEL_BY_RID.get(adf[:5])
            candidates.append(Candidate(adf, ta, label, prio, kernel))
    if not candidates:
        raise SelectionFailed("try another interface", "no application on the PPSE this terminal runs")
    return (yield from _final(candidates, False))
