"""The PIN pad on both runtimes: the card's PIN block, offline verification with the card's
answers (right, wrong with tries left, blocked, bypassed), online entry, and the simulator's
keypad over loopback. The PIN never leaves the PIN pad: its buffers are wiped."""

import asyncio
import socket

import oda_vectors as v
from support import TempDir, raises, run

from core.des import des_encrypt, tdes_decrypt, tdes_encrypt
from core.errors import ConfigError
from hal import pinpad
from hal.sim.pinpad import KeypadPinPad
from payment.emv.oda import PublicKey

H = bytes.fromhex


class Card:
    """Answers VERIFY: the right PIN block gets 9000, a wrong one 63Cx until blocked."""

    def __init__(self, pin_block, tries=3):
        self.block = pin_block
        self.tries = tries
        self.seen = []

    async def transmit(self, apdu):
        self.seen.append(bytes(apdu[:4]))
        if bytes(apdu[:4]) == H("00840000"):
            self.challenge = bytes(range(0xA1, 0xA9))
            return self.challenge + H("9000")
        if self.tries == 0:
            return H("6983")
        block = bytes(apdu[5:])
        if apdu[3] == 0x88:  # enciphered with the card's public key: the card deciphers it
            n, d = int.from_bytes(v.ICC_MODULUS, "big"), int.from_bytes(v.ICC_D, "big")
            plain = pow(int.from_bytes(block, "big"), d, n).to_bytes(len(v.ICC_MODULUS), "big")
            ok = plain[0] == 0x7F and plain[9:17] == self.challenge
            block = plain[1:9] if ok else b""
        if block == self.block:
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


KEY = H("A1B2C3D4E5F60718293A4B5C6D7E8F90")
PAN = "4000001234567899"


def _keyed(*entries):
    pad = Scripted(*entries)
    pad.key = KEY
    return pad


def test_the_published_pin_block_vectors():
    # ISO 9564 format 0 (PAYMENTS.md §3.4, checked with psec): PIN 1234, PAN 4111111111111111
    assert pinpad.pin_block_iso0(bytearray(b"1234"), "4111111111111111") == H("041225EEEEEEEEEE")
    assert pinpad.pin_block(b"9999") == H("249999FFFFFFFFFF")  # format 2, the card's (pyemv)


def test_online_pin_is_enciphered_in_format_0_and_wiped():
    pad = _keyed(b"1234")
    assert run(pad.verify(0x02, Card(b""), PAN)) == pinpad.OK and pad.given[0] == bytearray(4)
    assert pad.events[0] == ("enter", 0x02)
    block = pad.take_block()
    # 041234FFFFFFFFFF xor 0000 + 000123456789 (the PAN's 12 digits before the check digit)
    assert tdes_decrypt(KEY, block) == H("041234FEDCBA9876")
    assert pad.take_block() is None  # taken once
    assert run(_keyed(b"").verify(0x02, Card(b""), PAN)) == pinpad.BYPASSED
    assert run(Scripted(b"1234").verify(0x02, Card(b""), PAN)) == pinpad.FAILED  # no key: no online PIN
    assert run(_keyed(b"1234").verify(0x02, Card(b""), "")) == pinpad.FAILED  # no PAN to make it with


def test_des_and_triple_des_by_the_book():
    # FIPS 46-3's worked example (and tests/host/test_emv_peers.py against cryptography)
    assert des_encrypt(H("133457799BBCDFF1"), H("0123456789ABCDEF")) == H("85E813540F0AB405")
    block = tdes_encrypt(KEY, H("041234FEDCBA9876"))
    assert tdes_decrypt(KEY, block) == H("041234FEDCBA9876") and block != H("041234FEDCBA9876")
    assert tdes_encrypt(H("0123456789ABCDEF") * 2, H("00") * 8) == des_encrypt(
        H("0123456789ABCDEF"), H("00") * 8
    )


def test_a_pin_key_must_be_a_test_key():
    d = TempDir()
    try:
        assert pinpad.load_pin_key("data/emv/pin-key-test.json") == KEY
        live = d.write("live.json", '{"zpk": "A1B2C3D4E5F60718293A4B5C6D7E8F90"}')
        assert "live PIN keys are refused" in str(raises(ConfigError, pinpad.load_pin_key, live))
        short = d.write("short.json", '{"zpk": "A1B2", "test": true}')
        assert "16 or 24 bytes" in str(raises(ConfigError, pinpad.load_pin_key, short))
    finally:
        d.cleanup()


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


def test_the_cardholder_picks_an_application_with_a_digit_key():
    pad = Scripted(b"2")
    assert run(pad.choose(["girocard", "Maestro"])) == 1
    assert pad.events[-1] == ("choose", ["girocard", "Maestro"])
    for entry in (b"3", b"0", b"12", b""):  # out of range, no such key, two keys, none
        assert run(Scripted(entry).choose(["girocard", "Maestro"])) is None


def test_an_offline_pin_enciphered_with_the_cards_key():
    key = PublicKey(v.ICC_MODULUS, v.EXPONENT_9F47)
    card = Card(pinpad.pin_block(b"1234"))
    assert run(Scripted(b"1234").verify(0x04, card, "", key)) == pinpad.OK
    assert card.seen == [H("00840000"), H("00200088")]  # GET CHALLENGE, then VERIFY P2 88
    card = Card(pinpad.pin_block(b"1234"))
    assert run(Scripted(b"0000", b"1234").verify(0x04, card, "", key)) == pinpad.OK  # wrong, then right
    assert card.tries == 2
    assert run(Scripted(b"1234").verify(0x04, Card(b""), "", None)) == pinpad.FAILED  # no key
