"""A card reader slot that speaks the vpcd protocol itself (both runtimes): the firmware is the
reader, a virtual card program connects to it (tools/sim/card.py), as it would to vpcd.

    reader = VpcdReader(35963)        # listens on 127.0.0.1:35963 for the card
    await reader.present(); await reader.power_on(); await reader.transmit(apdu)

The wire format is virtualsmartcard's: every message is a 2-byte big-endian length and the
payload. One-byte messages from the reader are control: 0 power off, 1 power on, 2 reset,
4 "send your ATR" (the card answers with it). Any longer message is a C-APDU and the card
answers with the R-APDU. A card is present while it is connected and answers the ATR request.
On CPython the simulator uses pcscd + vpcd + pyscard instead (hal/linux/pcsc.py); this
driver is how MicroPython reaches the same card. The sockets never block: the card's answer
is polled every millisecond, and one that does not come within ``timeout`` seconds is a card
gone (``CardRemoved``).
"""

import asyncio
import errno
import socket

from hal.cardreader import CardReader, CardRemoved, NoCard, ReaderCaps, check_rapdu

OFF = b"\x00"
ON = b"\x01"
RESET = b"\x02"
ATR = b"\x04"


class VpcdReader(CardReader):
    def __init__(self, port, host="127.0.0.1", timeout=2, contactless=False, name="smartECR vpcd"):
        self.timeout = timeout
        self.caps = ReaderCaps(contact=not contactless, contactless=contactless, name=name)
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(socket.getaddrinfo(host, port)[0][-1])
        self._srv.listen(1)
        self._srv.setblocking(False)
        self._card = None
        self.atr = None

    def _accept(self):
        if self._card is None:
            try:
                card, _ = self._srv.accept()
            except OSError:
                return None
            card.setblocking(False)
            self._card = card
        return self._card

    def _drop(self):
        if self._card is not None:
            self._card.close()
            self._card = None
        self.atr = None

    async def _io(self, fn, arg):
        """``fn(arg)`` on the non-blocking socket, again every 1 ms while it would block."""
        waited = 0
        while True:
            try:
                return fn(arg)
            except OSError as e:
                if e.errno != errno.EAGAIN:
                    raise
            if waited >= self.timeout * 1000:
                raise OSError("the card does not answer")
            await asyncio.sleep(0.001)
            waited += 1

    async def _send(self, payload):
        data = bytes((len(payload) >> 8, len(payload) & 0xFF)) + payload
        sent = 0
        while sent < len(data):
            sent += await self._io(self._card.send, data[sent:])

    async def _recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = await self._io(self._card.recv, n - len(out))
            if not chunk:
                raise OSError("card disconnected")
            out += chunk
        return out

    async def _exchange(self, payload, answer=True):
        """Send ``payload``; return the card's answer (power on/off/reset have none)."""
        if self._accept() is None:
            raise NoCard("no card in %s" % self.caps.name)
        try:
            await self._send(payload)
            if not answer:
                return None
            head = await self._recv_exact(2)
            return await self._recv_exact((head[0] << 8) | head[1])
        except OSError as e:
            self._drop()
            raise CardRemoved("card removed from %s (%s)" % (self.caps.name, e))

    async def present(self):
        """A card answers the ATR request; a card that left is forgotten and one that came
        since (waiting to be accepted) is asked in its place."""
        for _ in range(2):
            try:
                await self._exchange(ATR)
                return True
            except NoCard:
                return False
            except CardRemoved:
                continue
        return False

    async def power_on(self):
        await self._exchange(ON, answer=False)
        self.atr = await self._exchange(ATR)
        if not self.atr:
            self._drop()
            raise NoCard("no card in %s" % self.caps.name)
        return self.atr

    async def transmit(self, apdu):
        if len(apdu) < 4:
            raise ValueError("a C-APDU has at least 4 bytes")
        if self.atr is None:
            raise NoCard("card in %s not powered on" % self.caps.name)
        return check_rapdu(await self._exchange(bytes(apdu)))

    async def power_off(self):
        if self._card is not None:
            try:
                await self._exchange(OFF, answer=False)
            except CardRemoved:
                pass  # gone already: nothing to power off
        self.atr = None

    def close(self):
        self._drop()
        self._srv.close()


def create(s, board):
    """Board driver ``vpcd-reader``."""
    return VpcdReader(
        s.int("port", 35963, 1, 65535), s.str("host", "127.0.0.1"), contactless=s.bool("contactless", False)
    )
