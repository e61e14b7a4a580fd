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
connection ``OSError``; an answer that is not HTTP, or a body that is not JSON, ``ProtocolError``.
"""

import asyncio
import json

from core.errors import ProtocolError

MAX_ANSWER = 65536


async def _exchange(host, port, raw, tls=None):
    if tls is None:
        reader, writer = await asyncio.open_connection(host, port)
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


def parse(data):
    """``(status, JSON body or None)`` of a whole HTTP answer."""
    head, sep, body = data.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].split(b" ")
    if not sep or len(line) < 2 or not line[0].startswith(b"HTTP/1.") or not line[1].isdigit():
        raise ProtocolError("not an HTTP answer: %r" % head[:40])
    length = _length(head)
    if length is not None:
        if len(body) < length:
            raise ProtocolError("HTTP answer cut off (%d of %d bytes)" % (len(body), length))
        body = body[:length]
    if not body.strip():
        return int(line[1]), None
    try:
        return int(line[1]), json.loads(body)
    except ValueError:
        raise ProtocolError("HTTP answer is not JSON")


async def request(host, port, method, path, body=None, timeout_ms=10000, headers=None, data=None, tls=None):
    """``body`` goes as JSON; ``data`` (bytes) as ``application/octet-stream``; ``tls``: a
    client context (``hal.platform.tls_client``) for HTTPS."""
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
    return parse(data)
