"""A small smoke of the store server's load test (the full one is ``make bench``): terminals
with signed journals pushing at once to two server instances on one PostgreSQL, pushes sent
twice, one instance killed and restarted in mid-run; every record and receipt stored exactly
once, every signature verified, no alarm."""

from tools.bench.store_load import make_journals, run_load


def test_load_smoke_every_receipt_once_and_verified(pg, tmp_path):
    journals = make_journals(str(tmp_path), terminals=5, sales=40)
    got = run_load(pg, journals, instances=2, rate=400, outage=True, database="load_smoke", resend_every=3)
    assert got["problems"] == []
    assert got["receipts"] == 200 and got["outage"] and got["resent"] >= 1
    assert got["pushes"] >= 5 and got["p99_ms"] > 0
