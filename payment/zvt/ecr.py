"""The register's side of ZVT (device code): our terminal drives an external payment terminal.

    ecr = Ecr(connect, "000000", on_status=show, log=log)   # connect(): a new wire (TCP: a connection)
    await ecr.register()               # config byte BA: we print, we want status, we control
    result = await ecr.pay(314)        # Result: ok, code, text, status (the payment record), lines
    await ecr.reverse(receipt_no)      # the PT's receipt number (BMP 87)
    await ecr.refund(500); await ecr.end_of_day(); await ecr.repeat_receipt()
    await ecr.status_enquiry(); await ecr.diagnosis(); await ecr.log_off()
    await ecr.abort()                  # while a payment waits for the card

The flow of a command (PA00P016 §5.1-5.2): we send it and wait T3 (5 s) for ``80 00 00``
(``84 xx`` refuses it; ``84 00`` is positive too). From then on the PT is master until its
Completion (``06 0F``) or Abort (``06 1E``): every message it sends is answered ``80 00 00``
at once — Intermediate Status (the customer's prompt: ``on_status(code, text)``), Status
Information (the payment record), Print Line / Print Text Block (the receipt lines we print),
Set Date/Time — and each of them re-arms T4 (180 s; an Intermediate Status may carry a new T4
in minutes). A message we do not know is answered ``84 83 00`` ("function not possible").

A payment whose result did not come (the connection dropped or T4 ran out after the PT took
the command) is ``Result.lost``: the PT may have approved it. The caller asks the PT again with
Repeat Receipt (``recover``), which resends the last payment's Status Information; the
request was journaled before it was sent (docs/payments.md, "ZVT: a lost result").
"""

import asyncio

from core.errors import ProtocolError
from payment.zvt import messages as m

T3_MS, T4_MS = 5000, 180000


class Result:
    """What a command came to: ``ok``; ``code`` (the result code, 0 ok); ``text``; ``status``
    (the Status Information as ``messages.status_information`` reads it, or None); ``lines``
    (``[(copy, [text, ...]), ...]``: the receipts the PT sent to print, copy 1 merchant, 2
    cardholder, 0 unsaid); ``completion`` (its data read); ``lost``: no result after the PT took
    the command."""

    def __init__(self, ok, code=0, text="", status=None, lines=None, completion=None, lost=False):
        self.ok = ok
        self.code = code
        self.text = text or m.result_text(code)
        self.status = status
        self.lines = lines or []
        self.completion = completion or {}
        self.lost = lost

    def __repr__(self):
        return "Result(ok=%r, code=%02X, text=%r, lost=%r)" % (self.ok, self.code, self.text, self.lost)


