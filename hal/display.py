"""The customer display: the pole display facing the customer (device code).

    display = DmdDisplay(port.write)           # any byte sink: a UART, a pty, a serial port
    display.show("Brötchen", "0,45 €")          # two lines, the second right-aligned
    display.total(1234)                          # "SUMME" and the amount
    display.message("Danke!", "Auf Wiedersehen")
    display.clear()

``DmdDisplay`` speaks the Epson DM-D command set that most two-line VFD/LCD pole displays
understand: ``ESC @`` (initialise), ``ESC t n`` (character table; 19 = PC858, with the euro
sign and the umlauts), ``US MD1`` (overwrite mode), ``US C 0`` (cursor off), ``FF``/``CLR``
(clear), ``US $ x y`` (cursor to column x, line y, from 1) and the characters. Each update
writes both full lines, so a display that missed bytes is right again at the next one.
"""

from core.money import format_cents
from hal.escpos import CODEPAGE_PC858, encode_pc858
from micropython import const

CLR = const(0x0C)


class DisplayCaps:
    """What a customer display offers: its text area and whether it can show a QR code."""

    def __init__(self, columns=20, lines=2, qr=False):
        self.columns = columns
        self.lines = lines
        self.qr = qr


class CustomerDisplay:
    """The interface: ``show(line1, line2)`` and the helpers built on it."""

    caps = DisplayCaps()

    def show(self, top, bottom=""):
        raise NotImplementedError

    def clear(self):
        self.show("", "")

    def item(self, name, cents):
        """The article just rung up and its price."""
        self.show(name, format_cents(cents) + " EUR")

    def total(self, cents, label="SUMME"):
        self.show(label, format_cents(cents) + " EUR")

    def message(self, top, bottom=""):
        self.show(top, bottom)

    def close(self):
        pass


def _fit(text, width, right=False):
    text = text[:width]
    pad = " " * (width - len(text))
    return pad + text if right else text + pad


class DmdDisplay(CustomerDisplay):
    def __init__(self, write, caps=None):
        self.write = write
        self.caps = caps or DisplayCaps()
        self.write(b"\x1b@\x1bt" + bytes((CODEPAGE_PC858,)) + b"\x1f\x01\x1fC\x00" + bytes((CLR,)))

    def frame(self, top, bottom):
        """The bytes that put ``top`` (left-aligned) and ``bottom`` (right-aligned) on screen."""
        width = self.caps.columns
        return (
            b"\x1f$\x01\x01"
            + encode_pc858(_fit(top, width))
            + b"\x1f$\x01\x02"
            + encode_pc858(_fit(bottom, width, right=True))
        )

    def show(self, top, bottom=""):
        self.write(self.frame(top, bottom))


def create(s, board):
    """Board driver ``dmd-display``: a DM-D display on a link (pty, serial port, UART)."""
    from hal.link import open_link

    link = open_link(s)
    display = DmdDisplay(link.write, DisplayCaps(s.int("columns", 20, 8, 40), s.int("lines", 2, 1, 4)))
    display.close = link.close
    return display
