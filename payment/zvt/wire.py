"""ZVT's two transports as one async interface (device code): whole APDUs in and out.

    wire = await TcpWire.connect("192.168.1.50", 20007, connect_ms=5000)   # the ECR dials
    wire = TcpWire(reader, writer)             # the PT took a connection (asyncio.start_server)
    wire = SerialWire(link)                    # a hal.link link: a UART, a serial port, a pty
    await wire.send(0x0601, data)
    control, data = await wire.receive(5000)   # asyncio.TimeoutError after 5 s; EOFError: gone
    wire.close()
    terminal = create(settings, board)         # the board's "zvt_terminal": await terminal.connect()

TCP (PA00P016 §4) carries the bare APDUs; any segmentation is fine (``codec.Stream``). On a
serial line (§3) each APDU is framed (``payment.zvt.serial``) and acknowledged at once: ``send``
waits up to T2 (5 s) for ACK and repeats the frame after a NAK or silence, twice, then raises
``ProtocolError`` ("transmission error"); ``receive`` answers each frame ACK, or NAK when its
CRC is wrong or a gap of more than T1 (200 ms) broke it.
"""

import asyncio

from core.errors import ConfigError, DeviceError, ProtocolError
from hal.link import open_link
from payment.zvt import codec, serial

PORT = 20007
T1_MS, T2_MS, REPEATS = 200, 5000, 2


class TcpWire:
    def __init__(self, reader, writer, peer=""):
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self._stream = codec.Stream()
        self._ready = []

    @classmethod
    async def connect(cls, host, port=PORT, connect_ms=5000):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), connect_ms / 1000)
        except asyncio.TimeoutError:
            raise OSError("ZVT %s:%d: no connection in %d ms" % (host, port, connect_ms))
        return cls(reader, writer, "%s:%d" % (host, port))

    async def send(self, control, data=b""):
        self.writer.write(codec.encode(control, data))
        await self.writer.drain()

    async def receive(self, timeout_ms=None):
        while not self._ready:
            if timeout_ms is None:
                chunk = await self.reader.read(1024)
            else:
                chunk = await asyncio.wait_for(self.reader.read(1024), timeout_ms / 1000)
            if not chunk:
                raise EOFError("ZVT peer %s closed the connection" % self.peer)
            self._ready.extend(self._stream.feed(chunk))
        return self._ready.pop(0)

    def close(self):
        self.writer.close()


class SerialWire:
    def __init__(self, link, t2_ms=T2_MS, t1_ms=T1_MS, keep=False):
        self.link = link
        self.keep = keep  # one line for every command: ``close`` leaves it open
        self.t1_ms = t1_ms
        self.t2_ms = t2_ms
        self._deframer = serial.Deframer()
        self._frames = []  # APDUs received (and acknowledged) while waiting for an ACK
        self._acks = []

    async def _pump(self, timeout_ms):
        """Read what the line has within ``timeout_ms`` (T1 once a frame has begun); answer
        frames. False if nothing came."""
        wait = self.t1_ms if self._deframer.inside else timeout_ms
        try:
            data = await self.link.recv(64, timeout_ms=wait)
        except DeviceError:
            if self._deframer.inside:  # a gap longer than T1 inside a frame: it is lost
                self._deframer.reset()
                await self.link.send(bytes((serial.NAK,)))
            return False
        for event in self._deframer.feed(data):
            if event in (serial.ACK, serial.NAK):
                self._acks.append(event)
            elif event[0] == serial.FRAME:
                await self.link.send(bytes((serial.ACK,)))
                self._frames.append(codec.decode(event[1]))
            else:
                await self.link.send(bytes((serial.NAK,)))
        return True

    async def send(self, control, data=b""):
        raw = serial.frame(codec.encode(control, data))
        for _ in range(1 + REPEATS):
            self._acks = []
            await self.link.send(raw)
            waited = 0
            while not self._acks and waited < self.t2_ms:
                step = min(self.t1_ms, self.t2_ms - waited)
                if not await self._pump(step):
                    waited += step
            if self._acks and self._acks[0] == serial.ACK:
                return
        raise ProtocolError("ZVT transmission error: no ACK after %d repeats" % REPEATS)

    async def receive(self, timeout_ms=None):
        waited = 0
        while not self._frames:
            if timeout_ms is not None and waited >= timeout_ms:
                raise asyncio.TimeoutError()
            step = self.t1_ms if timeout_ms is None else min(self.t1_ms, timeout_ms - waited)
            if not await self._pump(step):
                waited += step
        return self._frames.pop(0)

    def close(self):
        if not self.keep:
            self.link.close()


class Terminal:
    """An external payment terminal as the board wires it (device ``zvt_terminal``, driver
    ``zvt-terminal``): ``host`` + ``port`` (a new TCP connection per command, as ECRs do), or a
    serial link (``path``, ``uart``, ``serial``: one line kept open); ``password`` (six digits),
    ``t3_ms``, ``t4_ms``."""

    def __init__(self, s):
        self.password = s.str("password", "000000")
        if len(self.password) != 6 or not self.password.isdigit():
            raise ConfigError(s.path + ".password", "must be six digits")
        self.t3_ms = s.int("t3_ms", 5000, lo=500, hi=60000)
        self.t4_ms = s.int("t4_ms", 180000, lo=5000, hi=600000)
        self.where = ""
        self._serial = None
        if s.has("host"):
            self.host, self.port = s.str("host"), s.int("port", PORT, lo=1, hi=65535)
            self.where = "%s:%d" % (self.host, self.port)
        else:
            self._serial = SerialWire(open_link(s), keep=True)
            self.where = self._serial.link.where

    async def connect(self):
        if self._serial is not None:
            return self._serial
        return await TcpWire.connect(self.host, self.port, self.t3_ms)

    def close(self):
        if self._serial is not None:
            self._serial.link.close()


def create(s, board):
    return Terminal(s)


def create_line(s, board):
    """A serial port an external register drives our PT side on (device ``zvt_ecr``)."""
    return SerialWire(open_link(s))
