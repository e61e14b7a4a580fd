"""The customer display: the pole display facing the customer (device code).

    display = DmdDisplay(link)                   # hal.link: a UART, a pty, a serial port
    await display.show("Brötchen", "0,45 €")      # two lines, the second right-aligned
    await display.flush()                        # only where it matters that it went out

``DmdDisplay`` speaks the Epson DM-D command set that most two-line VFD/LCD pole displays
understand: ``ESC @`` (initialise), ``ESC t n`` (character table; 19 = PC858, with the euro
sign and the umlauts), ``US MD1`` (overwrite mode), ``US C 0`` (cursor off), ``FF``/``CLR``
(clear), ``US $ x y`` (cursor to column x, line y, from 1) and the characters. Each update
writes both full lines, so a display that missed bytes is right again at the next one.

``show`` never waits for the line: the frame is handed to a writer task. While a frame is
still going out (a slow line, or one nobody reads), a newer one replaces the frame waiting
behind it, so the display always ends on the latest text and a stuck line holds one frame,
not a backlog. A line that fails is reported by the next ``show`` (``DeviceError``), and the
display is initialised again on the frame after.
"""

import asyncio

from core.errors import DeviceError
from hal.escpos import CODEPAGE_PC858, encode_pc858
from micropython import const

CLR = const(0x0C)
INIT = b"\x1b@\x1bt" + bytes((CODEPAGE_PC858,)) + b"\x1f\x01\x1fC\x00" + bytes((CLR,))


class DisplayCaps:
    """What a customer display offers: its text area and whether it can show a QR code."""

    def __init__(self, columns=20, lines=2, qr=False):
        self.columns = columns
        self.lines = lines
        self.qr = qr


class CustomerDisplay:
    """The interface: ``await show(line1, line2)``, ``await flush()``."""

    caps = DisplayCaps()

    async def show(self, top, bottom=""):
        raise NotImplementedError

    async def flush(self):
        pass

    def close(self):
        pass


def _fit(text, width, right=False):
    text = text[:width]
    pad = " " * (width - len(text))
    return pad + text if right else text + pad


class DmdDisplay(CustomerDisplay):
    def __init__(self, link, caps=None):
        self.link = link
        self.caps = caps or DisplayCaps()
        self._fresh = True  # the next frame goes out after INIT
        self._frame = None  # the frame waiting for the line
        self._writer = None  # the writer task while it runs
        self._failed = None

    def frame(self, top, bottom):
        """The bytes that put ``top`` (left-aligned) and ``bottom`` (right-aligned) on screen."""
        width = self.caps.columns
        return (
            b"\x1f$\x01\x01"
            + encode_pc858(_fit(top, width))
            + b"\x1f$\x01\x02"
            + encode_pc858(_fit(bottom, width, right=True))
        )

    async def show(self, top, bottom=""):
        failed, self._failed = self._failed, None
        self._frame = self.frame(top, bottom)
        if self._writer is None:
            self._writer = asyncio.create_task(self._send())
        if failed:
            raise DeviceError("customer display: %s" % failed)

    async def _send(self):
        try:
            while self._frame is not None:
                data, self._frame = self._frame, None
                if self._fresh:
                    data, self._fresh = INIT + data, False
                await self.link.send(data, None)
        except DeviceError as e:
            self._failed, self._frame, self._fresh = str(e), None, True
            self.link.reset()
        finally:
            self._writer = None

    async def flush(self):
        """Wait until the last frame shown went out (``DeviceError`` if the line failed)."""
        while self._writer is not None:
            await asyncio.sleep(0.005)
        if self._failed:
            failed, self._failed = self._failed, None
            raise DeviceError("customer display: %s" % failed)

    def close(self):
        if self._writer is not None:
            self._writer.cancel()
        self.link.close()


def create(s, board):
    """Board driver ``dmd-display``: a DM-D display on a link (pty, serial port, UART)."""
    from hal.link import open_link

    return DmdDisplay(open_link(s), DisplayCaps(s.int("columns", 20, 8, 40), s.int("lines", 2, 1, 4)))
