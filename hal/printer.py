"""The receipt printer: an ESC/POS byte sink with a status (device code).

    printer = NetworkPrinter("127.0.0.1", 9100)        # hal/sim/printer.py (emupos, LAN printers)
    await printer.write(to_escpos(doc))
    st = await printer.status()                        # PrinterStatus: online, paper_out, ...
    if not st.ready: queue the receipt for a reprint

A driver only moves bytes (layout is firmware.receipts, commands are hal.escpos). Status is
the real-time ``DLE EOT n`` exchange every ESC/POS printer answers, even while printing is
blocked: n=1 printer (bit 3 offline, bit 2 drawer connector level), n=2 offline cause (bit 2
cover open, bit 5 stopped at paper end), n=4 paper sensor (bits 2-3 near end, bits 5-6 out).
Bits 1 and 4 of every answer are fixed at 1, bit 0 and bit 7 at 0: anything else is not a status
byte and raises ``ProtocolError``.

Both methods wait (for the line, for the answer) without holding up the event loop, and one
exchange at a time: a status query never lands in the middle of a receipt's bytes. A printer
that does not answer within ``ANSWER_MS``, or takes no bytes for ``STALL_MS``, is
``DeviceError``; a late answer is dropped before the next question.
"""

import asyncio

from core.errors import DeviceError, ProtocolError


class PrinterCaps:
    """What a printer can do, from its profile (data): columns, QR, cutter, drawer, dots."""

    def __init__(self, columns=42, qr=True, cutter=True, drawer=True, width_dots=576):
        self.columns = columns
        self.qr = qr
        self.cutter = cutter
        self.drawer = drawer
        self.width_dots = width_dots


class PrinterStatus:
    def __init__(
        self, online=True, cover_open=False, paper_out=False, paper_near_end=False, drawer_level=False
    ):
        self.online = online
        self.cover_open = cover_open
        self.paper_out = paper_out
        self.paper_near_end = paper_near_end
        self.drawer_level = drawer_level  # the drawer connector's pin 3 (open or closed per drawer)

    @property
    def ready(self):
        return self.online and not self.cover_open and not self.paper_out

    def problems(self):
        """What an operator should be told, in German, as on the terminal's display."""
        out = []
        if not self.online:
            out.append("Drucker offline")
        if self.cover_open:
            out.append("Druckerdeckel offen")
        if self.paper_out:
            out.append("Papier leer")
        elif self.paper_near_end:
            out.append("Papier geht zu Ende")
        return out


def _check(byte, n):
    if byte & 0x93 != 0x12:
        raise ProtocolError("DLE EOT %d answered 0x%02X, not a status byte" % (n, byte))
    return byte


def decode_status(printer, offline_cause, paper):
    """A ``PrinterStatus`` from the answers to ``DLE EOT 1``, ``2`` and ``4``."""
    _check(printer, 1)
    _check(offline_cause, 2)
    _check(paper, 4)
    return PrinterStatus(
        online=not printer & 0x08,
        cover_open=bool(offline_cause & 0x04),
        paper_out=bool(offline_cause & 0x20 or paper & 0x60),
        paper_near_end=bool(paper & 0x0C),
        drawer_level=bool(printer & 0x04),
    )


STATUS_QUERIES = (b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x04")


ANSWER_MS = 500
STALL_MS = 2000


class Printer:
    """The interface. ``await write(data)`` takes ESC/POS bytes; ``await status()`` asks."""

    caps = PrinterCaps()

    async def write(self, data):
        raise NotImplementedError

    async def status(self):
        raise NotImplementedError

    def close(self):
        pass


class LinkPrinter(Printer):
    """An ESC/POS printer on a link (``hal.link``: a board's UART, a Linux tty, a pty, TCP)."""

    def __init__(self, link, caps=None):
        self.link = link
        self.caps = caps or PrinterCaps()
        self._turn = asyncio.Lock()

    async def write(self, data):
        async with self._turn:
            await self._do(self.link.send, data, STALL_MS)

    async def status(self):
        answers = []
        async with self._turn:
            for query in STATUS_QUERIES:
                await self._do(self.link.send, query, STALL_MS)
                answers.append((await self._do(self.link.recv, 1, ANSWER_MS))[0])
        return decode_status(*answers)

    async def _do(self, fn, arg, timeout_ms):
        try:
            return await fn(arg, timeout_ms)
        except DeviceError as e:
            self.link.reset()  # half a receipt or a late answer must not meet the next exchange
            raise DeviceError("printer: %s" % (e,))

    def close(self):
        self.link.close()


def caps_from(s):
    """A printer's ``PrinterCaps`` from its board entry: ``columns``, ``width_dots``, and
    ``qr``/``cutter`` false for a printer without native QR codes or without a cutter."""
    return PrinterCaps(
        columns=s.int("columns", 42, 24, 64),
        qr=s.bool("qr", True),
        cutter=s.bool("cutter", True),
        width_dots=s.int("width_dots", 576, 256, 832),
    )


def create(s, board):
    """Board driver ``link-printer``: a printer on a UART / tty / pty link."""
    from hal.link import open_link

    return LinkPrinter(open_link(s), caps_from(s))
