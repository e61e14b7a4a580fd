"""The acquirer link (device code): the kernel's ``GoOnline`` as an ISO 8583 authorisation over
TCP, the answer as a ``HostAnswer``; reversals, refunds and the end-of-day reconciliation.

    host = Acquirer("127.0.0.1", 9200, "SECR0001", "SMARTECR-SIM-01", ledger=ledger)
    answer = await host.authorise(go_online)   # HostAnswer, or None: the host is unreachable
    host.booked()                              # the approval is in the journal with its sale
    await host.reverse_approval()              # ... or it is not to be: the money goes back
    await host.send_reversals()                # what is still owed (at boot, after an outage)
    answer = await host.refund(go_online)      # 0200, processing code 20
    answer = await host.close(totals)          # 0500: does the host count what we count?

The request is a 0100 (``payment/iso8583.py``, framed with a 2-byte length): PAN (2),
processing code 000000 (3), amount (4), the trace number (11), local time and date (12, 13),
expiry (14), entry mode (22: 051 chip, 071 contactless), PAN sequence number (23), terminal and
merchant ids (41, 42), currency 978 (49), the online PIN's enciphered block when one was
entered (52, ISO 9564 format 0 from the PIN pad) and the ICC data (55). The answer (0110 with the same
trace number) gives the response code (39; ``00`` approves, and goes to the card as its ``8A``),
the approval code (38) and in its own DE 55 the issuer authentication data (91) and scripts
(71, 72). The PAN travels in DE 2 and is kept nowhere.

Crash rules (docs/payments.md). Every message is handed to the ``ledger`` (the journal,
``firmware/cardledger.py``) *before* it is sent, without its card data (DE 2, 14, 23, 52, 55):
what a reversal needs, and the trace number, which so survives a power cut. An approval is
outstanding until the sale that it pays is journaled (``booked``) or it is reversed. A 0400
reversal carries no card data: the host finds the original by DE 90 (its MTI, trace number and
transmission time) and the terminal id. It is sent when no answer came in time (or the
connection dropped, or the answer did not parse), when the card declined after the issuer
approved or left before the sale was recorded, and at boot for every 0100 the journal has
neither settled nor booked. A reversal the host did not confirm (0410) stays owed and is sent
again (``send_reversals``) until it is.
"""

import asyncio

from core.errors import ProtocolError
from payment import iso8583
from payment.emv import tlv
from payment.emv.online import HostAnswer

# What the journal keeps of a message: everything but the card data.
KEPT = (3, 4, 11, 12, 13, 22, 41, 42, 49, 74, 76, 86, 88, 90)
PURCHASE, REFUND = "000000", "200000"
_FAILED = (OSError, EOFError, ProtocolError, asyncio.TimeoutError)


class Ledger:
    """Where the link's messages are recorded; this one keeps nothing (a probe, a test). The
    firmware's is the journal (``firmware.cardledger.CardLedger``)."""

    def sent(self, mti, fields):
        """``fields`` (card data removed) of a message about to be sent; on the medium on return."""

    def settled(self, stan, how):
        """The 0100 ``stan`` needs no reversal: ``declined``, ``reversed``."""


def kept(fields):
    return {n: v for n, v in fields.items() if n in KEPT}


def original_data(mti, fields):
    """DE 90 for a reversal of the message ``fields``: MTI, trace number, MMDDhhmmss, and the
    acquiring and forwarding institution ids (none here: zeros)."""
    return mti + fields[11] + fields[13] + fields[12] + "0" * 22


