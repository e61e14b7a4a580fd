"""The PIN pad: the customer's keypad for the PIN (device code). The application never gets
the PIN: it asks for a verification and gets events and an outcome.

    pinpad.on_event = show            # async show(kind, value): "enter" method, "digits" n, "wrong" n left,
                                      # "choose" labels
    index = await pinpad.choose(labels)             # the cardholder's pick of a card's applications
    outcome = await pinpad.verify(method, reader)   # OK, WRONG, BLOCKED, BYPASSED, FAILED

Offline plaintext PIN (EMV methods 01 and 03): the PIN pad builds the card's PIN block (ISO
9564 format 2: ``2N``, the digits, ``F`` padding, 8 bytes), sends VERIFY to the card itself
and, while the card answers ``63Cx`` with tries left, asks again; ``63C0``/``6983`` is a
blocked PIN. Enciphered offline PIN (methods 04 and 05, Book 2 §7): GET CHALLENGE, then the
block ``7F`` + the PIN block + the card's 8-byte challenge + random padding to the key's
length, enciphered with the card's public key (``key``: ODA recovered it; ``pow``), in a
VERIFY with P2 ``88``; the answers mean the same.

Online PIN (method 02): the PIN pad builds the ISO 9564 format 0 block (the PIN field ``0N``
+ digits + ``F`` padding XOR ``0000`` + the PAN's 12 rightmost digits without the check
digit) and enciphers it at once under its PIN encryption key (two- or
three-key triple DES, ``core.des``); the acquirer link takes the enciphered block
(``take_block()``) for DE 52. A PIN pad without a key cannot take an online PIN
(``FAILED``). An empty entry is a bypass, a cancel or no entry within ``timeout_s`` too.
Every buffer that held the PIN or a clear PIN block is overwritten before the method returns.

A driver gives ``_entry()``: the typed digits as a ``bytearray`` of ASCII digits, or None.
The key comes from a file (``load_pin_key``): ``{"zpk": hex, "test": true}``; this firmware
takes test keys only, as with the CA keys.
"""

import os

from core.des import tdes_encrypt
from core.errors import ConfigError, DeviceError
from core.schema import read_json

OK = "ok"
WRONG = "wrong"
BLOCKED = "blocked"
BYPASSED = "bypassed"
FAILED = "pinpad failed"

OFFLINE_PLAIN = (0x01, 0x03)
OFFLINE_ENCIPHERED = (0x04, 0x05)
ONLINE = 0x02
MAX_ENTRIES = 3  # entries per verification, whatever the card's counter says


def wipe(buf):
    for i in range(len(buf)):
        buf[i] = 0


def pin_block(digits):
    """The ICC's plaintext PIN block (format 2) of ``digits`` (ASCII bytes), as a bytearray."""
    n = len(digits)
    if not 4 <= n <= 12:
        raise ValueError("a PIN has 4 to 12 digits")
    block = bytearray(b"\xff" * 8)
    block[0] = 0x20 | n
    for i in range(n):
        d = digits[i] - 0x30
        if not 0 <= d <= 9:
            raise ValueError("a PIN has digits only")
        at = 1 + i // 2
        block[at] = (block[at] & 0x0F) | (d << 4) if i % 2 == 0 else (block[at] & 0xF0) | d
    return block


def encipher_for_card(key, block, challenge):
    """``7F`` + PIN block + the card's challenge + random padding, enciphered with the card's
    public key (``key.n``, ``key.e``, ``key.modulus``): VERIFY's data for P2 ``88``."""
    size = len(key.modulus)
    plain = bytearray(b"\x7f") + block + challenge + os.urandom(size - 17)
    value = int.from_bytes(bytes(plain), "big")
    wipe(plain)
    return pow(value, key.e, key.n).to_bytes(size, "big")


def pin_block_iso0(digits, pan):
    """The clear ISO 9564 format 0 block of ``digits`` (ASCII bytes) for ``pan`` (text)."""
    field = pin_block(digits)
    field[0] = len(digits)  # format 0: control nibble 0
    if len(pan) < 13 or not pan.isdigit():
        wipe(field)
        raise ValueError("format 0 needs the card's PAN")
    account = pan[-13:-1]
    for i in range(6):
        field[2 + i] ^= int(account[2 * i : 2 * i + 2], 16)
    return field


