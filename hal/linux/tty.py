"""A tty as asyncio streams on CPython (embedded Linux, the simulator's pty): raw 8N1.

    reader, writer = await open_tty("/dev/ttyS1", 115200)
    line = create_line(settings, board)    # driver "tty-line": the board's serial line on Linux

The line is put in raw mode (no echo, no line editing, no CR/LF translation: the console does
its own) at 8 data bits, no parity, one stop bit, no flow control, and what was waiting in its
input is dropped.
"""

import asyncio
import os
import termios
import tty

from core.errors import DeviceError

_SPEEDS = {9600: termios.B9600, 19200: termios.B19200, 38400: termios.B38400, 57600: termios.B57600}
_SPEEDS.update({115200: termios.B115200, 230400: termios.B230400, 460800: termios.B460800})


async def open_tty(path, baudrate=115200):
    if baudrate not in _SPEEDS:
        raise DeviceError("%s: no such line speed %d (have %s)" % (path, baudrate, sorted(_SPEEDS)))
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as e:
        raise DeviceError("cannot open %s: %s" % (path, e))
    try:
        tty.setraw(fd)
        attrs = termios.tcgetattr(fd)
        attrs[2] = (attrs[2] & ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | termios.CRTSCTS)) | (
            termios.CS8 | termios.CLOCAL | termios.CREAD
        )
        attrs[4] = attrs[5] = _SPEEDS[baudrate]
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
        termios.tcflush(fd, termios.TCIFLUSH)
        out = os.dup(fd)
    except (OSError, termios.error) as e:
        os.close(fd)
        raise DeviceError("%s: %s" % (path, e))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    # from here on the transports own (and close) the two descriptors
    await loop.connect_read_pipe(lambda: protocol, os.fdopen(fd, "rb", buffering=0))
    transport, wprotocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(out, "wb", buffering=0)
    )
    return reader, asyncio.StreamWriter(transport, wprotocol, None, loop)


class TtyLine:
    """A board's serial line on Linux (driver ``tty-line``), opened by its user when it starts."""

    def __init__(self, settings):
        self.path = settings.str("path")
        self.baudrate = settings.int("baudrate", 115200, lo=1200, hi=4000000)
        self.where = self.path

    async def open(self):
        return await open_tty(self.path, self.baudrate)


def create_line(s, board):
    return TtyLine(s)
