"""Exercise a fresh card through the driver: set-up, varied transactions, export.

    MICROPYPATH=.frozen:. micropython -m tools.workloads.tse_exercise --nbd 127.0.0.1:10809 \
        --count 20 --out DIR
    python -m tools.workloads.tse_exercise ...          # the same on CPython

(``python -m tools.tse exercise`` starts a card emulator and runs this on either runtime.)
The workload is the same on both runtimes for the same ``--seed``: Start + Finish with
``Kassenbeleg-V1`` processData over 19/7/0 % VAT, cash, non-cash and split payments; every
fifth transaction has an Update (a ``Bestellung-V1`` order line); every seventh is aborted
(``AVBelegabbruch``). Writes ``DIR/export.tar`` (full TAR export) and ``DIR/qr.txt`` (one
receipt QR string per finished transaction) and prints one JSON line of totals.
The credentials are the simulator's documented demo PUK and PINs (docs/tse.md).
"""

import asyncio
import json
import sys

from core.cli import options
from firmware.fiscal.processdata import PROCESS_TYPE, kassenbeleg_v1
from firmware.fiscal.qr import receipt_qr
from hal.clock import SystemClock
from tse_sd.client import TseClient
from tse_sd.nbd import NbdBlockDevice
from tse_sd.transport import BlockTransport

DEMO_PUK = "123456"
DEMO_ADMIN_PIN = "12345"
DEMO_TIME_ADMIN_PIN = "54321"
CLIENT_ID = "SMARTECR-SIM-0001"
USAGE = "usage: exercise --nbd HOST:PORT --count N --out DIR [--seed S] [--client ID]"


class Lcg:
    """A tiny deterministic generator, identical on both runtimes."""

    def __init__(self, seed):
        self.state = seed & 0x7FFFFFFF

    def below(self, n):
        self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
        return self.state % n


def sale(rng):
    """``(processData, gross cents)`` of one pseudo-random sale."""
    gross = [0, 0, 0, 0, 0]
    for slot in (0, 1, 4):
        if rng.below(3):
            gross[slot] = rng.below(5000) + 1
    if not any(gross):
        gross[0] = 199
    total = sum(gross)
    way = rng.below(3)
    if way == 0:
        payments = [(total, "Bar")]
    elif way == 1:
        payments = [(total, "Unbar")]
    else:
        cash = rng.below(total) + 1 if total > 1 else total
        payments = [(cash, "Bar"), (total - cash, "Unbar")]
    return kassenbeleg_v1("Beleg", gross, payments), total


async def exercise(client, clock, count, out_dir, client_id=CLIENT_ID, seed=1):
    await client.setup(DEMO_PUK, DEMO_ADMIN_PIN, DEMO_TIME_ADMIN_PIN, client_id, clock.now())
    public_key = client.info().public_key
    rng = Lcg(seed)
    totals = {"transactions": 0, "finished": 0, "updated": 0, "aborted": 0}
    with open(out_dir + "/qr.txt", "w") as qr:
        for i in range(1, count + 1):
            start = await client.start_transaction(client_id)
            totals["transactions"] += 1
            if i % 5 == 0:
                await client.update_transaction(client_id, start.number, b'1;"Kaffee";2.50', "Bestellung-V1")
                totals["updated"] += 1
            if i % 7 == 0:
                data = kassenbeleg_v1("AVBelegabbruch", (0, 0, 0, 0, 0), [])
                totals["aborted"] += 1
            else:
                data = sale(rng)[0]
            finish = await client.finish_transaction(client_id, start.number, data, PROCESS_TYPE)
            totals["finished"] += 1
            qr.write(receipt_qr(client_id, start, finish, PROCESS_TYPE, data, public_key) + "\n")
    with open(out_dir + "/export.tar", "wb") as f:
        await client.export_tar(f.write)
    totals["signatures"] = client.info().created_signatures
    return totals


def parse_args(argv):
    opts = options(
        argv,
        USAGE,
        ("nbd", "count", "out", "seed", "client"),
        ("nbd", "count", "out"),
        {"seed": "1", "client": CLIENT_ID},
    )
    host, _, port = opts["nbd"].rpartition(":")
    return host, int(port), int(opts["count"]), opts["out"], int(opts["seed"]), opts["client"]


def main(argv):
    try:
        host, port, count, out, seed, client_id = parse_args(argv)
    except ValueError as e:
        print(e)
        return 2
    clock = SystemClock()
    client = TseClient(lambda: BlockTransport(NbdBlockDevice.connect(host, port, "tse")), clock)
    try:
        totals = asyncio.run(exercise(client, clock, count, out, client_id, seed))
    finally:
        client.close()
    print(json.dumps(totals))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
