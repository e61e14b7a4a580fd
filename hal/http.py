"""A small HTTP/1.1 client for JSON services (device code: MicroPython has no HTTP library that
runs on asyncio): one request per connection, as the wallet host and later the store server
and the receipt server are spoken to.

    status, body = await request("127.0.0.1", 9300, "POST", "/v1/payments", {"amount": 1250})
    # body: the JSON answer (dict or list), or None when there was none
    status, body = await request(host, port, "PUT", "/api/receipts/ID", data=sealed, headers={...})
    status, body = await request(host, 8471, "POST", "/api/v1/journal", {...}, tls=tls_client(ca))

The request carries ``Content-Type: application/json``, ``Content-Length`` and
``Connection: close``; the answer is read to the end of the connection (or its
``Content-Length``). No answer within ``timeout_ms`` is ``asyncio.TimeoutError``; a refused
connection, or one closed before any answer came, ``OSError``; an answer that is not HTTP, or
a body that is not JSON, ``ProtocolError``.

HTTPS on MicroPython does not go through asyncio's streams: the unix port's ``select.poll``
rebases every entry's ``pollfd`` when its table grows, also the NULL of an object without a
file descriptor (a TLS socket), and the next poll dereferences the wild pointer (SIGSEGV in
``poll_obj_get_revents``, extmod/modselect.c). ``PolledTls`` keeps the TLS socket out of
asyncio's poller: it asks a poller of its own (the TLS socket alone in it, so it never grows,
and mbedTLS's own view of what it waits for) every ``POLL_MS``.
"""

import asyncio
import json
import sys

from core.errors import ProtocolError

MAX_ANSWER = 65536
POLL_MS = 2  # how often a waiting MicroPython TLS connection is looked at


class PolledTls:
    """A TLS client connection with the interface of an asyncio stream pair (``write``,
    ``drain``, ``read``, ``close``, ``wait_closed``) that waits by polling (MicroPython)."""

    def __init__(self, sock):
        import select

        self.s = sock
        self.poller = select.poll()
        self.poller.register(sock, select.POLLIN)
        self.pending = b""
        self._events = select.POLLIN, select.POLLOUT

    @classmethod
    async def open(cls, host, port, ctx):
        import socket

        ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
        raw = socket.socket(ai[0], ai[1], ai[2])
        raw.setblocking(False)
        try:
            raw.connect(ai[-1])
        except OSError as e:
            if e.errno != 115:  # EINPROGRESS: the connection is made while we wait
                raw.close()
                raise
        try:
            sock = ctx.wrap_socket(raw, server_hostname=host, do_handshake_on_connect=False)
        except BaseException:
            raw.close()
            raise
        sock.setblocking(False)
        return cls(sock)

    async def _wait(self, event):
        self.poller.modify(self.s, event)
        while not self.poller.poll(0):
            await asyncio.sleep_ms(POLL_MS)

    def write(self, data):
        self.pending += data

    async def drain(self):
        while self.pending:
            n = self.s.write(self.pending)  # the handshake first; None: mbedTLS waits
            if n is None:
                await self._wait(self._events[1])
            else:
                self.pending = self.pending[n:]

    async def read(self, n):
        while True:
            data = self.s.read(n)
            if data is not None:
                return data
            await self._wait(self._events[0])

    def close(self):
        self.poller.unregister(self.s)
        self.s.close()

    async def wait_closed(self):
        pass


async def _exchange(host, port, raw, tls=None):
    if tls is None:
        reader, writer = await asyncio.open_connection(host, port)
    elif sys.implementation.name == "micropython":
        reader = writer = await PolledTls.open(host, port, tls)
    else:
        reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    try:
        writer.write(raw)
        await writer.drain()
        data = b""
        while len(data) <= MAX_ANSWER:
            chunk = await reader.read(4096)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = _length(head)
                if length is not None and len(body) >= length:
                    break
        if not data:  # closed before a byte came back: no answer, as a timeout is
            raise OSError("the connection closed without an answer")
        return data
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


def _length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                raise ProtocolError("HTTP Content-Length %r" % value.strip())
    return None


def parse(data, as_bytes=False):
    """``(status, JSON body or None)`` of a whole HTTP answer; ``(status, bytes)`` if ``as_bytes``."""
    head, sep, body = data.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].split(b" ")
    if not sep or len(line) < 2 or not line[0].startswith(b"HTTP/1.") or not line[1].isdigit():
        raise ProtocolError("not an HTTP answer: %r" % head[:40])
    length = _length(head)
    if length is not None:
        if len(body) < length:
            raise ProtocolError("HTTP answer cut off (%d of %d bytes)" % (len(body), length))
        body = body[:length]
    if as_bytes:
        return int(line[1]), body
    if not body.strip():
        return int(line[1]), None
    try:
        return int(line[1]), json.loads(body)
    except ValueError:
        raise ProtocolError("HTTP answer is not JSON")


async def request(
    host, port, method, path, body=None, timeout_ms=10000, headers=None, data=None, tls=None, as_bytes=False
):
    """``body`` goes as JSON; ``data`` (bytes) as ``application/octet-stream``; ``tls``: a
    client context (``hal.platform.tls_client``) for HTTPS; ``as_bytes``: the answer's body as bytes
    (a file), not JSON."""
    if data is not None:
        payload, kind = bytes(data), "application/octet-stream"
    else:
        payload, kind = (b"" if body is None else json.dumps(body).encode()), "application/json"
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (host, port), "Connection: close"]
    lines.append("Content-Type: " + kind)
    lines.append("Content-Length: %d" % len(payload))
    for name, value in (headers or {}).items():
        lines.append("%s: %s" % (name, value))
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
    data = await asyncio.wait_for(_exchange(host, port, raw, tls), timeout_ms / 1000)
    return parse(data, as_bytes)
