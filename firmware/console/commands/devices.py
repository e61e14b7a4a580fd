"""Peripheral tests on the console: test print, drawer, display, scan, card (device code)."""

import asyncio

from core.calendar import iso8601, local_text
from core.errors import DeviceError
from firmware import VERSION
from firmware.console.commands.base import UsageError, _hex, _need


def _device(con, name):
    board = con.svc.board
    if not board.has(name):
        raise DeviceError("this terminal has no %s" % name.replace("_", " "))
    return board.get(name)


async def cmd_test_print(con, args):
    from hal.escpos import EscPos

    _need(args, 0)
    printer = _device(con, "printer")
    status = await printer.status()
    if not status.ready:
        raise DeviceError("printer not ready: " + "; ".join(status.problems()))
    now = con.svc.clock.now()
    e = EscPos().init().codepage().align(1).bold(True).text("smartECR Testseite\n").bold(False)
    e.text("%s\n%s\n" % (VERSION, local_text(now)))
    e.align(0).text("ÄÖÜ äöü ß € 0123456789\n" + "-" * printer.caps.columns + "\n")
    e.align(1).qr("smartECR test %d" % now).feed(1).cut()
    await printer.write(e.take())
    return "test page printed (%d columns)" % printer.caps.columns


async def cmd_test_drawer(con, args):
    _need(args, 0)
    term = con.svc.terminal
    _device(con, "drawer")
    await term.kick_drawer()
    return "drawer pulse sent; drawer is %s" % {True: "open", False: "closed", None: "unknown"}[
        term.drawer_open
    ], {"open": term.drawer_open}


async def cmd_test_display(con, args):
    _need(args, 0)
    display = _device(con, "display")
    cols = display.caps.columns
    await display.show("Display-Test ÄÖÜ€", "0123456789" * (cols // 10 + 1))
    try:
        await asyncio.wait_for(display.flush(), 2)
    except asyncio.TimeoutError:
        raise DeviceError("the customer display's line takes no data (is it connected?)")
    return "test pattern on the customer display (%d columns) until the next sale" % cols


async def cmd_test_scan(con, args):
    _need(args, 0)
    scan = con.svc.terminal.last_scan
    if scan is None:
        return "no scan since boot", {"scan": None}
    symbol, when = scan
    return "%s %s at %s" % (symbol.symbology, symbol.text, local_text(when)), {
        "symbology": symbol.symbology,
        "text": symbol.text,
        "time": iso8601(when),
    }


async def cmd_test_card(con, args):
    _need(args, 0, 1)
    if args and args[0] != "contactless":
        raise UsageError("test card [contactless]")
    reader = _device(con, "contactless_reader" if args else "card_reader")
    if not await reader.present():
        raise DeviceError("no card in the reader")
    atr = await reader.power_on()
    await reader.power_off()
    return "card present, ATR %s" % _hex(atr), {"atr": _hex(atr)}
