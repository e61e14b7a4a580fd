"""The card reader: chip (contact) and contactless slots, each an ISO 7816 APDU channel.

    reader = VpcdReader(35963)             # hal/sim/vpcd.py; PcscReader on Linux (hal/linux/pcsc.py)
    if await reader.present():
        atr = await reader.power_on()      # the ATR (bytes)
        rapdu = await reader.transmit(bytes.fromhex("00A404000E325041592E5359532E444446303100"))
        data, sw = rapdu[:-2], rapdu[-2:]  # b"\\x90\\x00": done
        await reader.power_off()

A card that leaves the slot while it is being read (pulled, or its connection to the reader
dropped) raises ``CardRemoved``; no card at all raises ``NoCard``. Both are ``DeviceError``:
the payment flow shows "Karte entfernt" and starts over, nothing is half-booked. Every
method that talks to the card is a coroutine: a slow card or reader holds up the payment,
never the event loop.
"""

from core.errors import DeviceError, ProtocolError


class CardRemoved(DeviceError):
    pass


class NoCard(DeviceError):
    pass


class ReaderCaps:
    def __init__(self, contact=True, contactless=False, name=""):
        self.contact = contact
        self.contactless = contactless
        self.name = name


def check_rapdu(rapdu):
    """A response APDU has at least the two status bytes; returns it unchanged."""
    if len(rapdu) < 2:
        raise ProtocolError("card answered %d bytes, not a response APDU" % len(rapdu))
    return rapdu


class CardReader:
    """The interface (one slot)."""

    caps = ReaderCaps()

    async def present(self):
        raise NotImplementedError

    async def power_on(self):
        raise NotImplementedError

    async def transmit(self, apdu):
        raise NotImplementedError

    async def power_off(self):
        pass

    def close(self):
        pass
