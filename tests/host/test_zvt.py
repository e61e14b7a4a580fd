"""ZVT against independent references and a real serial line: the serial CRC against crcmod's
catalogue (CRC-16/KERMIT), the CP437 table against CPython's codec, and our ECR paying through
our PT over a null-modem pair of ptys — DLE framing, ACK after every frame, NAK for a broken
one and its repeat — as on a board's serial port."""

import asyncio
import os
import sys

import crcmod.predefined
import pytest

from hal.link import FileLink, PolledLink
from payment.zvt import codec, serial
from payment.zvt import messages as m
from payment.zvt.ecr import Ecr
from payment.zvt.pt import PtServer
from payment.zvt.wire import SerialWire
from tools import upy
from tools.sim.nullmodem import NullModem

sys.path.insert(0, str(upy.ROOT / "tests" / "device"))
from zvt_backend import Backend  # noqa: E402

KERMIT = crcmod.predefined.mkCrcFun("kermit")


def test_the_serial_crc_is_crcmods_kermit():
    for n in (0, 1, 2, 17, 254, 1000):
        data = os.urandom(n)
        assert serial.crc(data) == KERMIT(data)
        framed = serial.frame(data)
        value = KERMIT(data + b"\x03")
        assert framed[-2:] == bytes((value & 0xFF, value >> 8))  # low byte first


def test_cp437_is_cpythons_code_page():
    every = bytes(range(256))
    assert codec.text(every) == every.decode("cp437")
    text = every.decode("cp437")
    assert codec.cp437(text) == text.encode("cp437")
    assert codec.cp437("Straße €") == "Straße ?".encode("cp437")


@pytest.fixture
def cable():
    c = NullModem().start()
    yield c
    c.stop()


def _link(path):
    return PolledLink(FileLink(path), path)


def test_our_ecr_pays_through_our_pt_over_a_serial_line(cable):
    async def go():
        backend = Backend()
        server = PtServer(backend, "000000")
        pt_wire = SerialWire(_link(cable.device))
        serving = asyncio.create_task(server.serve(pt_wire))
        ecr_wire = SerialWire(_link(cable.path))

        async def connect():
            return ecr_wire

        ecr = Ecr(connect)
        ecr_wire.close = lambda: None  # one line for all commands: it stays open
        try:
            assert (await ecr.register()).ok
            pay = await ecr.pay(1000)  # 10.00 EUR: a 10 in the data, doubled on the line
            assert pay.ok and pay.status["amount"] == 1000
            assert [r["amount"] for r in backend.booked_] == [1000]
        finally:
            serving.cancel()
            pt_wire.link.close()
            ecr_wire.link.close()

    asyncio.run(go())


def test_a_broken_frame_is_nakd_and_a_good_one_acked(cable):
    async def go():
        wire = SerialWire(_link(cable.device))
        line = _link(cable.path)
        receiving = asyncio.create_task(wire.receive(3000))
        good = serial.frame(codec.encode(m.AUTHORIZATION, m.authorization(314)))
        bad = bytearray(good)
        bad[6] ^= 0x01  # one bit flipped in the amount
        await line.send(bytes(bad))
        assert await line.recv(1, 2000) == bytes((serial.NAK,))
        await line.send(good)
        assert await line.recv(1, 2000) == bytes((serial.ACK,))
        assert await receiving == (m.AUTHORIZATION, m.authorization(314))
        # our sender repeats a frame the other end NAKs, and stops after two repeats
        sending = asyncio.create_task(wire.send(m.ACK))
        for answer in (serial.NAK, serial.ACK):
            frame = await line.recv(64, 2000)
            assert frame == serial.frame(codec.encode(m.ACK))
            await line.send(bytes((answer,)))
        await sending
        wire.t2_ms = 300
        with pytest.raises(Exception, match="no ACK after 2 repeats"):
            await wire.send(m.ACK)
        line.close()
        wire.close()

    asyncio.run(go())
