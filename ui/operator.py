"""The operator link: the terminal's operator screen and keys as JSON lines on loopback.

    server = await serve(terminal, port)       # 127.0.0.1:port, one JSON object per line
    -> {"op": "plu", "code": "1001", "qty": 2000}
    <- {"ok": true, "state": {...}}            # or {"ok": false, "error": "...", "state": {...}}

Until the touch screen exists, this is how a person (the simulator's operator UI,
``python -m tools.sim``) or a script works the till. Operations: ``state``, ``plu`` (code,
qty), ``barcode`` (gtin), ``void`` (pos), ``abort``, ``cash`` (given, optional), ``card``,
``drawer``. A line that is not a JSON object, an unknown operation or a missing field is
answered with an error and changes nothing; a line over 4 KiB closes the connection.
"""

import asyncio
import json

from firmware.errors import EcrError

MAX_LINE = 4096


async def dispatch(term, req):
    op = req.get("op")
    if op == "state":
        pass
    elif op == "plu":
        await term.plu(str(req["code"]), int(req.get("qty", 1000)))
    elif op == "barcode":
        await term.barcode(str(req["gtin"]))
    elif op == "void":
        await term.void(int(req["pos"]))
    elif op == "abort":
        await term.abort()
    elif op == "cash":
        given = req.get("given")
        await term.pay_cash(None if given is None else int(given))
    elif op == "card":
        await term.pay_card()
    elif op == "drawer":
        term.open_drawer()
    else:
        raise ValueError("unknown operation %r" % (op,))


async def handle(term, reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
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
    writer.close()


async def serve(term, port, host="127.0.0.1"):
    return await asyncio.start_server(lambda r, w: handle(term, r, w), host, port)
