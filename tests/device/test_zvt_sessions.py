"""ZVT's sessions over real loopback TCP on both runtimes: our ECR side against a peer that
plays the reference's frames byte for byte (PAYMENTS.md §5.7) and checks ours, our PT side
against an ECR that does the same, and then the two of ours for what a script cannot show:
T3 and T4 (re-armed by every Intermediate Status), an Abort while the PT waits for the card,
a decline, an ECR that drops the line after the Status Information (the payment is undone),
``84 9C`` (the same again), Repeat Receipt, Reversal, Refund, End-of-Day, Status Enquiry,
Log-Off, a wrong password and a payment before Registration."""

import asyncio

from support import listen, run
from zvt_backend import Backend

from payment.zvt import codec
from payment.zvt import messages as m
from payment.zvt.ecr import Ecr
from payment.zvt.pt import PtServer
from payment.zvt.wire import TcpWire


def H(text):
    return bytes.fromhex(text.replace(" ", ""))


class Script:
    """A peer on one connection: ``("in", bytes)`` must arrive exactly, ``("out", bytes)`` is
    sent, ``("wait", seconds)`` is silence."""

    def __init__(self, steps):
        self.steps = steps
        self.failed = None
        self.done = asyncio.Event()

    async def serve(self, reader, writer):
        stream, got = codec.Stream(), []
        try:
            for kind, raw in self.steps:
                if kind == "wait":  # silence, then hang up
                    await asyncio.sleep(raw)
                    continue
                if kind == "out":
                    writer.write(raw)
                    await writer.drain()
                    continue
                while not got:
                    chunk = await asyncio.wait_for(reader.read(256), 3)
                    if not chunk:
                        raise AssertionError("closed before %s" % raw)
                    got += stream.feed(chunk)
                apdu = codec.encode(*got.pop(0))
                if apdu != raw:
                    raise AssertionError("got %s, want %s" % (apdu, raw))
        except Exception as e:
            self.failed = e
        self.done.set()
        writer.close()


def _connector(port):
    async def connect():
        return await TcpWire.connect("127.0.0.1", port, 2000)

    return connect


async def _against_script(steps, act):
    script = Script(steps)
    server, port = await listen(script.serve)
    try:
        result = await act(_connector(port))
        await asyncio.wait_for(script.done.wait(), 3)
        assert script.failed is None, script.failed
        return result
    finally:
        server.close()


STATUS = H(
    "040F77 2700 04000000002040 0B000470 0C223953 0D1006 0E2512 170001 1970 22F0F8EEEEEEEEEEEE4771"
    "2928004869 2A313030343631373633202020202020 3B3631313830340000 3CF0F1F447454E2E4E522E3A363131383034"
    "490978 870470 88000470 8A2E 8BF1F74465626974204D61737465726361726400"
)


def test_our_ecr_against_the_reference_exchange():
    seen = []

    async def show(code, text):
        seen.append((code, text))

    async def act(connect):
        ecr = Ecr(connect, "000000", on_status=show)
        reg = await ecr.register(tlv=False)
        pay = await ecr.pay(314)
        return reg, pay

    steps_reg = [
        ("in", H("060006000000BA0978")),
        ("out", H("800000")),
        ("out", H("060F0A 1900 2929001234 490978")),
        ("in", H("800000")),
    ]
    steps_pay = [
        ("in", H("06010704000000000314")),
        ("out", H("800000")),
        ("out", H("04FF010A")),
        ("in", H("800000")),
        ("out", STATUS),
        ("in", H("800000")),
        ("out", codec.encode(m.PRINT_LINE, H("00") + b"KUNDENBELEG")),
        ("in", H("800000")),
        ("out", codec.encode(m.PRINT_LINE, H("81") + b"Zahlung erfolgt")),
        ("in", H("800000")),
        ("out", H("060F00")),
        ("in", H("800000")),
    ]

    async def both():
        script = Script(steps_reg)
        script2 = Script(steps_pay)
        scripts = [script, script2]

        async def serve(r, w):
            await scripts.pop(0).serve(r, w)

        server, port = await listen(serve)
        try:
            reg, pay = await act(_connector(port))
            for s in (script, script2):
                await asyncio.wait_for(s.done.wait(), 3)
                assert s.failed is None, s.failed
            return reg, pay
        finally:
            server.close()

    reg, pay = run(both())
    assert reg.ok and reg.completion["tid"] == "29001234"
    assert pay.ok and pay.status["amount"] == 2040 and pay.status["receipt_no"] == 470
    assert pay.lines == [(0, ["KUNDENBELEG", "Zahlung erfolgt"])]
    assert seen == [(m.INSERT_CARD, "Karte einstecken")]


