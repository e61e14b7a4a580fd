"""A panel on TCP (both runtimes): the simulator's virtual panels (tools/sim/panels.py), or
a network display that speaks the framed DCS wire of hal/panel.py.

    panel = TcpPanel("127.0.0.1", 9110, 800, 480)
    await panel.draw(scene)             # connects on first use and after a drop
    await panel.event()                 # ("down", x, y), ("up", x, y), ("key", "Enter")

A panel that cannot be reached is a ``DeviceError`` at ``draw``; it is tried again at the next
frame (after a drop the whole frame is sent). Touch reports that are not ones, or keys
longer than ``MAX_KEY`` bytes, are dropped with the link: the panel is then not trusted.
"""

import asyncio

from core.errors import DeviceError
from hal.panel import MAX_KEY, Panel, init_sequence, parse_touch


class TcpPanel(Panel):
    def __init__(self, host, port, width, height, connect_ms=3000):
        Panel.__init__(self, width, height)
        self.host, self.port, self.connect_ms = host, port, connect_ms
        self.where = "panel %s:%d" % (host, port)
        self._reader = self._writer = None
        self._up = asyncio.Event()  # a connection is there to read events from

    async def _connect(self):
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_ms / 1000
            )
        except (OSError, asyncio.TimeoutError) as e:
            raise DeviceError("%s not reachable (%s)" % (self.where, e))
        self.lost()
        await self._write(init_sequence())
        self._up.set()

    async def _write(self, data):
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as e:
            self._drop()
            raise DeviceError("%s takes no data (%s)" % (self.where, e))

    async def _send(self, data):
        if self._writer is None:
            await self._connect()
        await self._write(bytes(data) if isinstance(data, memoryview) else data)

    def _drop(self):
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError:
                pass
        self._reader = self._writer = None
        self._up.clear()
        self.lost()

    async def _exactly(self, n):
        data = b""
        while len(data) < n:
            more = await self._reader.read(n - len(data))
            if not more:
                raise OSError("closed")
            data += more
        return data

    async def _read_event(self):
        while True:
            await self._up.wait()
            try:
                kind = await self._exactly(1)
                if kind == b"T":
                    return parse_touch(await self._exactly(5))
                if kind == b"K":
                    n = (await self._exactly(1))[0]
                    if not 1 <= n <= MAX_KEY:
                        raise ValueError("a key name of %d bytes" % n)
                    return ("key", (await self._exactly(n)).decode())
                raise ValueError("report %r is neither touch nor key" % kind)
            except (OSError, ValueError, UnicodeError, AttributeError):
                self._drop()  # the next frame connects again

    def close(self):
        self.stop()
        self._drop()


def create(s, board):
    """Board driver ``tcp-panel``: ``host``, ``port``, ``width``, ``height``."""
    return TcpPanel(
        s.str("host", "127.0.0.1"),
        s.int("port", lo=1, hi=65535),
        s.int("width", lo=64, hi=1920),
        s.int("height", lo=32, hi=1080),
    )
