"""The acquirer link (device code): the kernel's ``GoOnline`` as an ISO 8583 authorisation over
TCP, the answer as a ``HostAnswer``, and a reversal when no answer came.

    host = Acquirer("127.0.0.1", 9200, terminal_id="SECR0001", merchant_id="SMARTECR-SIM-01")
    answer = await host.authorise(go_online)      # HostAnswer, or None: the host is unreachable

The request is a 0100 (``payment/iso8583.py``, framed with a 2-byte length): PAN (2),
processing code 000000 (3), amount (4), the trace number (11), local time and date (12, 13),
expiry (14), entry mode (22: 051 chip, 071 contactless, with PIN capability 1), PAN sequence
number (23), terminal and merchant ids (41, 42), currency 978 (49) and the ICC data (55). The
answer (0110 with the same trace number) gives the response code (39; ``00`` approves, and
goes to the card as its ``8A``), the approval code (38) and in its own DE 55 the issuer
authentication data (91) and scripts (71, 72). No answer within ``timeout_ms``, a dropped
connection or an answer that does not parse: the authorisation is treated as not made, a
0400 reversal with DE 90 (the original's MTI, trace number and time) is sent once, best
effort, and ``None`` is returned, so the kernel decides with its default action codes. The
PAN travels in DE 2 and is kept nowhere.
"""

import asyncio

from core.errors import ProtocolError
from payment import iso8583
from payment.emv import tlv
from payment.emv.online import HostAnswer


class Acquirer:
    def __init__(self, host, port, terminal_id, merchant_id, timeout_ms=15000, log=None):
        self.host = host
        self.port = port
        self.terminal_id = terminal_id
        self.merchant_id = merchant_id
        self.timeout_ms = timeout_ms
        self.log = log
        self.stan = 0

    def _next_stan(self):
        self.stan = self.stan % 999999 + 1
        return "%06d" % self.stan

    def request(self, action, stan):
        f = action.fields
        amount = f.get(0x9F02, bytes(6))
        date, time = f.get(0x9A, bytes(3)), f.get(0x9F21, bytes(3))
        fields = {
            2: action.pan,
            3: "000000",
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

    async def authorise(self, action):
        stan = self._next_stan()
        fields = self.request(action, stan)
        message = iso8583.encode("0100", fields)
        try:
            raw = await asyncio.wait_for(self._exchange(message), self.timeout_ms / 1000)
            mti, answer = iso8583.decode(raw)
            if mti != "0110" or answer.get(11) != stan or 39 not in answer:
                raise ProtocolError("acquirer answered %s for trace %s" % (mti, answer.get(11)))
        except (OSError, EOFError, ProtocolError, asyncio.TimeoutError) as e:
            if self.log is not None:
                self.log.warning("acquirer: no answer to trace %s (%s); reversing", stan, e)
            await self._reverse(fields)
            return None
        icc = answer.get(55, b"")
        scripts = b"".join(tlv.encode(t, v) for t, v in tlv.items(icc) if t in (0x71, 0x72))
        code = answer[39]
        return HostAnswer(code == "00", code.encode(), tlv.find(icc, (0x91,)), scripts)

    async def _reverse(self, original):
        fields = dict(original)
        fields[11] = self._next_stan()
        fields[90] = "0100" + original[11] + "%010d" % int(original[13] + original[12]) + "0" * 22
        try:
            await asyncio.wait_for(self._exchange(iso8583.encode("0400", fields)), self.timeout_ms / 1000)
        except (OSError, EOFError, ProtocolError, asyncio.TimeoutError) as e:
            if self.log is not None:
                self.log.warning("acquirer: reversal of trace %s not confirmed (%s)", original[11], e)
