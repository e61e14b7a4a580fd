"""The store server under load (issue 20): 50 simulated terminals, 1,000 signed sales each,
selling 1,200 receipts per second together and pushing as they go, to two server instances on
one PostgreSQL, every 20th push sent twice, one instance killed and restarted in mid-run
(tools/bench/store_load.py). Every receipt must be stored exactly once with its TSE signature
verified; reported: receipts ingested per second (goal >= 1,000) and the p50/p99 push latency
(goal p99 <= 200 ms). The journals are signed once and kept in out/bench/store."""

from storeserver.cluster import Cluster
from tools.bench.bench_sale import row
from tools.bench.store_load import make_journals, run_load
from tools.upy import ROOT

TERMINALS, SALES, RATE = 50, 1000, 1200
GOAL_RATE, GOAL_P99_MS = 1000, 200


def run():
    folder = ROOT / "out" / "bench" / "store"
    journals = make_journals(str(folder), TERMINALS, SALES)
    cluster = Cluster(str(folder / "pg")).start()
    try:
        got = run_load(cluster, journals, instances=2, rate=RATE, outage=True)
    finally:
        cluster.stop()
    what = "%d terminals x %d sales, 2 instances, outage" % (TERMINALS, SALES)
    return [
        row(
            "store: receipts ingested, signatures verified (%s)" % what,
            "cpython",
            got["receipts_per_s"],
            "receipts/s",
            ">= %d" % GOAL_RATE,
            got["receipts_per_s"] >= GOAL_RATE,
        ),
        row("store: push latency p50", "cpython", got["p50_ms"], "ms"),
        row(
            "store: push latency p99",
            "cpython",
            got["p99_ms"],
            "ms",
            "<= %d ms" % GOAL_P99_MS,
            got["p99_ms"] <= GOAL_P99_MS,
        ),
        row(
            "store: receipts not stored exactly once and verified",
            "cpython",
            len(got["problems"]),
            "problems",
            "0",
            not got["problems"],
        ),
    ]
