"""Byte links to peripherals, chosen by board data: a serial device or pty (``path``), TCP
(``host`` + ``port``), a MicroPython ``machine.UART`` (``uart``), or pyserial (``serial``).

    link = open_link(settings)
    await link.send(data, timeout_ms=2000)   # all of it, or DeviceError after 2 s without progress
    data = await link.recv(1, timeout_ms=500)   # 1..n bytes, or DeviceError after 0.5 s
    link.reset()                             # forget a late answer / half-sent bytes
    reader = await open_reader(settings)     # an asyncio stream for devices that talk first
    reader, writer = await open_stream(settings)   # both ways, for the service console

Nothing here waits on the event loop: a serial line is read and written with timeout 0 and
polled every ``POLL_MS`` (a printer that is switched off or a display whose line is not read
costs the loop a few system calls per poll, never a blocking write), and TCP is an asyncio
stream. ``timeout_ms=None`` waits as long as it takes (a display catching up with its line).
The device drivers (display, printer) only ever see ``send``/``recv``, so one driver serves
the simulator's pty, a Linux serial port, a LAN printer and a board's UART.
"""

import asyncio
import errno
import select

from core.errors import ConfigError, DeviceError

POLL_MS = 10
_BURST = 512  # bytes written to a tty per poll, one at a time (see FileLink.put)


class PolledLink:
    """The async link over a port that never waits: ``port.take(n)`` returns what has come
    (maybe nothing), ``port.put(data)`` how many bytes the line took now (maybe 0)."""

    def __init__(self, port, where):
        self.port = port
        self.where = where

    async def send(self, data, timeout_ms=2000):
        view = memoryview(data)
        sent = idle = 0
        while sent < len(view):
            n = self._io(self.port.put, view[sent:])
            if n:
                sent += n
                idle = 0
                if sent < len(view):
                    await asyncio.sleep(0)  # a long receipt lets the loop serve others between bursts
                continue
            if timeout_ms is not None and idle >= timeout_ms:
                raise DeviceError("%s takes no data (%d of %d bytes sent)" % (self.where, sent, len(view)))
            await asyncio.sleep(POLL_MS / 1000)
            idle += POLL_MS

    async def recv(self, n, timeout_ms=500):
        waited = 0
        while True:
            data = self._io(self.port.take, n)
            if data:
                return data
            if timeout_ms is not None and waited >= timeout_ms:
                raise DeviceError("%s does not answer" % self.where)
            await asyncio.sleep(POLL_MS / 1000)
            waited += POLL_MS

    def _io(self, fn, arg):
        try:
            return fn(arg)
        except OSError as e:
            raise DeviceError("%s: %s" % (self.where, e))

    def reset(self):
        """Drop what came unasked (a late answer), so the next ``recv`` is the next answer."""
        while self._io(self.port.take, 64):
            pass

    def close(self):
        self.port.close()


class FileLink:
    """A tty, a pty or a device node as a port. The file stays blocking (the MicroPython unix
    port cannot set O_NONBLOCK), so every byte goes only after ``poll`` says the line has room
    for one: a blocking write of more could wait for a reader that never comes. No
    ``flush()``: on the MicroPython unix port it calls fsync, which a tty refuses (EINVAL)."""

    def __init__(self, path):
        try:
            self.f = open(path, "r+b", buffering=0)
        except OSError as e:
            raise DeviceError("cannot open %s: %s" % (path, e))
        self.path = path
        self._in = select.poll()
        self._in.register(self.f, select.POLLIN)
        self._out = select.poll()
        self._out.register(self.f, select.POLLOUT)

    def _ready(self, poller, flag):
        for entry in poller.poll(0):
            if entry[1] & (select.POLLHUP | select.POLLERR) and not entry[1] & flag:
                raise OSError("the line hung up")
            return entry[1] & flag
        return 0

    def take(self, n):
        out = b""
        while len(out) < n and self._ready(self._in, select.POLLIN):
            byte = self.f.read(1)
            if not byte:
                break
            out += byte
        return out

    def put(self, data):
        n = 0
        while n < len(data) and n < _BURST and self._ready(self._out, select.POLLOUT):
            n += self.f.write(data[n : n + 1]) or 0
        return n

    def close(self):
        self.f.close()


class UartPort:
    """A ``machine.UART`` opened with timeout 0 (MicroPython), or a pyserial port opened with
    ``timeout=0, write_timeout=0`` (CPython): both read what is there and write what fits."""

    def __init__(self, uart):
        self.uart = uart

    def take(self, n):
        return self.uart.read(n) or b""

    def put(self, data):
        return self.uart.write(data) or 0

    def close(self):
        deinit = getattr(self.uart, "deinit", None) or self.uart.close
        deinit()


