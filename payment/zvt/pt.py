"""The payment terminal's side of ZVT (device code): another register drives our card terminal.

    server = PtServer(backend, "000000", log)
    await asyncio.start_server(lambda r, w: server.serve(TcpWire(r, w)), "0.0.0.0", 20007)
    await server.serve(SerialWire(link))       # or an ECR on the board's serial port

Commands served (PA00P015): Registration (06 00: password, config byte, currency, TLV enable),
Authorization (06 01), Refund (06 31), Reversal (06 30, by our receipt number), End-of-Day
(06 50), Repeat Receipt (06 20), Status Enquiry (05 01), Diagnosis (06 70), Log-Off (06 02)
and Abort (06 B0, also while a payment waits for the card). Anything else is ``84 83 00``, a
command that does not parse ``84 9A 00``, a wrong password ``84 83 00``, a payment before
Registration ``84 6B 00``.

Once we answered ``80 00 00`` we are master: Intermediate Status when the ECR asked for it
(config 0x08), the Status Information, the receipt (Print Text Block 06 D3 if the ECR's
Registration permitted it, else Print Lines 06 D1; only when the ECR prints, config 0x02 —
otherwise our own printer prints it) and Completion; every one waits T3 for the ECR's
``80 00 00``. The payment stands only once the ECR took the Status Information and every
print line (PA00P015 §2.2.8): if it refuses one (``84 xx``; ``84 9C`` asks for the same again
in 2 s), stays silent or hangs up, the payment is reversed (``backend.undo``).

The ``backend`` is the terminal behind us (``firmware.zvt_pt``): ``tid``, ``version``,
``pay(cents, refund, session)``, ``reverse(receipt_no, session)``, ``end_of_day(session)``,
``last()``, ``booked(record)``, ``undo(record)``, ``slip(record, copy, width)`` and
``print(record)``. Its records are what ``messages.status_information`` reads (``result`` 0 =
approved). ``session.say(code)`` sends an Intermediate Status; ``session.cancelled`` is set by
the ECR's Abort.
"""

import asyncio

from core.errors import ProtocolError
from payment.zvt import messages as m

T3_MS = 5000
WAIT_MS = 2000  # after 84 9C: the ECR wants the Status Information again in 2 s
MERCHANT, CARDHOLDER = 1, 2
_NEEDS_REGISTRATION = (m.AUTHORIZATION, m.REFUND, m.REVERSAL, m.END_OF_DAY, m.REPEAT_RECEIPT)
_PASSWORDED = (m.REGISTRATION, m.REVERSAL, m.REFUND, m.END_OF_DAY, m.REPEAT_RECEIPT)


def _negative(code):
    return (m.NEGATIVE << 8) | code


class PtServer:
    """What our PT remembers between connections: the ECR's Registration."""

    def __init__(self, backend, password="000000", log=None, t3_ms=T3_MS):
        self.backend = backend
        self.password = password
        self.log = log
        self.t3_ms = t3_ms
        self.config = m.AFTER_LOG_OFF
        self.registered = False
        self.tlv = False  # the ECR enabled TLV containers
        self.block = False  # the ECR permitted Print Text Block (06 D3)
        self.width = 40  # its printer's characters per line (Registration TLV 12)
        self.busy = False  # an ECR's command is under way

    async def serve(self, wire):
        """One ECR connection, until it hangs up."""
        session = Session(self, wire)
        try:
            await session.run()
        finally:
            wire.close()


