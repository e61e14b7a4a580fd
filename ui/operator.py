"""The operator link: the terminal's operator screen and keys as JSON lines on loopback.

    server = await serve(terminal, port)       # 127.0.0.1:port, one JSON object per line
    -> {"op": "plu", "code": "1001", "qty": 2000}
    <- {"ok": true, "state": {...}}            # or {"ok": false, "error": "...", "state": {...}}

The one door to the Till for the touch screen (ui/app.py makes these requests), the
simulator's text UI (``python -m tools.sim``) and scripts. Operations:

- selling: ``plu`` (code, qty thousandths), ``barcode`` (gtin), ``weighed`` (code, grams;
  without: what the scale weighs),
  ``open`` (code of an open-price article, price cents, qty), ``return`` (code, qty: goods
  brought back), ``pfand`` (code of a deposit article, units brought back), ``discount``
  (percent in hundredths or cents; with ``pos`` on that line, without on the receipt),
  ``voucher`` (sell true/false, cents, number), ``tip`` (cents), ``void`` (pos), ``abort``;
- paying: ``cash`` (given, optional: exactly what is due), ``card`` (pays what is due, or a
  return back to the card; ``terminal``, optional: ``integrated`` our card reader, ``external``
  the ZVT terminal; without: the configured one), ``qr`` (our EMVCo code on the customer
  screen for what is due; the sale is finished when the phone paid it; ``cancel``: true stops
  waiting), ``transfer`` (the GiroCode: the sale is booked as awaiting a SEPA transfer); a
  payment code from the customer's app is simply scanned; ``receipt`` (how: ``paper``,
  ``digital``, ``both``, ``none``: how the next receipt is issued, the customer's choice),
  ``customer`` (card: a loyalty card's number, as its scan gives it), ``redeem`` (points off the
  receipt);
- the rest: ``signon`` (operator, pin), ``signoff``, ``training`` (on), ``movement`` (kind:
  Einzahlung, Auszahlung, Geldtransit, Anfangsbestand, Privatentnahme, Privateinlage; cents,
  negative when money leaves the drawer), ``storno`` (bon_nr), ``reprint`` (bon_nr),
  ``drawer`` (reason, optional), ``receipts`` (the period's latest: reply ``receipts``), ``x``
  (print: reply ``totals`` and ``charts``), ``z`` (counts: {"cents": pieces}; reply ``z_nr``,
  ``counted``, ``difference``), ``state``.

A line that is not a JSON object, an unknown operation, a missing field or a number out of
its bounds (``qty`` 1 to 9,999,000 thousandths, amounts 1 to 999,999,999 cents, whole numbers
only: firmware.register.limits) is answered with an error and changes nothing; a line over
4 KiB closes the connection.
"""

import asyncio
import json

from core.errors import EcrError
from core.money import whole
from firmware.register.bon import CASH_MOVEMENTS
from firmware.register.limits import MAX_AMOUNT, MAX_QTY
from firmware.reports import DENOMINATIONS

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


def _pos(req, key="pos"):
    return _whole(req, key, 1, 9999)


def _cents(req, key, low=1):
    return _whole(req, key, low, MAX_AMOUNT)


def _flag(req, key):
    value = req.get(key, False)
    if value is not True and value is not False:
        raise ValueError("%s must be true or false, got %s" % (key, json.dumps(value)[:60]))
    return value


def _choice(req, key, choices):
    value = req[key]
    if value not in choices:
        raise ValueError("%s must be one of %s, got %s" % (key, ", ".join(choices), json.dumps(value)[:60]))
    return value


def _counts(req):
    """The Z closing's cash count: {"50000": pieces, ...}, denominations of the euro."""
    counts = req.get("counts", {})
    if not isinstance(counts, dict):
        raise ValueError("counts must be an object of denomination (cents) to pieces")
    out = {}
    for cents, pieces in counts.items():
        if (
            not cents.isdigit()
            or int(cents) not in DENOMINATIONS
            or not whole(pieces)
            or not 0 <= pieces <= 99999
        ):
            raise ValueError(
                "counts: %s x %s is not pieces of a euro denomination" % (json.dumps(pieces), cents)
            )
        out[int(cents)] = pieces
    return out


MOVEMENTS = tuple(kind for kind in CASH_MOVEMENTS if kind != "DifferenzSollIst")  # that one: the closing's


OPERATIONS = ("state", "plu", "barcode", "return", "weighed", "open", "pfand", "discount", "voucher", "tip")
OPERATIONS += ("void", "abort", "cash", "card", "drawer", "signon", "signoff", "training", "movement")
OPERATIONS += ("storno", "reprint", "receipts", "x", "z", "qr", "transfer", "receipt", "customer", "redeem")


