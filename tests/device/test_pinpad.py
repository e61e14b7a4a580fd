"""The PIN pad on both runtimes: the card's PIN block, offline verification with the card's
answers (right, wrong with tries left, blocked, bypassed), online entry, and the simulator's
keypad over loopback. The PIN never leaves the PIN pad: its buffers are wiped."""

import asyncio
import socket

from support import run

from hal import pinpad
from hal.sim.pinpad import KeypadPinPad

H = bytes.fromhex


class Card:
    """Answers VERIFY: the right PIN block gets 9000, a wrong one 63Cx until blocked."""

    def __init__(self, pin_block, tries=3):
        self.block = pin_block
        self.tries = tries
        self.seen = []

    async def transmit(self, apdu):
        self.seen.append(bytes(apdu[:4]))
        if self.tries == 0:
            return H("6983")
        if bytes(apdu[5:]) == self.block:
            return H("9000")
        self.tries -= 1
        return bytes((0x63, 0xC0 | self.tries))


class Scripted(pinpad.PinPad):
    def __init__(self, *entries):
        self.entries = [None if e is None else bytearray(e) for e in entries]
        self.given = []
        self.events = []
        self.on_event = self._event

    async def _event(self, kind, value):
        self.events.append((kind, value))

    async def _entry(self):
        entry = self.entries.pop(0)
        self.given.append(entry)
        return entry


def test_the_cards_pin_block():
    assert pinpad.pin_block(b"1234") == H("241234FFFFFFFFFF")
    assert pinpad.pin_block(b"123456789012") == H("2C123456789012FF")
    for bad in (b"123", b"12a4", b"1234567890123"):
        try:
            pinpad.pin_block(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_offline_pin_right_wrong_blocked_and_bypassed():
    card = Card(H("241234FFFFFFFFFF"))
    pad = Scripted(b"9999", b"1234")
    assert run(pad.verify(0x01, card)) == pinpad.OK
    assert card.seen == [H("00200080")] * 2 and card.tries == 2
    assert ("wrong", 2) in pad.events and ("digits", 4) in pad.events
    assert all(e == bytearray(len(e)) for e in pad.given)  # every entry wiped
    card = Card(H("241234FFFFFFFFFF"), tries=1)
    assert run(Scripted(b"0000").verify(0x01, card)) == pinpad.BLOCKED  # 63C0: the last try spent
    assert run(Scripted(b"1234").verify(0x01, card)) == pinpad.BLOCKED  # 6983 from then on
    assert run(Scripted(None).verify(0x01, Card(b""))) == pinpad.BYPASSED
    assert run(Scripted(b"1", b"2", b"3").verify(0x01, Card(b""))) == pinpad.WRONG  # not a PIN: asked again
    assert run(Scripted(b"1234").verify(0x04, Card(b""))) == pinpad.FAILED  # enciphered: not offered


def test_online_pin_is_taken_and_wiped():
    pad = Scripted(b"4321")
    assert run(pad.verify(0x02, Card(b""))) == pinpad.OK and pad.given[0] == bytearray(4)
    assert pad.events[0] == ("enter", 0x02)
    assert run(Scripted(b"").verify(0x02, Card(b""))) == pinpad.BYPASSED


async def _keypad_session(pad, port):
    keypad = socket.socket()
    keypad.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    keypad.send(b"12")
    first = asyncio.create_task(pad._entry())
    await asyncio.sleep(0.1)
    keypad.send(b"34\n9876\nC\n")  # an entry split across sends, another, then a cancel
    got = [await first, await pad._entry(), await pad._entry()]
    keypad.send(b"5678\n")
    await asyncio.sleep(0.1)
    pad.clear()  # typed ahead, the payment over: dropped
    pad.timeout_s = 0.2
    got.append(await pad._entry())
    keypad.close()
    return got


def test_the_simulators_keypad_sends_lines():
    port = 39000 + (id(test_the_simulators_keypad_sends_lines) % 2000)
    pad = KeypadPinPad(port)
    try:
        assert run(_keypad_session(pad, port)) == [bytearray(b"1234"), bytearray(b"9876"), None, None]
    finally:
        pad.close()