def load_pin_key(path):
    """The PIN encryption key of a key file; a key not marked ``test`` is refused."""
    data = read_json(path, "the PIN key")
    try:
        key = bytes.fromhex(data["zpk"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ConfigError(path, "needs zpk: the key in hex")
    if len(key) not in (16, 24):
        raise ConfigError(path, "zpk is a triple-DES key of 16 or 24 bytes")
    if data.get("test") is not True:
        raise ConfigError(path, "not marked as a test key: live PIN keys are refused here")
    return key


class PinPad:
    """The interface, with the verification every driver shares."""

    on_event = None  # async callable(kind, value), set by the terminal
    timeout_s = 30
    key = None  # the PIN encryption key (bytes), or None: no online PIN
    _enciphered = None

    async def _entry(self):
        raise NotImplementedError

    def clear(self):
        """Forget keys typed ahead (the end of a payment)."""

    async def _say(self, kind, value):
        if self.on_event is not None:
            await self.on_event(kind, value)

    async def verify(self, method, reader, pan="", key=None):
        if method == ONLINE:
            return await self._online(pan)
        if method in OFFLINE_ENCIPHERED:
            if key is None:
                return FAILED
        elif method not in OFFLINE_PLAIN:
            return FAILED
        for _ in range(MAX_ENTRIES):
            outcome = await self._offline_once(reader, key if method in OFFLINE_ENCIPHERED else None)
            if outcome != WRONG:
                return outcome
        return WRONG

    async def _take(self, method):
        """An entry: the digits, or the outcome when there are none (bypass, failure)."""
        await self._say("enter", method)
        try:
            digits = await self._entry()
        except DeviceError:
            return FAILED
        if not digits:
            return BYPASSED
        await self._say("digits", len(digits))
        return digits

    async def choose(self, labels):
        """The cardholder picks one of ``labels`` (a card's applications) with a digit key:
        its index; no key, a cancel or another key: None (the terminal chooses)."""
        await self._say("choose", labels)
        try:
            entry = await self._entry()
        except DeviceError:
            return None
        if not entry or len(entry) != 1 or not 0x31 <= entry[0] <= 0x39:
            return None
        index = entry[0] - 0x31
        return index if index < len(labels) else None

    async def _verify_enciphered(self, reader, key, block):
        """GET CHALLENGE, then the VERIFY (P2 88) with the enciphered block; None if the card
        gives no challenge."""
        rapdu = await reader.transmit(b"\x00\x84\x00\x00\x00")
        if bytes(rapdu[-2:]) != b"\x90\x00" or len(rapdu) != 10:
            return None
        data = encipher_for_card(key, block, bytes(rapdu[:8]))
        return bytearray(b"\x00\x20\x00\x88") + bytes((len(data),)) + data

    def take_block(self):
        """The enciphered PIN block of the last online PIN (for DE 52), once; else None."""
        block, self._enciphered = self._enciphered, None
        return block

    async def _online(self, pan):
        self._enciphered = None
        if self.key is None:
            return FAILED
        digits = await self._take(ONLINE)
        if isinstance(digits, str):
            return digits
        try:
            clear = pin_block_iso0(digits, pan)
        except ValueError:
            wipe(digits)
            return FAILED
        wipe(digits)
        self._enciphered = tdes_encrypt(self.key, clear)
        wipe(clear)
        return OK

    async def _offline_once(self, reader, key=None):
        digits = await self._take(0x04 if key is not None else 0x01)
        if isinstance(digits, str):
            return digits
        try:
            block = pin_block(digits)
        except ValueError:
            wipe(digits)
            return WRONG
        wipe(digits)
        try:
            if key is None:
                apdu = bytearray(b"\x00\x20\x00\x80\x08") + block
            else:
                apdu = await self._verify_enciphered(reader, key, block)
        except DeviceError:
            return FAILED  # the card gave no challenge
        finally:
            wipe(block)
        if apdu is None:
            return FAILED
        try:
            rapdu = await reader.transmit(apdu)
        finally:
            wipe(apdu)
        sw = bytes(rapdu[-2:])
        if sw == b"\x90\x00":
            return OK
        if sw in (b"\x63\xc0", b"\x69\x83", b"\x69\x84"):
            return BLOCKED
        if sw[0] == 0x63:
            await self._say("wrong", sw[1] & 0x0F)
            return WRONG
        return FAILED
