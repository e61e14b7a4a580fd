"""One register's network cable to a peer (host code): a TCP relay on 127.0.0.1 that can be
pulled and plugged back, for a fault on one register's link only (the store's shared TSE
service gone for one register while the others go on signing through it).

    link = Link(peer_port).start()     # the register connects to link.port
    link.pull()                        # every connection cut at once, new ones reset
    link.plug()
    link.stop()

Bytes pass unchanged both ways (TLS included: the register still checks the peer's
certificate); ``pulls`` counts the connections a pulled cable cut or refused.
"""

import asyncio
import threading


class Link:
    def __init__(self, peer_port, peer_host="127.0.0.1"):
        self.peer = (peer_host, peer_port)
        self.port = 0
        self.up = True
        self.pulls = 0
        self._pairs = set()
        self._loop = self._thread = self._server = None
        self._ready = threading.Event()

    def start(self, timeout=10):
        self._thread = threading.Thread(target=self._run, name="link", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the link to port %d did not start" % self.peer[1])
        return self

    def _run(self):
        self._loop = asyncio.new_event_loop()

        async def listen():
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]

        self._loop.run_until_complete(listen())
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()

    async def _serve(self, reader, writer):
        if not self.up:
            self.pulls += 1
            writer.transport.abort()
            return
        try:
            peer_reader, peer_writer = await asyncio.open_connection(*self.peer)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, peer_writer)
        self._pairs.add(pair)
        try:
            await asyncio.gather(_pipe(reader, peer_writer), _pipe(peer_reader, writer))
        finally:
            self._pairs.discard(pair)
            for w in pair:
                w.close()

    def _cut(self):
        for pair in list(self._pairs):
            self.pulls += 1
            for w in pair:
                w.transport.abort()

    def pull(self):
        self.up = False
        self._loop.call_soon_threadsafe(self._cut)

    def plug(self):
        self.up = True

    def stop(self):
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._cut)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


async def _pipe(reader, writer):
    """``reader``'s bytes to ``writer`` until its end (passed on as the other side's end)."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):  # the other side cut, or the cable pulled
        writer.transport.abort()