class Session:
    def __init__(self, server, wire):
        self.server = server
        self.wire = wire
        self.inbox = []
        self.arrived = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.closed = False
        self.aborts = 0  # ECR Aborts received while we were master, still to be answered

    def _log(self, text, *args):
        if self.server.log is not None:
            self.server.log.info("zvt pt: " + text, *args)

    async def _pump(self):
        try:
            while True:
                control, data = await self.wire.receive(None)
                if control == m.ABORT:
                    self.cancelled.set()
                self.inbox.append((control, data))
                self.arrived.set()
        except (EOFError, OSError, ProtocolError):
            self.closed = True
            self.cancelled.set()  # an ECR that hung up pays for nothing
            self.arrived.set()

    async def next(self, timeout_ms=None):
        """The ECR's next APDU; ``EOFError`` when it hung up, ``asyncio.TimeoutError``."""
        while not self.inbox:
            if self.closed:
                raise EOFError("the ECR hung up")
            self.arrived.clear()
            if timeout_ms is None:
                await self.arrived.wait()
            else:
                await asyncio.wait_for(self.arrived.wait(), timeout_ms / 1000)
        return self.inbox.pop(0)

    async def run(self):
        pump = asyncio.create_task(self._pump())
        try:
            while True:
                try:
                    control, data = await self.next()
                    await self._command(control, data)
                except (EOFError, OSError):  # the ECR hung up
                    return
        finally:
            pump.cancel()

    # --- master: we send, the ECR answers ---------------------------------------------------------

    async def tell(self, control, data=b""):
        """Send and wait T3 for the ECR's answer: 0 (``80 00``, ``84 00``) or its ``84`` code.
        ``EOFError``/``asyncio.TimeoutError`` when none came."""
        await self.wire.send(control, data)
        while True:
            got, _ = await self.next(self.server.t3_ms)
            if got == m.ABORT:
                self.aborts += 1
                continue
            if got == m.ACK:
                return 0
            if got >> 8 == m.NEGATIVE:
                return got & 0xFF
            self._log("ignored %04X while master", got)

    async def say(self, code, texts=None):
        """An Intermediate Status, when the ECR asked for them (config 0x08)."""
        if self.server.config & m.WANTS_STATUS:
            await self.tell(m.INTERMEDIATE, m.intermediate_data(code, None, texts))

    async def _answer_aborts(self):
        while self.inbox and self.inbox[0][0] == m.ABORT:
            self.inbox.pop(0)
            self.aborts += 1
        while self.aborts:
            self.aborts -= 1
            await self.wire.send(m.ACK)

    # --- the commands -----------------------------------------------------------------------------

    async def _command(self, control, data):
        server = self.server
        name = m.NAMES.get(control, "%04X" % control)
        handler = {
            m.REGISTRATION: self._registration,
            m.AUTHORIZATION: self._pay,
            m.REFUND: self._pay,
            m.REVERSAL: self._reversal,
            m.END_OF_DAY: self._end_of_day,
            m.REPEAT_RECEIPT: self._repeat,
            m.STATUS_ENQUIRY: self._enquiry,
            m.DIAGNOSIS: self._diagnosis,
            m.LOG_OFF: self._log_off,
            m.ABORT: self._idle_abort,
        }.get(control)
        if handler is None:
            self._log("%s not supported", name)
            await self.wire.send(_negative(m.NOT_POSSIBLE))
            return
        try:
            ask = m.command(control, data)
        except ProtocolError as e:
            self._log("%s refused: %s", name, e)
            await self.wire.send(_negative(m.PROTOCOL))
            return
        if control in _PASSWORDED and ask.get("password") != server.password:
            self._log("%s refused: wrong password", name)
            await self.wire.send(_negative(m.NOT_POSSIBLE))
            return
        if control in _NEEDS_REGISTRATION and not server.registered:
            await self.wire.send(_negative(0x6B))
            return
        if ask.get("currency", m.EUR) != m.EUR:
            await self.wire.send(_negative(m.WRONG_CURRENCY))
            return
        self._log("%s", name)
        self.cancelled = asyncio.Event()
        server.busy = True
        try:
            await handler(control, ask)
        except (EOFError, OSError, asyncio.TimeoutError):
            self._log("%s: the ECR stopped answering", name)
        finally:
            server.busy = False

    async def _registration(self, control, ask):
        server = self.server
        objects = ask.get("tlv")
        server.config = ask["config"]
        server.tlv = objects is not None
        server.block = False
        if objects:
            allowed = objects.get(0x26, b"")
            server.block = b"\x0a\x02\x06\xd3" in allowed
            width = objects.get(0x12)
            if width:
                server.width = max(20, min(width[0], 80))
        server.registered = True
        await self.wire.send(m.ACK)
        currency = m.EUR if "currency" in ask else None
        await self.tell(m.COMPLETION, m.completion_data(server.backend.tid, currency, 0x00))

    async def _pay(self, control, ask):
        await self.wire.send(m.ACK)
        cents = ask.get("amount")
        if not cents:
            await self.tell(m.ABORTED, m.aborted_data(m.NOT_POSSIBLE))
            return
        record = await self.server.backend.pay(cents, control == m.REFUND, self)
        await self._answer_aborts()
        await self._result(record)

    async def _reversal(self, control, ask):
        await self.wire.send(m.ACK)
        record = await self.server.backend.reverse(ask["receipt_no"], self)
        await self._result(record)

    async def _result(self, record, book=True):
        """The Status Information, the receipt, then Completion (or Abort for a decline); the
        backend books the payment only once the ECR took all but the Completion."""
        backend = self.server.backend
        data = m.status_information_data(dict(record, tlv=self.server.tlv))
        if record["result"] != m.OK:
            await self.tell(m.STATUS_INFO, data)
            await self.tell(m.ABORTED, m.aborted_data(record["result"]))
            return
        taken = False
        try:
            code = await self.tell(m.STATUS_INFO, data)
            while code == 0x9C:  # "please wait": the same again in 2 s
                await asyncio.sleep(WAIT_MS / 1000)
                code = await self.tell(m.STATUS_INFO, data)
            taken = code == 0 and await self._print(record)
        finally:
            if book:
                if taken:
                    await backend.booked(record)
                else:
                    self._log("the ECR did not take the payment: reversing")
                    await backend.undo(record)
        if taken:
            await self.tell(m.COMPLETION)
        else:
            await self.tell(m.ABORTED, m.aborted_data(m.TIMEOUT_OR_ABORT))

    async def _print(self, record):
        """The receipt: sent to the ECR when it prints (True when it took every line), else our
        printer's."""
        server = self.server
        if not server.config & m.PRINTS_PAYMENT:
            server.backend.print(record)
            return True
        for copy in (MERCHANT, CARDHOLDER):
            lines = server.backend.slip(record, copy, server.width)
            if server.block:
                if await self.tell(m.PRINT_BLOCK, m.print_block_data(copy, lines)):
                    return False
                continue
            for i, line in enumerate(lines):
                last = i == len(lines) - 1
                if await self.tell(m.PRINT_LINE, m.print_line_data(0x81 if last else 0x00, line)):
                    return False
        return True

    async def _end_of_day(self, control, ask):
        await self.wire.send(m.ACK)
        record = await self.server.backend.end_of_day(self)
        await self.tell(m.STATUS_INFO, m.status_information_data(dict(record, tlv=self.server.tlv)))
        if self.server.config & m.PRINTS_ADMIN:
            lines = self.server.backend.slip(record, MERCHANT, self.server.width)
            for i, line in enumerate(lines):
                await self.tell(m.PRINT_LINE, m.print_line_data(0x81 if i == len(lines) - 1 else 0x00, line))
        elif record["result"] == m.OK:
            self.server.backend.print(record)  # the ECR prints no admin receipts: ours does
        if record["result"] == m.OK:
            await self.tell(m.COMPLETION)
        else:
            await self.tell(m.ABORTED, m.aborted_data(record["result"]))

    async def _repeat(self, control, ask):
        await self.wire.send(m.ACK)
        record = self.server.backend.last()
        if record is None:
            await self.tell(m.ABORTED, m.aborted_data(m.NOT_POSSIBLE))
            return
        await self._result(record, book=False)

    async def _enquiry(self, control, ask):
        await self.wire.send(m.ACK)
        backend = self.server.backend
        if ask.get("service", 0) & 0x02:  # no software version wanted
            await self.tell(m.COMPLETION, bytes((0x00,)))
        else:
            await self.tell(m.COMPLETION, m.enquiry_completion_data(backend.version))

    async def _diagnosis(self, control, ask):
        await self.wire.send(m.ACK)
        await self.say(m.PLEASE_WAIT)
        await self.tell(m.COMPLETION, m.completion_data(self.server.backend.tid))

    async def _log_off(self, control, ask):
        server = self.server
        server.config, server.tlv, server.block, server.registered = m.AFTER_LOG_OFF, False, False, False
        await self.wire.send(m.ACK)

    async def _idle_abort(self, control, ask):
        await self.wire.send(m.ACK)  # nothing runs: nothing to stop
