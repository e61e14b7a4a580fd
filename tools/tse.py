"""``python -m tools.tse``: the emulated microSD TSE for developers.

    python -m tools.tse exercise --count 20 --out out/tse [--runtime cpython|micropython]
    python -m tools.tse card serve --state out/tse-card [--port 10809 | --unix PATH] [--control-port N]
                                   [--latency-ms 250] [--busy-polls 2] [--fsync]
    python -m tools.tse card mount --state out/tse-card --mountpoint /mnt/tse   (FUSE, as on embedded Linux)
    python -m tools.tse card info --state out/tse-card
    python -m tools.tse card export --state out/tse-card --out export.tar

``exercise`` makes a fresh card (in ``OUT/card``), serves it over NBD on loopback and runs
``tools.workloads.tse_exercise`` (set-up, COUNT transactions, full export) on the chosen runtime, which
writes ``OUT/export.tar`` and ``OUT/qr.txt``. ``card serve`` keeps a card in a state folder
(made on first use) and serves it until Ctrl-C or SIGTERM, printing ``tse: <nbd address>``.
``card mount`` shows the card as a mounted file system instead (FUSE), for the embedded-Linux
transport (O_DIRECT on TSE_COMM.DAT). ``card info`` and ``card export`` read a card's state
folder directly, like a card reader would, with no server running.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading

from tools import upy
from tools.sim.tse.server import CardServer, open_card
from tools.sim.tse.tar import export
from tse_sd import protocol as p


def cmd_exercise(args):
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    server = CardServer(os.path.join(args.out, "card")).start()
    try:
        argv = [
            "-m",
            "tools.workloads.tse_exercise",
            "--nbd",
            "127.0.0.1:%d" % server.nbd.port,
            "--count",
            str(args.count),
            "--out",
            args.out,
            "--seed",
            str(args.seed),
        ]
        if args.runtime == "micropython":
            proc = upy.run(argv, heapsize=args.heapsize, capture_output=True, text=True)
        else:
            proc = subprocess.run(
                [sys.executable] + argv, cwd=upy.ROOT, capture_output=True, text=True, check=False
            )
    finally:
        server.close()
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        print("exercise failed on %s (exit %d)" % (args.runtime, proc.returncode), file=sys.stderr)
        return 1
    totals = json.loads(proc.stdout.strip().splitlines()[-1])
    print("exercise on %s: %s" % (args.runtime, json.dumps(totals)))
    print("wrote %s and %s" % (os.path.join(args.out, "export.tar"), os.path.join(args.out, "qr.txt")))
    return 0


def cmd_serve(args):
    server = CardServer(
        args.state, port=args.port, unix_path=args.unix, control_port=args.control_port, fsync=args.fsync
    )
    server.set_faults({"latency_ms": args.latency_ms, "busy_polls": args.busy_polls})
    server.start()
    print("tse: %s" % server.nbd.address, flush=True)
    if server.control is not None:
        print("tse-control: 127.0.0.1:%d" % server.control_port, flush=True)
    _wait_for_signal()
    server.close()
    print("tse: stopped", flush=True)
    return 0


def _wait_for_signal():
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def cmd_mount(args):
    from tools.sim.tse.fuse_card import FuseCard

    card, image = open_card(args.state)
    try:
        mount = FuseCard(image, args.mountpoint)
    except OSError as e:
        image.close()
        card.close()
        raise SystemExit(str(e))
    print("tse-mount: %s" % args.mountpoint, flush=True)
    _wait_for_signal()
    mount.unmount()
    image.close()
    card.close()
    print("tse: stopped", flush=True)
    return 0


def _card(state):
    if not os.path.exists(os.path.join(state, "card.json")):
        raise SystemExit(
            "no card in %s (make one with: python -m tools.tse card serve --state %s)" % (state, state)
        )
    return open_card(state)


def cmd_info(args):
    card, image = _card(args.state)
    try:
        print(json.dumps(card.summary(), indent=2))
    finally:
        image.close()
        card.close()
    return 0


def cmd_export(args):
    card, image = _card(args.state)
    try:
        data, _ = export(card, p.EXPORT_ALL)
    finally:
        image.close()
        card.close()
    with open(args.out, "wb") as f:
        f.write(data)
    print("wrote %s (%d bytes)" % (args.out, len(data)))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.tse", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("exercise", help="a fresh card through set-up, transactions and export")
    ex.add_argument("--count", type=int, required=True)
    ex.add_argument("--out", required=True)
    ex.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython")
    ex.add_argument("--seed", type=int, default=1)
    ex.add_argument("--heapsize", default=None, help="MicroPython heap, e.g. 256K")
    ex.set_defaults(func=cmd_exercise)
    card = sub.add_parser("card", help="serve or read an emulated card").add_subparsers(
        dest="card", required=True
    )
    serve = card.add_parser("serve")
    serve.add_argument("--state", required=True)
    serve.add_argument("--port", type=int, default=10809)
    serve.add_argument("--unix", default=None)
    serve.add_argument("--control-port", type=int, default=None)
    serve.add_argument("--latency-ms", type=int, default=0)
    serve.add_argument("--busy-polls", type=int, default=0)
    serve.add_argument(
        "--fsync", action="store_true", help="fdatasync every log: survives a power cut of this machine too"
    )
    serve.set_defaults(func=cmd_serve)
    mount = card.add_parser("mount")
    mount.add_argument("--state", required=True)
    mount.add_argument("--mountpoint", required=True)
    mount.set_defaults(func=cmd_mount)
    info = card.add_parser("info")
    info.add_argument("--state", required=True)
    info.set_defaults(func=cmd_info)
    exp = card.add_parser("export")
    exp.add_argument("--state", required=True)
    exp.add_argument("--out", required=True)
    exp.set_defaults(func=cmd_export)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