def test_our_ecr_reads_an_abort_and_a_refusal():
    async def act(connect):
        return await Ecr(connect).pay(314)

    aborted = run(
        _against_script(
            [
                ("in", H("06010704000000000314")),
                ("out", H("800000")),
                ("out", H("061E016C")),
                ("in", H("800000")),
            ],
            act,
        )
    )
    assert not aborted.ok and aborted.code == 0x6C and not aborted.lost
    refused = run(_against_script([("in", H("06010704000000000314")), ("out", H("848300"))], act))
    assert not refused.ok and refused.code == 0x83 and refused.text == "Funktion nicht möglich"
    # 84 00 is positive too; an unknown message is answered 84 83 00
    odd = run(
        _against_script(
            [
                ("in", H("06010704000000000314")),
                ("out", H("840000")),
                ("out", H("0699 00")),
                ("in", H("848300")),
                ("out", H("060F00")),
                ("in", H("800000")),
            ],
            act,
        )
    )
    assert odd.ok


def test_t3_and_a_lost_result():
    async def act(connect):
        return await Ecr(connect, t3_ms=300, t4_ms=300).pay(100)

    silent = run(_against_script([("in", H("06010704000000000100")), ("wait", 0.5)], act))
    assert not silent.ok and not silent.lost and "T3" in silent.text
    lost = run(
        _against_script(
            [
                ("in", H("06010704000000000100")),
                ("out", H("800000")),
                ("out", H("04FF010E")),
                ("in", H("800000")),
                ("wait", 0.5),
            ],
            act,
        )
    )
    assert lost.lost and "T4" in lost.text


async def _pt(backend, password="000000"):
    server = PtServer(backend, password, t3_ms=1000)
    srv, port = await listen(lambda r, w: server.serve(TcpWire(r, w)))
    return server, srv, port


def test_our_pt_against_the_reference_frames():
    async def go():
        backend = Backend()
        server, srv, port = await _pt(backend)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            stream, got = codec.Stream(), []

            async def expect(raw):
                while not got:
                    got.extend(stream.feed(await asyncio.wait_for(reader.read(256), 3)))
                assert codec.encode(*got.pop(0)) == raw

            async def say(raw):
                writer.write(raw)
                await writer.drain()

            await say(H("060006000000BA0978"))  # the reference's Registration
            await expect(H("800000"))
            await expect(H("060F0A 1900 2929001234 490978"))
            await say(H("800000"))
            await say(H("06010704000000000314"))  # Authorization 3,14 EUR
            await expect(H("800000"))
            await expect(H("04FF010A"))  # insert card
            await say(H("800000"))
            await expect(H("04FF0101"))  # watch the PIN pad
            await say(H("800000"))
            while not got:
                got.extend(stream.feed(await asyncio.wait_for(reader.read(512), 3)))
            control, data = got.pop(0)
            assert control == m.STATUS_INFO
            rec = m.status_information(data)
            assert rec["amount"] == 314 and rec["receipt_no"] == 1 and rec["card_type"] == 0x06
            assert rec["pan"] == "************0011" and "aid" not in rec  # TLV was not enabled
            await say(H("800000"))
            await expect(codec.encode(m.PRINT_LINE, H("00") + b"HAENDLERBELEG"))
            await say(H("800000"))
            await expect(codec.encode(m.PRINT_LINE, H("81") + b"EUR 314"))
            await say(H("800000"))
            await expect(codec.encode(m.PRINT_LINE, H("00") + b"KUNDENBELEG"))
            await say(H("800000"))
            await expect(codec.encode(m.PRINT_LINE, H("81") + b"EUR 314"))
            await say(H("800000"))
            await expect(H("060F00"))
            await say(H("800000"))
            writer.close()
            await asyncio.sleep(0.05)
            assert [r["amount"] for r in backend.booked_] == [314] and not backend.undone
        finally:
            srv.close()

    run(go())


def test_our_ecr_and_pt_pay_refund_reverse_and_close():
    async def go():
        backend = Backend()
        server, srv, port = await _pt(backend)
        try:
            ecr = Ecr(_connector(port))
            unregistered = await ecr.pay(100)
            assert not unregistered.ok and unregistered.code == 0x6B
            assert (await ecr.register()).ok and server.tlv and server.config == m.CONFIG
            pay = await ecr.pay(1250)
            assert pay.ok and pay.status["aid"] == "A0000000041010" and pay.status["cvm"] == "online PIN"
            assert pay.status["technology"] == "contactless"
            assert [copy for copy, _ in pay.lines] == [0, 0] and pay.lines[1][1][0] == "KUNDENBELEG"
            again = await ecr.repeat_receipt()
            assert again.ok and again.status["receipt_no"] == pay.status["receipt_no"]
            refund = await ecr.refund(200)
            assert refund.ok and backend.booked_[-1]["kind"] == "refund"
            rev = await ecr.reverse(pay.status["receipt_no"])
            assert rev.ok and rev.status["original_trace"] == pay.status["trace"]
            twice = await ecr.reverse(pay.status["receipt_no"])
            assert not twice.ok and twice.code == m.ALREADY_REVERSED
            unknown = await ecr.reverse(77)
            assert not unknown.ok and unknown.code == m.NO_REVERSAL
            backend.decline = True
            declined = await ecr.pay(500)
            assert not declined.ok and declined.code == 0x05 and declined.status["result"] == 0x05
            eod = await ecr.end_of_day()
            assert eod.ok and eod.status["amount"] == 0  # the one payment was reversed
            enquiry = await ecr.status_enquiry()
            assert enquiry.ok and enquiry.completion == {"version": "smartECR test", "status": 0}
            assert (await ecr.diagnosis()).ok
            assert (await ecr.log_off()).ok and not server.registered
            wrong = await Ecr(_connector(port), "123456").register()
            assert not wrong.ok and wrong.code == m.NOT_POSSIBLE
        finally:
            srv.close()

    run(go())


