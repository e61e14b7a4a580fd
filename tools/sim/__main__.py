"""``make sim`` / ``python -m tools.sim [--runtime cpython|micropython] [--headless] [--out out/sim]
[--camera /dev/video0|FILE] [--target host|qemu] [--registers N] [--tse card|cloud]``

Starts the firmware with every virtual peripheral (tools/sim/launch.py) and the virtual
terminal in the browser (tools/sim/browser.py: ``browser: http://127.0.0.1:PORT/``).
The store server (storeserver/, on a PostgreSQL cluster under ``<out>/store``) with the
register enrolled; ``--registers N`` adds registers 2..N (``<out>-2``...; the even ones on
MicroPython) at the same server. ``--tse cloud``: every register signs with the simulated
cloud TSE (tools/sim/cloudtse.py, HTTPS) instead of its card. Interactive: also an operator
terminal UI (type ``help``).
``--headless``: prints one line per endpoint and runs until SIGINT or SIGTERM. Ctrl-C stops
everything it started.
"""

import argparse
import signal
import sys
import threading

from tools.sim.browser import BrowserTerminal
from tools.sim.launch import SIM_SERIAL, Simulator
from tools.sim.store import OWNER, OWNER_PASSWORD, SimStore
from tools.sim.ui import OperatorUi


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.sim", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runtime", choices=("cpython", "micropython"), help="default cpython (qemu: micropython)"
    )
    parser.add_argument("--headless", action="store_true", help="no operator UI: endpoints, then wait")
    parser.add_argument("--out", default="out/sim", help="state, logs and receipts (default out/sim)")
    parser.add_argument("--camera", help="scan with a camera (/dev/videoN) or a video file (CPython only)")
    parser.add_argument(
        "--target",
        choices=("host", "qemu"),
        default="host",
        help="qemu: the firmware in an arm64 guest (docs/qemu.md)",
    )
    parser.add_argument(
        "--registers", type=int, default=1, help="registers at the store server (2nd, 4th... MicroPython)"
    )
    parser.add_argument(
        "--tse", choices=("card", "cloud"), default="card", help="who signs: the card (default), a cloud TSE"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.registers <= 9:
        parser.error("--registers is 1 to 9")
    args.runtime = args.runtime or ("micropython" if args.target == "qemu" else "cpython")

    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():  # stopping already (a second SIGTERM, as timeout(1) sends to the group)
            return
        stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    print("starting the simulator (%s firmware) in %s ..." % (args.runtime, args.out), flush=True)
    shop, sim, others = None, None, []
    try:
        shop = SimStore(args.out).start()
        sim = Simulator(
            args.out,
            args.runtime,
            camera=args.camera,
            target=args.target,
            store=(shop.port, shop.enrol(SIM_SERIAL)),
            tse=args.tse,
        ).start()
        for n in range(2, args.registers + 1):  # the others on the host, the runtimes mixed
            serial = "SMARTECR-SIM-%04d" % n
            runtime = "micropython" if n % 2 == 0 else "cpython"
            other = Simulator(
                "%s-%d" % (args.out, n),
                runtime,
                serial=serial,
                store=(shop.port, shop.enrol(serial)),
                tse=args.tse,
            )
            others.append(other.start())
    except KeyboardInterrupt:
        _stop([sim] + others, shop)
        return 130
    except (RuntimeError, OSError, ValueError) as e:
        print("sim: %s" % e, file=sys.stderr)
        _stop([sim] + others, shop)
        return 1
    page = None
    try:
        for name, problem in sim.missing.items():
            print("%s: not available (%s)" % (name, problem), flush=True)
        page = BrowserTerminal(sim).start()
        sim.endpoints["browser"] = page.url
        for name in (
            "console",
            "printer",
            "display",
            "tse",
            "scanner",
            "card reader",
            "operator panel",
            "customer panel",
            "acquirer",
            "zvt terminal",
            "zvt",
            "wallet host",
            "receipt server",
            "operator",
            "emupos",
            "qemu",
            "browser",
        ):
            if name in sim.endpoints:
                print("%s: %s" % (name, sim.endpoints[name]), flush=True)
        for other in others:
            print(
                "register %s (%s): console %s, operator 127.0.0.1:%d"
                % (other.serial, other.runtime, other.endpoints["console"], other.operator_port),
                flush=True,
            )
        print("backoffice: %s (login %s / %s)" % (shop.url, OWNER, OWNER_PASSWORD), flush=True)
        if args.headless:
            print("running; SIGINT or SIGTERM stops it", flush=True)
            stop.wait()
        else:
            OperatorUi(sim).loop()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping ...", flush=True)
        if page is not None:
            page.stop()
        sim.stop()
        _stop(others, shop)
    return 0


def _stop(sims, shop):
    for one in sims:
        if one is not None:
            one.stop()
    if shop is not None:
        shop.stop()


if __name__ == "__main__":
    sys.exit(main())
