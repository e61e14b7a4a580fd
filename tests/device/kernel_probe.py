"""One EMV transaction through the kernel with the firmware's own vpcd reader, on either
runtime (tests/host/test_emv_cards.py):

    kernel_probe.py PORT CAPK AMOUNT [contactless] [pin=1234] [host=PORT]   -> one JSON line

It listens on 127.0.0.1:PORT for the virtual card, waits up to 10 s for it, runs
``payment.emv.kernel.transaction`` with data/emv/terminal.json and the CA key store CAPK,
and prints the outcome's journal record and, when the kernel went online, the DE 55 data it
handed to the host: with ``host=PORT`` the acquirer link (payment/acquirer.py) takes it to the
acquirer simulator on that loopback port, else no host answers and the default action codes
decide. With ``pin=``
the PIN pad (hal/pinpad.py) gets that PIN typed whenever it asks.
"""

import asyncio
import binascii
import json
import os
import sys
import time

from hal.pinpad import PinPad, load_pin_key
from payment.emv.capk import load_ca_keys
from payment.emv.config import load_terminal
from payment.emv.dol import bcd
from payment.emv.kernel import Purchase, transaction
from payment.emv.runner import run


class ScriptedPinPad(PinPad):
    """The PIN pad with a customer who types ``pin`` whenever asked (hal/pinpad.py does the
    rest, VERIFY included)."""

    def __init__(self, pin):
        self.pin = pin
        self.asked = []
        self.key = load_pin_key("data/emv/pin-key-test.json")  # the acquirer simulator's too

    async def verify(self, method, reader, pan="", key=None):
        self.asked.append(method)
        return await PinPad.verify(self, method, reader, pan, key)

    async def _entry(self):
        return bytearray(self.pin.encode())


class Host:
    """The acquirer link when there is one (``host=PORT``), and what the kernel handed it."""

    def __init__(self, port):
        from payment.acquirer import Acquirer

        self.link = (
            Acquirer("127.0.0.1", port, "SECR0001", "SMARTECR-SIM-01", timeout_ms=1500) if port else None
        )
        if self.link is not None:  # each probe is a fresh terminal: a trace number not used yet
            self.link.stan = int.from_bytes(os.urandom(3), "big") % 900000
        self.icc = None

    async def authorise(self, action):
        self.icc = binascii.hexlify(action.icc).decode().upper()
        return None if self.link is None else await self.link.authorise(action)


async def main(port, capk, amount, contactless, pin, host_port):
    from hal.sim.vpcd import VpcdReader

    reader = VpcdReader(port, contactless=contactless)
    try:
        for _ in range(200):
            if await reader.present():
                break
            await asyncio.sleep(0.05)
        await reader.power_on()
        t = time.gmtime()
        date = bcd(t[0] % 100 * 10000 + t[1] * 100 + t[2], 3)
        txn = Purchase(amount, date, os.urandom(4), lambda: 99)
        terminal, ca = load_terminal("data/emv/terminal.json"), load_ca_keys(capk)
        pinpad, host = (ScriptedPinPad(pin) if pin else None), Host(host_port)
        outcome = await run(transaction(terminal, txn, contactless, ca), reader, pinpad, host)
        await reader.power_off()
    finally:
        reader.close()
    out = outcome.record()
    out["de55"] = host.icc
    out["pins_asked"] = pinpad.asked if pinpad else []
    print(json.dumps(out))


args = sys.argv[1:]
options = [a for a in args[3:]]
pin = [a[4:] for a in options if a.startswith("pin=")]
host = [int(a[5:]) for a in options if a.startswith("host=")]
asyncio.run(
    main(
        int(args[0]),
        args[1],
        int(args[2]),
        "contactless" in options,
        pin[0] if pin else None,
        host[0] if host else 0,
    )
)
