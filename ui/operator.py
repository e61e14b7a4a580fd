"""The operator link: the terminal's operator screen and keys as JSON lines on loopback.

    server = await serve(terminal, port)       # 127.0.0.1:port, one JSON object per line
    -> {"op": "plu", "code": "1001", "qty": 2000}
    <- {"ok": true, "state": {...}}            # or {"ok": false, "error": "...", "state": {...}}

Until the touch screen exists, this is how a person (the simulator's operator UI,
``python -m tools.sim``) or a script works the till. Operations: ``state``, ``plu`` (code,
qty), ``return`` (code, qty: goods brought back), ``barcode`` (gtin), ``void`` (pos),
``abort``, ``cash`` (given, optional), ``card`` (pays what is due, or a return back to the
card), ``drawer``. A line that is not a JSON object, an unknown operation, a missing field or a
number out of its bounds (``qty`` 1 to 9,999,000 thousandths, ``given`` 1 to 999,999,999
cents, whole numbers only: firmware.register.limits) is answered with an error and changes
nothing; a line over 4 KiB closes the connection.
"""

import asyncio
import json

from core.errors import EcrError
from core.money import whole
from firmware.register.limits import MAX_AMOUNT, MAX_QTY

MAX_LINE = 4096


def _whole(req, key, low, high, default=None):
    """A whole number field from ``low`` to ``high``: ``1.7``, ``true`` or ``1e30`` are refused."""
    if key not in req and default is None:
        raise KeyError(key)
    value = req.get(key, default)
    if not whole(value) or not low <= value <= high:
        raise ValueError(
            "%s must be a whole number from %d to %d, got %s" % (key, low, high, json.dumps(value))
        )
    return value


def _code(req, key):
    value = req[key]
    if not isinstance(value, str) or not 1 <= len(value) <= 50:
        raise ValueError("%s must be text of 1 to 50 characters, got %s" % (key, json.dumps(value)[:60]))
    return value


async def dispatch(term, req):
    op = req.get("op")
    if op == "state":
        pass
    elif op == "plu":
        await term.plu(_code(req, "code"), _whole(req, "qty", 1, MAX_QTY, 1000))
    elif op == "barcode":
        await term.barcode(_code(req, "gtin"))
    elif op == "return":
        await term.give_back(_code(req, "code"), _whole(req, "qty", 1, MAX_QTY, 1000))
    elif op == "void":
        await term.void(_whole(req, "pos", 1, 9999))
    elif op == "abort":
        await term.abort()
    elif op == "cash":
        given = req.get("given")
        await term.pay_cash(None if given is None else _whole(req, "given", 1, MAX_AMOUNT))
    elif op == "card":
        await term.pay_card()
    elif op == "drawer":
        term.open_drawer()
    else:
        raise ValueError("unknown operation %r" % (op,))


async def _close(writer):
    """Close a connection on both runtimes (MicroPython closes the socket in ``wait_closed``)."""
    try:
        writer.close()
        await writer.wait_closed()
    except OSError:
        pass


async def handle(term, reader, writer, link=None):
    if link is not None:
        link.writers.append(writer)
    try:
        while link is None or not link.closed:
            line = await reader.readline()
            if not line or (link is not None and link.closed):
                break  # a terminal that stopped (a reboot) answers nothing more
            if len(line) > MAX_LINE:
                break
            reply = {"ok": True}
            try:
                req = json.loads(line)
                if not isinstance(req, dict):
                    raise ValueError("a request is a JSON object")
                await dispatch(term, req)
            except KeyError as e:
                reply = {"ok": False, "error": "missing field %s" % (e,)}
            except (ValueError, TypeError) as e:
                reply = {"ok": False, "error": str(e)}
            except EcrError as e:
                reply = {"ok": False, "error": str(e)}
            reply["state"] = term.state()
            writer.write((json.dumps(reply) + "\n").encode())
            await writer.drain()
    except OSError:
        pass
    if link is not None and writer in link.writers:
        link.writers.remove(writer)
    await _close(writer)


class Link:
    """The listening operator link and its connections; ``close()`` ends them all, so that a
    peer sees the terminal stop (a reboot) at once, and a request still arriving on an old
    connection is never run by the terminal that stopped."""

    def __init__(self):
        self.server = None
        self.writers = []
        self.closed = False

    async def close(self):
        self.closed = True
        if self.server is not None:
            self.server.close()
        writers, self.writers = self.writers, []
        for writer in writers:
            await _close(writer)


async def serve(term, port, host="127.0.0.1"):
    link = Link()
    link.server = await asyncio.start_server(lambda r, w: handle(term, r, w, link), host, port)
    return link
