"""Byte links to peripherals, chosen by board data: a serial device or pty (``path``), TCP
(``host`` + ``port``), a MicroPython ``machine.UART`` (``uart``), or pyserial (``serial``).

    link = open_link(settings)     # .write(data), .read(n), .close()
    reader = await open_reader(settings)   # an asyncio stream for devices that talk first
    reader, writer = await open_stream(settings)   # both ways, for the service console

The device drivers (display, scanner, printer) only ever see ``write``/``read`` or a stream,
so one driver serves the simulator's pty, a Linux serial port and a board's UART.
"""

import asyncio
import select
import socket

from core.errors import ConfigError, DeviceError


class FileLink:
    """A tty, a pty or a device node opened as a file, unbuffered. No ``flush()``: on the
    MicroPython unix port it calls fsync, which a tty refuses (EINVAL)."""

    def __init__(self, path):
        try:
            self.f = open(path, "r+b", buffering=0)
        except OSError as e:
            raise DeviceError("cannot open %s: %s" % (path, e))
        self.path = path

    def write(self, data):
        try:
            self.f.write(data)
        except OSError as e:
            raise DeviceError("%s: %s" % (self.path, e))

    def read(self, n):
        return self.f.read(n)

    def close(self):
        self.f.close()


class TcpLink:
    """A TCP connection; errors are ``DeviceError`` naming ``what`` and the address."""

    def __init__(self, host, port, timeout=5, what=""):
        self.where = ("%s %s:%d" if what else "%s%s:%d") % (what, host, port)
        self.sock = socket.socket()
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(socket.getaddrinfo(host, port)[0][-1])
        except OSError as e:
            self.sock.close()
            raise DeviceError("%s not reachable: %s" % (self.where, e))

    def write(self, data):
        try:
            view = memoryview(data)
            sent = 0
            while sent < len(data):
                sent += self.sock.send(view[sent:])
        except OSError as e:
            raise DeviceError("%s: %s" % (self.where, e))

    def read(self, n):
        try:
            return self.sock.recv(n)
        except OSError as e:
            raise DeviceError("%s: %s" % (self.where, e))

    def close(self):
        self.sock.close()


def _uart(s, baudrate, timeout_ms):
    import machine

    return machine.UART(s.int("uart"), baudrate, tx=s.int("tx"), rx=s.int("rx"), timeout=timeout_ms)


def open_link(s):
    """A link from a device entry's settings (``hal.board.Settings``)."""
    if s.has("path"):
        return FileLink(s.str("path"))
    if s.has("port") and s.has("host"):
        return TcpLink(s.str("host"), s.int("port", lo=1, hi=65535))
    if s.has("uart"):
        return _uart(s, s.int("baudrate", 9600), 500)
    if s.has("serial"):
        import serial

        return serial.Serial(s.str("serial"), s.int("baudrate", 9600), timeout=1)
    raise ConfigError(s.path, "needs a link: path, host+port, uart (board) or serial (Linux)")


async def open_reader(s):
    """An asyncio stream reader for a device that sends on its own (a scanner)."""
    if s.has("port") and s.has("host"):
        try:
            reader, writer = await asyncio.open_connection(s.str("host"), s.int("port", lo=1, hi=65535))
        except OSError as e:
            raise DeviceError("%s:%d not reachable: %s" % (s.str("host"), s.int("port"), e))
        return reader, writer
    if s.has("uart"):  # timeout 0: a read returns what is there, the event loop never waits
        return asyncio.StreamReader(_uart(s, s.int("baudrate", 9600), 0)), None
    raise ConfigError(s.path, "a scanner needs host+port (simulator) or uart (board)")


async def open_stream(s):
    """Asyncio ``(reader, writer)`` on a serial line: a tty or pty ``path`` (8N1 at
    ``baudrate``) or a board's ``uart``."""
    baudrate = s.int("baudrate", 115200, lo=1200, hi=4000000)
    if s.has("path"):  # the MicroPython unix port's pty (on Linux: the tty-line driver)
        line = PolledTty(FileLink(s.str("path")).f)
        return line, line
    if s.has("uart"):
        uart = _uart(s, baudrate, 0)
        return asyncio.StreamReader(uart), asyncio.StreamWriter(uart, {})
    raise ConfigError(s.path, "a serial line needs a path (tty, pty) or a uart (board)")


class PolledTty:
    """A tty file on the MicroPython unix port as a stream pair. Its ``read(n)`` blocks until
    ``n`` bytes came (so asyncio's StreamReader would stall the loop): bytes are taken one at a
    time while ``poll`` says there are some, and the line is looked at every 20 ms."""

    def __init__(self, f):
        self.f = f
        self.poller = select.poll()
        self.poller.register(f, select.POLLIN)

    async def read(self, n):
        while not self.poller.poll(0):
            await asyncio.sleep(0.02)
        out = bytearray()
        while len(out) < n and self.poller.poll(0):
            byte = self.f.read(1)
            if not byte:
                break
            out += byte
        return bytes(out)

    def write(self, data):
        self.f.write(data)

    async def drain(self):
        pass

    def close(self):
        self.f.close()


class SerialLine:
    """A board's serial line, opened by its user when it starts (``await line.open()``)."""

    def __init__(self, settings):
        self.settings = settings
        self.where = settings.str("path") if settings.has("path") else "uart %d" % settings.int("uart", 0)

    async def open(self):
        return await open_stream(self.settings)


def create_line(s, board):
    return SerialLine(s)
