"""ZVT's two transports as one async interface (device code): whole APDUs in and out.

    wire = await TcpWire.connect("192.168.1.50", 20007, connect_ms=5000)   # the ECR dials
    wire = TcpWire(reader, writer)             # the PT took a connection (asyncio.start_server)
    wire = SerialWire(link)                    # a hal.link link: a UART, a serial port, a pty
    await wire.send(0x0601, data)
    control, data = await wire.receive(5000)   # asyncio.TimeoutError after 5 s; EOFError: gone
    wire.close()

TCP (PA00P016 §4) carries the bare APDUs; any segmentation is fine (``codec.Stream``). On a
serial line (§3) each APDU is framed (``payment.zvt.serial``) and acknowledged at once: ``send``
waits up to T2 (5 s) for ACK and repeats the frame after a NAK or silence, twice, then raises
``ProtocolError`` ("transmission error"); ``receive`` answers each frame ACK, or NAK when its
CRC is wrong or a gap of more than T1 (200 ms) broke it.
"""

import asyncio

from core.errors import DeviceError, ProtocolError
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
    def __init__(self, link, t2_ms=T2_MS, t1_ms=T1_MS):
        self.link = link
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
        self.link.close()
