"""An ESC/POS printer on TCP (port 9100, "raw"/JetDirect): emupos in the simulator, or a LAN
receipt printer. Runs on both runtimes.

    printer = NetworkPrinter("127.0.0.1", 9100)
    await printer.write(data)            # the bytes, in order
    await printer.status()               # DLE EOT 1, 2, 4 -> PrinterStatus

The connection is made on first use and again after a failure. A printer that cannot be
reached, does not answer in time or closes the connection is ``DeviceError``: the sale goes
on and the receipt waits for a reprint.
"""

from hal.link import TcpLink
from hal.printer import LinkPrinter, caps_from


class NetworkPrinter(LinkPrinter):
    def __init__(self, host, port=9100, caps=None):
        LinkPrinter.__init__(self, TcpLink(host, port), caps)


def create(s, board):
    """Board driver ``tcp-printer``: a LAN printer or emupos."""
    return NetworkPrinter(s.str("host", "127.0.0.1"), s.int("port", 9100, 1, 65535), caps=caps_from(s))
