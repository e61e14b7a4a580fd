"""Loyalty in the simulator, on both firmware runtimes: the customer's card scanned, points per
whole euro on the receipt and on the customer screen, points redeemed as a Rabatt line with its
VAT split over the rates, more than the balance refused with the sale unchanged, the balance
rebuilt from the journal after a power cut, the receipt put into the customer's account at the
receipt server (its key wrapped to the account, opened here with the account's secret key and
``cryptography``), and the card and name in the DSFinV-K export's KUNDE_ID and KUNDE_NAME."""

import base64
import json
import os
import sys
import urllib.request

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from tools import upy
from tools.sim import until
from tools.sim.launch import Simulator

sys.path.insert(0, str(upy.ROOT / "tests" / "host"))
from test_digital_crypto import _raw, their_keys, their_open  # noqa: E402

CUSTOMER = json.loads((upy.ROOT / "data" / "loyalty" / "test-customer.json").read_text())
CARD = CUSTOMER["card"]


def _b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module", params=("cpython", "micropython"))
def sim(request, tmp_path_factory):
    s = Simulator(str(tmp_path_factory.mktemp("loyalty-" + request.param)), request.param).start()
    yield s
    s.stop()


def _state(sim):
    return sim.operator(op="state")["state"]


def _records(sim, kind):
    return [r["data"] for r in sim.journal(kind)]


def _scan_card(sim):
    sim.emupos.scan("]C0" + CARD)
    assert until(lambda: (_state(sim)["customer"] or {}).get("card") == CARD, 10)
    return _state(sim)["customer"]


def test_points_are_earned_redeemed_and_survive_a_power_cut(sim):
    customer = _scan_card(sim)
    assert customer["name"] == "Erika Musterfrau"
    start = customer["points"]
    sim.operator(op="plu", code="1001", qty=3000)  # 3 x 5,49 = 16,47 EUR: 16 points
    r = sim.operator(op="cash", given=2000)
    assert r["ok"] and r["state"]["customer"] is None  # the next sale starts without her
    bon = [d["bon"] for d in _records(sim, "pending")][-1]
    assert bon["kunde"] == {
        "card": CARD,
        "name": "Erika Musterfrau",
        "points": 16,
        "redeemed": 0,
        "balance": start + 16,
    }
    # the second sale: 10 points redeemed over two VAT rates; more than she has is refused
    _scan_card(sim)
    sim.operator(op="plu", code="1001")  # 7 %
    sim.operator(op="plu", code="1006")  # 19 %
    before = _state(sim)["bon"]
    r = sim.operator(op="redeem", points=start + 10000)
    assert r["state"]["bon"] == before and "nur %d Punkte" % (start + 16) in r["state"]["messages"][-1]
    r = sim.operator(op="redeem", points=10)
    lines = r["state"]["bon"]["lines"]
    rabatt = [ln for ln in lines if ln[1] == "Punkte eingelöst (10)"]
    assert sum(ln[3] for ln in rabatt) == -10 and len(rabatt) == 2  # split over 7 % and 19 %
    assert r["state"]["customer"]["points"] == start + 16 - 10
    total = r["state"]["bon"]["total"]
    assert sim.operator(op="cash")["ok"]
    bon = [d["bon"] for d in _records(sim, "pending")][-1]
    assert bon["kunde"]["redeemed"] == 10 and bon["kunde"]["points"] == total // 100
    balance = bon["kunde"]["balance"]
    assert balance == start + 16 - 10 + total // 100
    sim.power_cut()  # the balance is the journal's receipts: it comes back as it was
    assert _scan_card(sim)["points"] == balance
    if _state(sim)["bon"]:
        sim.operator(op="abort")


def test_her_receipt_goes_into_her_account_wrapped_to_her_key(sim):
    _scan_card(sim)
    assert _state(sim)["receipt_how"] == "both"  # known: paper and into her account
    sim.operator(op="plu", code="1002")
    assert sim.operator(op="cash")["ok"]
    bon_nr = _state(sim)["last_bon_nr"]
    issue = [i for i in _records(sim, "receipt_issue") if i["bon_nr"] == bon_nr][-1]
    assert issue["account"] == CUSTOMER["account"] and issue["how"] == "both"
    assert until(lambda: any(u["id"] == issue["id"] for u in _records(sim, "receipt_upload")), 20)
    base = "http://127.0.0.1:%d" % sim.receipts.port
    with urllib.request.urlopen("%s/api/accounts/%s/receipts" % (base, CUSTOMER["account"]), timeout=10) as r:
        listing = json.loads(r.read())
    [entry] = [e for e in listing if e["id"] == issue["id"]]
    secret = X25519PrivateKey.from_private_bytes(_b64url(CUSTOMER["secret_key"]))
    wrapped = _b64url(entry["wrapped"])
    shared = secret.exchange(X25519PublicKey.from_public_bytes(wrapped[1:33]))
    keys = their_keys(shared, wrapped[1:33] + _raw(secret.public_key()), b"smartECR key wrap v1")
    key = their_open(keys, wrapped[33:])
    with urllib.request.urlopen("%s/api/receipts/%s" % (base, issue["id"]), timeout=10) as r:
        doc = json.loads(their_open(their_keys(key), r.read()))
    assert doc["bon"]["bon_nr"] == bon_nr and "Punktestand" in doc["druck"] and CARD in doc["druck"]


def test_the_dsfinvk_export_names_the_customer(sim, tmp_path):
    import zipfile

    from firmware.exports.dsfinvk import DsfinvkExport
    from firmware.journal import Journal
    from firmware.register.master import load_master
    from hal.clock import ManualClock
    from tools.audit.dsfinvk import check_dsfinvk

    r = sim.operator(op="z", counts={})  # a closing: the export covers closed periods
    assert r["ok"], r
    journal = Journal(os.path.join(sim.out, "data", "journal"), ManualClock())
    try:
        export = DsfinvkExport(journal, load_master(str(upy.ROOT / "data" / "demo-master.json")))
        path = str(tmp_path / "dsfinvk.zip")
        export.write_zip(path, export.select(), str(tmp_path / "work"), 1796205600)
    finally:
        journal.close()
    assert check_dsfinvk(path).problems == []
    with zipfile.ZipFile(path) as z:
        rows = z.read("transactions.csv").decode("utf-8").splitlines()
    assert any('"Erika Musterfrau";"%s"' % CARD in row for row in rows)
