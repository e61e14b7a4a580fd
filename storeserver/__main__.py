"""``python -m storeserver``: the store server and its administration.

    python -m storeserver serve --pg out/store/pg [--port 8470] [--master data/demo-master.json]
    python -m storeserver serve --dsn "host=... dbname=store user=... password=..."
    python -m storeserver serve ... --tls-cert server.pem --tls-key server.key      (HTTPS)
    python -m storeserver user add NAME owner|manager|viewer      (the password on stdin)
    python -m storeserver enrol SERIAL [--name "Kasse 2"]        (prints the one-time code)
    python -m storeserver export OUT_FOLDER --from 2026-12-01 --to 2026-12-31
    python -m storeserver cluster start|stop --pg out/store/pg

``--pg FOLDER`` is a private PostgreSQL cluster (storeserver/cluster.py), started if it is not
running; ``--dsn`` any PostgreSQL 15 (a managed one too). ``serve`` applies the schema
(storeserver/schema/) first; ``--master`` imports a master data file as version 1 when the
server has none yet. Several ``serve`` processes may share one database.
"""

import argparse
import asyncio
import getpass
import json
import logging
import signal
import sys

from storeserver import auth, export
from storeserver.api import new_code
from storeserver.app import serve
from storeserver.cluster import Cluster
from storeserver.db import migrate, open_pool
from storeserver.masterdata import latest, save


def _dsn(args):
    if args.dsn:
        return args.dsn
    return Cluster(args.pg).start().dsn()


async def _with_pool(dsn, fn):
    pool = await open_pool(dsn, min_size=1, max_size=2)
    try:
        return await fn(pool)
    finally:
        await pool.close()


async def seed_master(pool, path):
    """Import the master data file ``path`` as the first version, when there is none."""
    version, _ = await latest(pool)
    if version is None:
        with open(path) as f:
            version = await save(pool, json.load(f), "import", "aus %s" % path)
    return version


async def _serve(args, dsn):
    if args.master:
        await _with_pool(dsn, lambda pool: seed_master(pool, args.master))
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    runner, port, _ = await serve(dsn, args.host, args.port, reuse_port=args.reuse_port, tls=tls)
    print("store server: %s://%s:%d/" % ("https" if tls else "http", args.host, port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m storeserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="out/store/pg", help="a private PostgreSQL cluster's folder")
    parser.add_argument("--dsn", help="a PostgreSQL connection string instead of --pg")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8470)
    p.add_argument("--master", help="master data file imported when the server has none")
    p.add_argument("--reuse-port", action="store_true", help="several processes on one port (SO_REUSEPORT)")
    p.add_argument("--tls-cert", help="HTTPS: the server's certificate (chain), PEM")
    p.add_argument("--tls-key", help="HTTPS: its private key, PEM")
    p = sub.add_parser("user")
    p.add_argument("action", choices=("add",))
    p.add_argument("name")
    p.add_argument("role", choices=auth.ROLES)
    p = sub.add_parser("enrol")
    p.add_argument("serial")
    p.add_argument("--name", default="")
    p = sub.add_parser("export")
    p.add_argument("folder")
    p.add_argument("--from", dest="first")
    p.add_argument("--to", dest="last")
    p = sub.add_parser("cluster")
    p.add_argument("action", choices=("start", "stop"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    if args.cmd == "cluster":
        cluster = Cluster(args.pg)
        if args.action == "start":
            cluster.start()
            print("PostgreSQL on 127.0.0.1:%d and %s" % (cluster.port, cluster.socket_dir))
        else:
            cluster.stop()
        return 0
    dsn = _dsn(args)
    migrate(dsn)
    if args.cmd == "serve":
        asyncio.run(_serve(args, dsn))
        return 0
    if args.cmd == "user":
        password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
        try:
            asyncio.run(_with_pool(dsn, lambda pool: auth.add_user(pool, args.name, args.role, password)))
        except auth.Refused as e:
            print("user: %s" % e, file=sys.stderr)
            return 1
        print("user %s (%s) saved" % (args.name, args.role))
        return 0
    if args.cmd == "enrol":
        code = asyncio.run(_with_pool(dsn, lambda pool: new_code(pool, args.serial, args.name)))
        print("enrolment code for %s: %s (valid for a day, once)" % (args.serial, code))
        return 0
    if args.cmd == "export":
        rows = asyncio.run(
            _with_pool(dsn, lambda pool: export.dsfinvk(pool, args.folder, args.first, args.last))
        )
        print("DSFinV-K export in %s: %s" % (args.folder, json.dumps(rows)))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
