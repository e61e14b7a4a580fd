"""A ZVT register on the command line (host code): drives a payment terminal over TCP as a
merchant's PC software would — here, usually, our terminal's PT side (``make sim`` prints its
``zvt: <host:port>``).

    python -m tools.zvt --port 20007 pay 12.50      # Registration, then Authorization 12,50 EUR
    python -m tools.zvt --port 20007 refund 3.00
    python -m tools.zvt --port 20007 reverse 12     # by the terminal's receipt number
    python -m tools.zvt --port 20007 eod | status | repeat | diagnosis | logoff | register

Each command registers first (config byte BA: we print, we want intermediate status, we
control), prints the terminal's prompts as they come and then one JSON object: ``ok``,
``code``, ``text``, the Status Information (``status``) and the receipt lines (``lines``).
Exit status 0 when the terminal said ok, 1 when it refused, 2 for a usage error.
"""

import argparse
import asyncio
import json
import sys

from payment.zvt.ecr import Ecr
from payment.zvt.wire import PORT, TcpWire

COMMANDS = ("register", "pay", "refund", "reverse", "eod", "status", "repeat", "diagnosis", "logoff")


def _cents(text):
    euros, _, cents = text.replace(",", ".").partition(".")
    if not euros.isdigit() or not (cents.isdigit() or cents == "") or len(cents) > 2:
        raise ValueError("an amount in EUR, like 12.50: %r" % text)
    return int(euros) * 100 + int((cents + "00")[:2])


async def run(host, port, password, command, arg=None, t4_ms=180000, out=sys.stdout):
    async def connect():
        return await TcpWire.connect(host, port, 5000)

    async def show(code, text):
        print("terminal: %s" % text, file=out, flush=True)

    ecr = Ecr(connect, password, t4_ms=t4_ms, on_status=show)
    result = await ecr.register()
    if result.ok and command != "register":
        call = {
            "pay": lambda: ecr.pay(arg),
            "refund": lambda: ecr.refund(arg),
            "reverse": lambda: ecr.reverse(arg),
            "eod": ecr.end_of_day,
            "status": ecr.status_enquiry,
            "repeat": ecr.repeat_receipt,
            "diagnosis": ecr.diagnosis,
            "logoff": ecr.log_off,
        }[command]
        result = await call()
    return {
        "ok": result.ok,
        "code": result.code,
        "text": result.text,
        "lost": result.lost,
        "status": result.status,
        "lines": [lines for _, lines in result.lines],
        "completion": result.completion,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.zvt", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--password", default="000000")
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("argument", nargs="?", help="EUR for pay/refund, the receipt number for reverse")
    args = parser.parse_args(argv)
    arg = None
    if args.command in ("pay", "refund"):
        if args.argument is None:
            parser.error("%s needs an amount" % args.command)
        try:
            arg = _cents(args.argument)
        except ValueError as e:
            parser.error(str(e))
    elif args.command == "reverse":
        if args.argument is None or not args.argument.isdigit():
            parser.error("reverse needs the receipt number")
        arg = int(args.argument)
    reply = asyncio.run(run(args.host, args.port, args.password, args.command, arg))
    print(json.dumps(reply, ensure_ascii=False), flush=True)
    return 0 if reply["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