def test_t4_is_rearmed_and_an_abort_stops_the_card_wait():
    async def go():
        backend = Backend()
        server, srv, port = await _pt(backend)
        try:
            prompts = []

            async def show(code, text):
                prompts.append(code)

            ecr = Ecr(_connector(port), on_status=show, t4_ms=400)
            assert (await ecr.register()).ok

            async def slow_pay(cents, refund, session):  # four prompts 250 ms apart: 1 s > T4
                for _ in range(4):
                    await session.say(m.PLEASE_WAIT)
                    await asyncio.sleep(0.25)
                return await Backend.pay(backend, cents, refund, session)

            backend.pay = slow_pay
            assert (await ecr.pay(300)).ok and prompts.count(m.PLEASE_WAIT) == 4
            del backend.pay

            async def abort_soon():
                await asyncio.sleep(0.2)
                await ecr.abort()

            task = asyncio.create_task(abort_soon())
            stopped = await ecr.pay(999)
            await task
            assert not stopped.ok and stopped.code == m.TIMEOUT_OR_ABORT and not stopped.lost
        finally:
            srv.close()

    run(go())


def test_an_ecr_that_does_not_take_the_payment_gets_it_undone():
    async def go():
        backend = Backend()
        server, srv, port = await _pt(backend)
        try:
            assert (await Ecr(_connector(port)).register()).ok
            # the ECR hangs up right after the Status Information
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(codec.encode(m.AUTHORIZATION, m.authorization(700)))
            await writer.drain()
            stream, got = codec.Stream(), []
            while not any(c == m.STATUS_INFO for c, _ in got):
                chunk = await asyncio.wait_for(reader.read(512), 3)
                assert chunk, got
                for control, _ in stream.feed(chunk):
                    got.append((control, _))
                    if control not in (m.ACK, m.STATUS_INFO):
                        writer.write(codec.encode(m.ACK))
            writer.close()
            for _ in range(40):
                if backend.undone:
                    break
                await asyncio.sleep(0.05)
            assert [r["amount"] for r in backend.undone] == [700] and not backend.booked_
            # "84 9C": the ECR wants the Status Information again; then it takes it
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(codec.encode(m.AUTHORIZATION, m.authorization(800)))
            await writer.drain()
            stream, infos, waited = codec.Stream(), 0, False
            while True:
                chunk = await asyncio.wait_for(reader.read(512), 5)
                assert chunk, infos
                done = False
                for control, _ in stream.feed(chunk):
                    if control == m.ACK:  # the PT took the command
                        continue
                    if control == m.STATUS_INFO:
                        infos += 1
                        if not waited:
                            waited = True
                            writer.write(codec.encode(0x849C))
                            continue
                    writer.write(codec.encode(m.ACK))
                    done = control in (m.COMPLETION, m.ABORTED)
                if done:
                    break
            writer.close()
            assert infos == 2 and [r["amount"] for r in backend.booked_] == [800]
        finally:
            srv.close()

    run(go())


def test_print_text_blocks_when_the_register_permits_them_and_set_time_is_taken():
    async def go():
        backend = Backend()
        server, srv, port = await _pt(backend)
        try:
            ecr = Ecr(_connector(port))
            permitted = [(0x26, [(0x0A, b"\x06\xd3")]), (0x12, b"\x20")]  # 06 D3 allowed, 32 columns
            reg = await ecr.run(m.REGISTRATION, m.registration("000000", m.CONFIG, objects=permitted))
            assert reg.ok and server.block and server.width == 32
            pay = await ecr.pay(420)
            assert pay.ok and [copy for copy, _ in pay.lines] == [1, 2]  # merchant's, cardholder's
            assert pay.lines[1][1] == ["KUNDENBELEG", "EUR 420"]
        finally:
            srv.close()

    run(go())

    # a PT that sets our clock during the command (04 01): acknowledged like any other message
    async def act(connect):
        return await Ecr(connect).diagnosis()

    result = run(
        _against_script(
            [
                ("in", H("067000")),
                ("out", H("800000")),
                ("out", H("040108 AA261202 0C143000")),
                ("in", H("800000")),
                ("out", H("060F00")),
                ("in", H("800000")),
            ],
            act,
        )
    )
    assert result.ok
