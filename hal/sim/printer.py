"""An ESC/POS printer on TCP (port 9100, "raw"/JetDirect): emupos in the simulator, or a LAN
receipt printer. Runs on both runtimes.

    printer = NetworkPrinter("127.0.0.1", 9100)
    printer.write(data)            # the bytes, in order
    printer.status()               # DLE EOT 1, 2, 4 -> PrinterStatus

A printer that does not answer within ``timeout`` seconds, or a closed connection, is
``DeviceError``: the sale goes on and the receipt waits for a reprint.
"""

import socket

from firmware.errors import DeviceError
from hal.printer import STATUS_QUERIES, Printer, PrinterCaps, decode_status


class NetworkPrinter(Printer):
    def __init__(self, host, port=9100, timeout=5, caps=None):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.caps = caps or PrinterCaps()
        self._sock = None

    def _connect(self):
        if self._sock is None:
            sock = socket.socket()
            try:
                sock.settimeout(self.timeout)
                sock.connect(socket.getaddrinfo(self.host, self.port)[0][-1])
            except OSError as e:
                sock.close()
                raise DeviceError("printer %s:%d not reachable: %s" % (self.host, self.port, e))
            self._sock = sock
        return self._sock

    def _fail(self, e):
        self.close()
        return DeviceError("printer %s:%d: %s" % (self.host, self.port, e))

    def write(self, data):
        sock = self._connect()
        try:
            view = memoryview(data)
            sent = 0
            while sent < len(data):
                sent += sock.send(view[sent:])
        except OSError as e:
            raise self._fail(e)

    def status(self):
        sock = self._connect()
        answers = []
        try:
            for query in STATUS_QUERIES:
                sock.send(query)
                byte = sock.recv(1)
                if not byte:
                    raise OSError("connection closed")
                answers.append(byte[0])
        except OSError as e:
            raise self._fail(e)
        return decode_status(*answers)

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def create(s, board):
    """Board driver ``tcp-printer``: a LAN printer or emupos."""
    caps = PrinterCaps(columns=s.int("columns", 42, 24, 64), width_dots=s.int("width_dots", 576, 256, 832))
    return NetworkPrinter(s.str("host", "127.0.0.1"), s.int("port", 9100, 1, 65535), caps=caps)
