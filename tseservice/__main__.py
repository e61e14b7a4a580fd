"""``python -m tseservice``: the store's shared TSE service on a store machine (one of the
registers, or the store server's host), its card in that machine's reader.

    python -m tseservice serve  --folder /var/lib/tse-share --card 127.0.0.1:10809/tse \\
        --listen 0.0.0.0:8443 --cert server.pem --key server.key [--ca ca.pem --admin-pin PIN]
    python -m tseservice enrol  --folder /var/lib/tse-share SMARTECR-0002
    python -m tseservice export --folder /var/lib/tse-share --card ... --url https://HOST:PORT \\
        --ca ca.pem out.tar

``serve`` offers the card (an NBD export: ``qemu-nbd`` of the card's block device, or the card
emulator) on HTTPS and runs until stopped; with ``--admin-pin`` it first takes the card into
service as the TSS, through its own API (``--ca`` checks its own certificate), and says where the
admin PUK was kept. ``enrol`` makes a register's account and prints the register's ``tse``
settings (JSON, its secret shown this once; the running service takes it at the register's
first login). ``export`` writes the TSS's whole TAR export (every register's logs). Bad
arguments: a one-line error and exit status 2.
"""

import argparse
import asyncio
import json
import os
import ssl
import sys

from aiohttp import web

from hal import platform as platforms
from tseservice.share import SharedTse


def _address(text, what, lowest=1):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not lowest <= int(port) < 65536:
        raise ValueError("%s must be HOST:PORT, got %r" % (what, text))
    return host, int(port)


def _card(text):
    """``HOST:PORT[/EXPORT]`` of the card's NBD export."""
    where, _, name = text.partition("/")
    host, port = _address(where, "--card")
    return host, port, name or "tse"


def _tls(ca):
    return platforms.tls_client(platforms.read_certificate(ca)) if ca else None


async def serve(args):
    share = SharedTse(args.folder, _card(args.card))
    host, port = _address(args.listen, "--listen", lowest=0)  # 0: any free port (said at start)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    runner = web.AppRunner(share.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print("tse service: https://%s:%d/api/v2, TSS %s" % (host, port, share.tss_id), flush=True)
    try:
        if args.admin_pin:
            made = await share.setup("127.0.0.1", port, _tls(args.ca), args.admin_pin)
            kept = ", its admin PUK kept in " + os.path.join(args.folder, "admin-puk.json")
            print("tse service: TSS set up%s" % (kept if made else ""), flush=True)
        await asyncio.Event().wait()  # until stopped
    finally:
        await runner.cleanup()


def enrol(args):
    share = SharedTse(args.folder, ("127.0.0.1", 0, "tse"))  # the card is not needed to enrol
    key, secret = share.enrol(args.serial)
    tse = {"backend": "shared", "cloud": {"api_key": key, "api_secret": secret, "tss_id": share.tss_id}}
    print(json.dumps({"tse": tse}, indent=2))


def export(args):
    share = SharedTse(args.folder, _card(args.card))
    scheme, _, rest = args.url.partition("://")
    if scheme != "https":
        raise ValueError("--url must be https://HOST:PORT, got %r" % args.url)
    host, port = _address(rest.rstrip("/"), "--url")
    asyncio.run(share.export(host, port, _tls(args.ca), args.out))
    print("tse service: the TSS's export in %s" % args.out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tseservice", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("serve", help="offer the card to the store's registers")
    s.add_argument("--folder", required=True)
    s.add_argument("--card", required=True, help="HOST:PORT[/EXPORT] of the card's NBD export")
    s.add_argument("--listen", default="0.0.0.0:8443")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--ca", default="", help="the CA of --cert, to check itself at set-up")
    s.add_argument("--admin-pin", default="", help="set the TSS up first, with this admin PIN")
    e = commands.add_parser("enrol", help="a register's account; prints its tse settings")
    e.add_argument("--folder", required=True)
    e.add_argument("serial")
    x = commands.add_parser("export", help="the TSS's whole TAR export")
    x.add_argument("--folder", required=True)
    x.add_argument("--card", required=True)
    x.add_argument("--url", required=True)
    x.add_argument("--ca", default="")
    x.add_argument("out")
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            asyncio.run(serve(args))
        elif args.command == "enrol":
            enrol(args)
        else:
            export(args)
    except (ValueError, OSError) as e:
        print("tseservice: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