class Acquirer:
    def __init__(self, host, port, terminal_id, merchant_id, timeout_ms=15000, log=None, ledger=None):
        self.host = host
        self.port = port
        self.terminal_id = terminal_id
        self.merchant_id = merchant_id
        self.timeout_ms = timeout_ms
        self.log = log
        self.ledger = ledger or Ledger()
        self.stan = 0  # the last trace number given out (the ledger knows it after a power cut)
        self.approval = None  # the kept fields of an approval not yet booked with its sale
        self.owed = []  # (MTI, kept fields) of requests whose reversal the host has not confirmed

    def _next_stan(self):
        self.stan = self.stan % 999999 + 1
        return "%06d" % self.stan

    def request(self, action, stan, code=PURCHASE):
        f = action.fields
        amount = f.get(0x9F02, bytes(6))
        date, time = f.get(0x9A, bytes(3)), f.get(0x9F21, bytes(3))
        fields = {
            2: action.pan,
            3: code,
            4: "".join("%02X" % b for b in amount),
            11: stan,
            12: "".join("%02X" % b for b in time),
            13: "".join("%02X" % b for b in date[1:]),
            14: action.expiry,
            22: "071" if action.contactless else "051",
            41: self.terminal_id,
            42: self.merchant_id,
            49: "978",
            55: action.icc,
        }
        if action.psn is not None:
            fields[23] = "%03d" % action.psn
        if action.pin_block is not None:
            fields[52] = action.pin_block
        return fields

    async def _exchange(self, message):
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(iso8583.frame(message))
            await writer.drain()
            head = await reader.readexactly(2)
            return await reader.readexactly((head[0] << 8) | head[1])
        finally:
            writer.close()
            try:
                await writer.wait_closed()  # MicroPython closes the socket only here
            except OSError:
                pass

    async def _ask(self, mti, fields):
        """Record, send, and return the answer's fields (its MTI one up, the same trace number)."""
        self.ledger.sent(mti, kept(fields))
        raw = await asyncio.wait_for(self._exchange(iso8583.encode(mti, fields)), self.timeout_ms / 1000)
        got, answer = iso8583.decode(raw)
        want = mti[:2] + str(int(mti[2]) + 1) + mti[3]
        if got != want or answer.get(11) != fields[11] or 39 not in answer:
            raise ProtocolError("acquirer answered %s for trace %s" % (got, answer.get(11)))
        return answer

    async def authorise(self, action):
        return await self._online("0100", self.request(action, self._next_stan()))

    async def refund(self, action):
        """A refund to the card (0200, processing code 20): the money goes back once approved."""
        return await self._online("0200", self.request(action, self._next_stan(), REFUND))

    async def _online(self, mti, fields):
        stan = fields[11]
        try:
            answer = await self._ask(mti, fields)
        except _FAILED as e:
            if self.log is not None:
                self.log.warning("acquirer: no answer to trace %s (%s); reversing", stan, e)
            await self._reverse(kept(fields), mti)
            return None
        code = answer[39]
        if code == "00":
            self.approval = (mti, kept(fields))
        else:
            self.ledger.settled(stan, "declined")
        icc = answer.get(55, b"")
        scripts = b"".join(tlv.encode(t, v) for t, v in tlv.items(icc) if t in (0x71, 0x72))
        issuer_auth = tlv.find(icc, (0x91,))
        return HostAnswer(code == "00", code.encode(), issuer_auth, scripts, answer.get(38, ""), stan)

    def booked(self):
        """The outstanding approval is journaled with its sale: it stands."""
        self.approval = None

    async def reverse_approval(self):
        """The outstanding approval pays no sale (the card declined or left): reverse it.
        False: the host did not confirm; the reversal is owed (``send_reversals``)."""
        if self.approval is None:
            return True
        mti, fields = self.approval
        self.approval = None
        return await self._reverse(fields, mti)

    async def reverse(self, original, mti="0100"):
        """Reverse an earlier request (its kept fields, as the journal has them): True when
        the host confirmed; otherwise it is owed (``send_reversals``)."""
        return await self._reverse(original, mti)

    async def _reverse(self, original, mti="0100"):
        fields = {n: original[n] for n in (3, 4, 22, 41, 42, 49) if n in original}
        fields[11] = self._next_stan()
        fields[12], fields[13] = original[12], original[13]
        fields[90] = original_data(mti, original)
        try:
            await self._ask("0400", fields)
        except _FAILED as e:
            if self.log is not None:
                self.log.warning("acquirer: reversal of trace %s not confirmed (%s)", original[11], e)
            if (mti, original) not in self.owed:
                self.owed.append((mti, original))
            return False
        self.ledger.settled(original[11], "reversed")
        if (mti, original) in self.owed:
            self.owed.remove((mti, original))
        return True

    async def send_reversals(self):
        """Send the reversals still owed, oldest first; True when none is left."""
        for mti, original in list(self.owed):
            if not await self._reverse(original, mti):
                return False
        return True

    async def close(self, totals, time, date):
        """End of day (0500): ``totals`` ``{"debits": (n, cents), "credits": (n, cents)}`` of the
        online-booked card payments since the last closing. Returns the host's answer fields
        (39 ``00``: it counted the same; ``95``: it did not, its totals in 74/76/86/88), or
        None when it could not be reached."""
        (dn, da), (cn, ca) = totals["debits"], totals["credits"]
        fields = {
            3: "920000",
            11: self._next_stan(),
            12: time,
            13: date,
            41: self.terminal_id,
            42: self.merchant_id,
            49: "978",
            74: "%010d" % cn,
            76: "%010d" % dn,
            86: "%016d" % ca,
            88: "%016d" % da,
        }
        try:
            return await self._ask("0500", fields)
        except _FAILED as e:
            if self.log is not None:
                self.log.warning("acquirer: end of day not answered (%s)", e)
            return None