class Ecr:
    def __init__(self, connect, password="000000", t3_ms=T3_MS, t4_ms=T4_MS, on_status=None, log=None):
        self.connect = connect
        self.password = password
        self.t3_ms = t3_ms
        self.t4_ms = t4_ms
        self.on_status = on_status  # async (code, text): the PT's prompt for the customer
        self.log = log
        self.config = m.CONFIG
        self.tid = None  # from the Registration's completion
        self._wire = None  # the connection of the command under way

    # --- the commands --------------------------------------------------------------------------

    async def register(self, config=m.CONFIG, tlv=True):
        self.config = config
        result = await self.run(
            m.REGISTRATION, m.registration(self.password, config, objects=[] if tlv else None)
        )
        if result.ok:
            self.tid = result.completion.get("tid", self.tid)
        return result

    async def pay(self, cents, timeout_s=None, max_infos=None):
        return await self.run(m.AUTHORIZATION, m.authorization(cents, None, None, timeout_s, max_infos))

    async def reverse(self, receipt_no, cents=None):
        return await self.run(m.REVERSAL, m.reversal(self.password, receipt_no, cents))

    async def refund(self, cents):
        return await self.run(m.REFUND, m.refund(self.password, cents))

    async def end_of_day(self):
        return await self.run(m.END_OF_DAY, m.with_password(self.password))

    async def repeat_receipt(self):
        return await self.run(m.REPEAT_RECEIPT, m.with_password(self.password))

    async def status_enquiry(self):
        return await self.run(m.STATUS_ENQUIRY, m.status_enquiry(self.password))

    async def diagnosis(self):
        return await self.run(m.DIAGNOSIS)

    async def log_off(self):
        return await self.run(m.LOG_OFF, long=False)

    async def abort(self):
        """Ask the PT to stop: on the running command's connection (the PT may refuse while it
        is master: PA00P015 §2.10), else as a command of its own."""
        if self._wire is not None:
            await self._wire.send(m.ABORT)
            return Result(True)
        return await self.run(m.ABORT, long=False)

    # --- one command ---------------------------------------------------------------------------

    async def run(self, control, data=b"", long=True):
        wire = await self.connect()
        self._wire = wire
        name = m.NAMES.get(control, "%04X" % control)
        try:
            if self.log is not None:
                self.log.info("zvt: %s sent", name)
            await wire.send(control, data)
            try:
                answer, adata = await wire.receive(self.t3_ms)
            except asyncio.TimeoutError:
                return Result(False, m.COMMUNICATION, "keine Antwort vom Terminal (T3)")
            refused = self._refused(answer, adata)
            if refused is not None:
                return refused
            if not long:
                return Result(True)
            return await self._master(wire, control)
        except (EOFError, OSError, ProtocolError) as e:
            if self.log is not None:
                self.log.warning("zvt: %s: %s", name, e)
            return Result(False, m.COMMUNICATION, str(e), lost=True)
        finally:
            self._wire = None
            wire.close()

    def _refused(self, control, data):
        """None for ``80 00`` / ``84 00``, else the Result of the refusal."""
        if control == m.ACK or control == (m.NEGATIVE << 8):
            return None
        if control >> 8 == m.NEGATIVE:
            return Result(False, control & 0xFF)
        raise ProtocolError("answered %04X, not 80 00 or 84 xx" % control)

    async def _master(self, wire, command):
        """The PT is master: answer all it sends until Completion or Abort (T4 between them)."""
        status, lines, copy = None, [], []
        t4 = self.t4_ms
        while True:
            try:
                control, data = await wire.receive(t4)
            except asyncio.TimeoutError:
                return Result(
                    False, m.COMMUNICATION, "keine Antwort vom Terminal (T4)", status, lines, lost=True
                )
            if control in (m.ACK, m.NEGATIVE << 8):  # the PT's answer to our Abort
                continue
            if control == m.INTERMEDIATE:
                code, minutes, texts = m.intermediate(data)
                t4 = minutes * 60000 if minutes else self.t4_ms
                await wire.send(m.ACK)
                if self.on_status is not None:
                    await self.on_status(code, " ".join(texts) or m.status_text(code))
                continue
            if control == m.STATUS_INFO:
                status = m.status_information(data)
            elif control == m.PRINT_LINE:
                attribute, text = m.print_line(data)
                if attribute != 0xFF:
                    copy.append(text)
                if m.is_last_line(attribute):
                    lines.append((0, copy))
                    copy = []
            elif control == m.PRINT_BLOCK:
                lines.append(m.print_block(data))
            elif control == m.COMPLETION:
                await wire.send(m.ACK)
                if copy:
                    lines.append((0, copy))
                done = m.enquiry_completion(data) if command == m.STATUS_ENQUIRY else m.completion(data)
                code = status["result"] if status is not None else m.OK
                return Result(code == m.OK, code, "", status, lines, done)
            elif control == m.ABORTED:
                await wire.send(m.ACK)
                code, text = m.aborted(data)
                return Result(False, code, text, status, lines)
            elif control != m.SET_TIME:
                await wire.send((m.NEGATIVE << 8) | m.NOT_POSSIBLE)
                continue
            await wire.send(m.ACK)
            t4 = self.t4_ms
