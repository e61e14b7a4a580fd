"""``python -m tools.receipts``: the receipt server, or a digital receipt as PNG/PDF.

python -m tools.receipts serve --folder out/receipts --port 8085 --token SERIAL=TOKEN [--host 0.0.0.0]
python -m tools.receipts render "http://host:8085/r/<id>#<key>" bon.pdf
"""

import argparse
import signal
import sys
import threading


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.receipts", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="the receipt server")
    serve.add_argument("--folder", default="out/receipts")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8085)
    serve.add_argument("--token", action="append", default=[], help="SERIAL=TOKEN of a register")
    serve.add_argument("--retention-days", type=int, default=90)
    render = sub.add_parser("render", help="a digital receipt as PNG or PDF")
    render.add_argument("url")
    render.add_argument("out")
    args = parser.parse_args(argv)
    if args.command == "render":
        from tools.receipts.render import fetch, save

        try:
            print(save(fetch(args.url), args.out))
        except (OSError, ValueError) as e:
            print("receipts: %s" % e, file=sys.stderr)
            return 1
        return 0
    from tools.receipts.server import ReceiptServer

    tokens = dict(t.split("=", 1) for t in args.token if "=" in t)
    server = ReceiptServer(args.folder, args.port, tokens, args.retention_days, host=args.host).start()
    print("receipt server on %s:%d" % (args.host, server.port), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