class TcpLink:
    """A TCP connection as an asyncio stream, made on first use and again after a failure;
    errors are ``DeviceError`` naming the address."""

    def __init__(self, host, port, connect_ms=3000):
        self.host = host
        self.port = port
        self.connect_ms = connect_ms
        self.where = "%s:%d" % (host, port)
        self._reader = self._writer = None
        self._used = False  # something went through this connection

    async def _wait(self, aw, timeout_ms, what):
        try:
            if timeout_ms is None:
                return await aw
            return await asyncio.wait_for(aw, timeout_ms / 1000)
        except asyncio.TimeoutError:
            self.reset()
            raise DeviceError("%s: %s" % (self.where, what))
        except OSError as e:
            self.reset()
            raise DeviceError("%s: %s (%s)" % (self.where, what, e))

    async def _connected(self):
        if self._writer is None:
            self._reader, self._writer = await self._wait(
                asyncio.open_connection(self.host, self.port), self.connect_ms, "not reachable"
            )
            self._used = False
        return self._writer

    async def send(self, data, timeout_ms=2000):
        writer = await self._connected()
        # MicroPython's open_connection returns before the connection is made: a refused one
        # shows at the first write
        what = "takes no data" if self._used else "not reachable"
        try:
            writer.write(data)
        except OSError as e:
            self.reset()
            raise DeviceError("%s: %s (%s)" % (self.where, what, e))
        await self._wait(writer.drain(), timeout_ms, what)
        self._used = True

    async def recv(self, n, timeout_ms=500):
        await self._connected()
        what = "does not answer" if self._used else "not reachable"
        data = await self._wait(self._reader.read(n), timeout_ms, what)
        self._used = True
        if not data:
            self.reset()
            raise DeviceError("%s closed the connection" % self.where)
        return data

    def reset(self):
        """Close the connection (a late answer dies with it); the next use connects afresh."""
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    close = reset


def _uart(s, baudrate, timeout_ms):
    import machine

    return machine.UART(s.int("uart"), baudrate, tx=s.int("tx"), rx=s.int("rx"), timeout=timeout_ms)


def open_link(s):
    """A link from a device entry's settings (``hal.board.Settings``)."""
    if s.has("path"):
        return PolledLink(FileLink(s.str("path")), s.str("path"))
    if s.has("port") and s.has("host"):
        return TcpLink(s.str("host"), s.int("port", lo=1, hi=65535))
    if s.has("uart"):
        return PolledLink(UartPort(_uart(s, s.int("baudrate", 9600), 0)), "uart %d" % s.int("uart"))
    if s.has("serial"):
        import serial

        try:
            port = serial.Serial(s.str("serial"), s.int("baudrate", 9600), timeout=0, write_timeout=0)
        except (OSError, ValueError) as e:
            raise DeviceError("cannot open %s: %s" % (s.str("serial"), e))
        return PolledLink(UartPort(port), s.str("serial"))
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
    if s.has("path"):  # MicroPython's unix port: a pty or tty (CPython: the tty-line driver)
        port = FileLink(s.str("path"))
        _raw(port.f, baudrate)
        line = LinkStream(PolledLink(port, s.str("path")))
        return line, line
    if s.has("uart"):
        uart = _uart(s, baudrate, 0)
        return asyncio.StreamReader(uart), asyncio.StreamWriter(uart, {})
    raise ConfigError(s.path, "a serial line needs a path (tty, pty) or a uart (board)")


def _raw(f, baudrate):
    """The tty in raw mode (no echo, no line editing, 8N1) at ``baudrate``, with MicroPython's
    ``termios``: a console line must see each byte as it comes. A file that is not a tty (a
    FIFO) has nothing to set."""
    try:
        import termios
    except ImportError:
        return
    if not hasattr(termios, "setraw"):  # CPython's is tty.setraw: its tty-line driver does this
        return
    try:
        termios.setraw(f.fileno())
        speed = getattr(termios, "B%d" % baudrate, None)
        if speed is not None:
            attrs = termios.tcgetattr(f.fileno())
            attrs[4] = attrs[5] = speed
            termios.tcsetattr(f.fileno(), termios.TCSANOW, attrs)
    except OSError as e:
        if e.errno != errno.ENOTTY:
            raise DeviceError("cannot set the serial line raw: %s" % e)


class LinkStream:
    """A polled link as an asyncio-style stream pair (``read``, ``write`` + ``drain``): the
    service console on a tty or pty file, where asyncio's own StreamReader would wait in
    ``read(n)`` until ``n`` bytes came and stall the loop."""

    def __init__(self, link):
        self.link = link
        self._out = b""

    async def read(self, n):
        return await self.link.recv(n, None)

    def write(self, data):
        self._out += data

    async def drain(self):
        data, self._out = self._out, b""
        await self.link.send(data, None)

    def close(self):
        self.link.close()


class SerialLine:
    """A board's serial line, opened by its user when it starts (``await line.open()``)."""

    def __init__(self, settings):
        self.settings = settings
        self.where = settings.str("path") if settings.has("path") else "uart %d" % settings.int("uart", 0)

    async def open(self):
        return await open_stream(self.settings)


def create_line(s, board):
    return SerialLine(s)
