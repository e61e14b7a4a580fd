"""A receipt printer through python-escpos (CPython): USB printers (pyusb), serial and
network ones, with python-escpos' own connection handling. Our bytes, its transport.

    printer = EscposPrinter(Network("192.168.1.50"))      # or Usb(0x04B8, 0x0202), Serial(...)
    await printer.write(to_escpos(doc)); await printer.status()

Board entry ``{"driver": "escpos-printer", "usb": "04b8:0202"}`` (or ``"serial": "/dev/ttyS0"``
with ``baudrate``, or ``host`` + ``port``). Status is the same ``DLE EOT 1, 2, 4`` exchange,
sent with python-escpos' ``query_status``.
"""

from escpos import printer as backends

from core.errors import DeviceError
from hal.linux.worker import Worker
from hal.printer import STATUS_QUERIES, Printer, PrinterCaps, caps_from, decode_status


class EscposPrinter(Printer):
    def __init__(self, device, caps=None):
        self.device = device
        self.caps = caps or PrinterCaps()
        self.worker = Worker("escpos")

    async def write(self, data):
        await self.worker.run(self._write, bytes(data))

    async def status(self):
        return await self.worker.run(self._status)

    def _write(self, data):
        try:
            self.device._raw(data)
        except Exception as e:  # python-escpos raises OSError, USBError, serial errors, its own
            raise DeviceError("printer: %s" % (e,))

    def _status(self):
        answers = []
        for query in STATUS_QUERIES:
            try:
                answer = self.device.query_status(query)
            except Exception as e:
                raise DeviceError("printer status: %s" % (e,))
            if not answer:
                raise DeviceError("printer does not answer DLE EOT")
            answers.append(answer[0])
        return decode_status(*answers)

    def close(self):
        self.device.close()
        self.worker.close()


def create(s, board):
    """Board driver ``escpos-printer``."""
    if s.has("usb"):
        vendor, _, product = s.str("usb").partition(":")
        device = backends.Usb(int(vendor, 16), int(product, 16))
    elif s.has("serial"):
        device = backends.Serial(s.str("serial"), baudrate=s.int("baudrate", 9600))
    else:
        device = backends.Network(s.str("host"), s.int("port", 9100, 1, 65535), timeout=5)
    try:
        device.open()
    except Exception as e:
        raise DeviceError("printer %s: %s" % (s.path, e))
    return EscposPrinter(device, caps_from(s))