async def dispatch(term, req):
    """Run one request; returns what the reply carries besides ``ok`` and ``state``."""
    op = req.get("op")
    if op not in OPERATIONS:
        raise ValueError("unknown operation %r" % (op,))
    if op == "state":
        pass
    elif op == "plu":
        await term.plu(_code(req, "code"), _whole(req, "qty", 1, MAX_QTY, 1000))
    elif op == "barcode":
        await term.barcode(_code(req, "gtin"))
    elif op == "return":
        await term.give_back(_code(req, "code"), _whole(req, "qty", 1, MAX_QTY, 1000))
    elif op == "weighed":
        grams = _whole(req, "grams", 1, MAX_QTY) if "grams" in req else None  # None: the scale's
        await term.weighed(_code(req, "code"), grams)
    elif op == "open":
        await term.open_price(
            _code(req, "code"), _cents(req, "price", 0), _whole(req, "qty", 1, MAX_QTY, 1000)
        )
    elif op == "pfand":
        await term.pfand(_code(req, "code"), _whole(req, "units", 1, 9999, 1))
    elif op == "discount":
        if ("percent" in req) == ("cents" in req):
            raise ValueError("a discount is percent (hundredths) or cents, one of them")
        pos = _pos(req) if "pos" in req else None
        if "percent" in req:
            await term.discount(pos, percent=_whole(req, "percent", 1, 10000))
        else:
            await term.discount(pos, cents=_cents(req, "cents"))
    elif op == "voucher":
        await term.voucher(_flag(req, "sell"), _cents(req, "cents"), _code(req, "number"))
    elif op == "tip":
        await term.tip(_cents(req, "cents"))
    elif op == "void":
        await term.void(_pos(req))
    elif op == "abort":
        await term.abort()
    elif op == "cash":
        given = req.get("given")
        await term.pay_cash(None if given is None else _cents(req, "given"))
    elif op == "card":
        terminal = _choice(req, "terminal", ("integrated", "external")) if "terminal" in req else None
        await term.pay_card(terminal)
    elif op == "qr":
        if req.get("cancel"):
            term.cancel_qr()
        else:
            term.show_qr()
    elif op == "transfer":
        await term.pay_transfer()
    elif op == "receipt":
        term.set_receipt(_choice(req, "how", ("paper", "digital", "both", "none")))
    elif op == "customer":
        await term.set_customer(_code(req, "card"))
    elif op == "redeem":
        await term.redeem(_whole(req, "points", 1, 1000000))
    elif op == "drawer":
        reason = req.get("reason")
        if reason is None:
            term.open_drawer()
        else:
            term.drawer(_code(req, "reason"))
    elif op == "signon":
        term.sign_on(_code(req, "operator"), _code(req, "pin"))
    elif op == "signoff":
        term.sign_off()
    elif op == "training":
        term.set_training(_flag(req, "on"))
    elif op == "movement":
        cents = _whole(req, "cents", -MAX_AMOUNT, MAX_AMOUNT)
        if cents == 0:
            raise ValueError("cents must not be 0")
        await term.movement(_choice(req, "kind", MOVEMENTS), cents)
    elif op == "storno":
        await term.storno(_whole(req, "bon_nr", 1, 999999999))
    elif op == "reprint":
        term.reprint(_whole(req, "bon_nr", 1, 999999999))
    elif op == "receipts":
        return {"receipts": term.recent()}
    elif op == "x":
        t, pictures = term.x_report(_flag(req, "print"))
        return {"totals": t, "charts": pictures}
    elif op == "z":
        closing = await term.z_close(_counts(req))
        return {"z_nr": closing["z_nr"], "counted": closing["counted"], "difference": closing["difference"]}
    else:
        raise ValueError("unknown operation %r" % (op,))
    return None


async def request(term, req):
    """Run one request (a dict; anything else is refused): ``{"ok": True, ...}`` with what
    the operation answers, or ``{"ok": False, "error": ...}`` having changed nothing."""
    reply = {"ok": True}
    try:
        if not isinstance(req, dict):
            raise ValueError("a request is a JSON object")
        more = await dispatch(term, req)
        if more:
            reply.update(more)
    except KeyError as e:
        reply = {"ok": False, "error": "missing field %s" % (e,)}
    except (ValueError, TypeError, EcrError) as e:
        reply = {"ok": False, "error": str(e)}
    term.notify()
    return reply


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
            try:
                req = json.loads(line)
            except ValueError as e:
                reply = {"ok": False, "error": str(e)}
            else:
                reply = await request(term, req)
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
