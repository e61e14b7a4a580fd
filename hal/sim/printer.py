"""An ESC/POS printer on TCP (port 9100, "raw"/JetDirect): emupos in the simulator, or a LAN
receipt printer. Runs on both runtimes.

    printer = NetworkPrinter("127.0.0.1", 9100)
    printer.write(data)            # the bytes, in order
    printer.status()               # DLE EOT 1, 2, 4 -> PrinterStatus

A printer that does not answer within ``timeout`` seconds, or a closed connection, is
``DeviceError``: the sale goes on and the receipt waits for a reprint.
"""

from core.errors import DeviceError
from hal.link import TcpLink
from hal.printer import LinkPrinter, PrinterCaps


class NetworkPrinter(LinkPrinter):
    """A ``LinkPrinter`` on TCP that connects on first use and again after a failure."""

    def __init__(self, host, port=9100, timeout=5, caps=None):
        LinkPrinter.__init__(self, None, caps)
        self.host = host
        self.port = port
        self.timeout = timeout

    def _do(self, method, *args):
        if self.link is None:
            self.link = TcpLink(self.host, self.port, self.timeout, "printer")
        try:
            return method(self, *args)
        except DeviceError:
            self.close()  # the next call connects afresh
            raise

    def write(self, data):
        self._do(LinkPrinter.write, data)

    def status(self):
        return self._do(LinkPrinter.status)

    def close(self):
        if self.link is not None:
            self.link.close()
            self.link = None


def create(s, board):
    """Board driver ``tcp-printer``: a LAN printer or emupos."""
    caps = PrinterCaps(columns=s.int("columns", 42, 24, 64), width_dots=s.int("width_dots", 576, 256, 832))
    return NetworkPrinter(s.str("host", "127.0.0.1"), s.int("port", 9100, 1, 65535), caps=caps)
