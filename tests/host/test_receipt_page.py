"""The customer's page in a real browser (Playwright driving Debian's chromium): a sale on the
simulator with a digital receipt, its QR code read off the customer screen's pixels with
zxing-cpp, the URL opened; the page opens the receipt with WebCrypto and the fragment's key,
shows it as printed and finds the TSE signature valid (brainpoolP384r1 in the page's own code).
The same after a network cut during the sale (the receipt arrives once the queue drains). A
ciphertext changed by one bit is shown as altered; a receipt whose TSE signature was changed
(sealed properly, with the right key) is shown with the signature invalid. The browser's
requests, too, never carried the key."""

import base64
import json
import os
import sys
import urllib.request

import pytest

from tools import upy
from tools.sim import until
from tools.sim.cashier import CHROMIUM
from tools.sim.launch import RECEIPT_TOKEN, SIM_SERIAL, Simulator

sys.path.insert(0, str(upy.ROOT / "tests" / "host"))
from test_digital_crypto import their_keys, their_open, their_seal  # noqa: E402
from test_digital_sim import _key, _sale, _url  # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module", params=("cpython", "micropython"))
def sim(request, tmp_path_factory):
    s = Simulator(str(tmp_path_factory.mktemp("page-" + request.param)), request.param).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def _verdict(page, url):
    page.goto(url)
    page.wait_for_selector("#check:not(.wait)", timeout=30000)  # no eval: the page's CSP forbids it
    return page.eval_on_selector("#check", "e => [e.className, e.textContent]")


def _upload(sim, rid, blob):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/api/receipts/%s" % (sim.receipts.port, rid),
        data=blob,
        method="PUT",
        headers={"Authorization": "Bearer " + RECEIPT_TOKEN, "X-Register": SIM_SERIAL},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status in (200, 201)


def _blob(sim, rid):
    with urllib.request.urlopen(
        "http://127.0.0.1:%d/api/receipts/%s" % (sim.receipts.port, rid), timeout=10
    ) as r:
        return r.read()


def _rid(url):
    return url.split("/r/", 1)[1].split("#", 1)[0]


def _uploaded(sim, rid):
    return until(
        lambda: any(
            r["path"] == "/api/receipts/" + rid and r["status"] == 201 for r in sim.receipts.requests()
        ),
        30,
    )


def test_the_page_shows_the_receipt_and_its_signature_valid(sim, page):
    state = _sale(sim, "digital", "1001")
    url = _url(sim, state["last_bon_nr"])
    assert _uploaded(sim, _rid(url))
    assert _verdict(page, url) == ["ok", "TSE-Signatur gültig"]
    paper = page.inner_text("#paper")
    assert "Mustermann Feinkost GmbH" in paper and ("Bon %d" % state["last_bon_nr"]) in paper
    assert "Kaffee" in paper
    fragment = url.split("#", 1)[1]
    assert all(fragment not in json.dumps(r) for r in sim.receipts.requests())


def test_after_a_network_cut_the_receipt_arrives_and_opens(sim, page):
    port = sim.stop_receipts()
    try:
        state = _sale(sim, "digital", "1002")
        url = _url(sim, state["last_bon_nr"])
    finally:
        sim.start_receipts(port)
    assert _uploaded(sim, _rid(url))
    assert _verdict(page, url) == ["ok", "TSE-Signatur gültig"]


def test_a_changed_ciphertext_and_a_changed_signature_are_shown_invalid(sim, page):
    state = _sale(sim, "digital", "1003")
    url = _url(sim, state["last_bon_nr"])
    rid = _rid(url)
    assert _uploaded(sim, rid)
    blob = bytearray(_blob(sim, rid))
    blob[40] ^= 0x01  # one bit of the ciphertext
    base = url.split("/r/", 1)[0] + "/r/"
    _upload(sim, "A" * 22, bytes(blob))
    state_, text = _verdict(page, base + "A" * 22 + "#" + url.split("#", 1)[1])
    assert state_ == "bad" and "verändert" in text
    # properly sealed with the right key, but the TSE's signature changed
    key = _key(url)
    doc = json.loads(their_open(their_keys(key), _blob(sim, rid)))
    fields = doc["qr"].split(";")
    sig = bytearray(base64.b64decode(fields[10]))
    sig[5] ^= 0x01
    fields[10] = base64.b64encode(bytes(sig)).decode()
    doc["qr"] = ";".join(fields)
    doc["tse"]["tse_ta_sig"] = fields[10]
    _upload(sim, "B" * 22, their_seal(their_keys(key), json.dumps(doc).encode()))
    assert _verdict(page, base + "B" * 22 + "#" + url.split("#", 1)[1]) == ["bad", "TSE-Signatur ungültig"]
    # and the untouched one is still good
    assert _verdict(page, url) == ["ok", "TSE-Signatur gültig"]


def test_the_loyalty_customers_page_lists_her_receipts(sim, page):
    customer = json.loads((upy.ROOT / "data" / "loyalty" / "test-customer.json").read_text())
    sim.emupos.scan("]C0" + customer["card"])
    assert until(lambda: sim.operator(op="state")["state"]["customer"], 10)
    sim.operator(op="plu", code="1005")
    assert sim.operator(op="cash")["ok"]
    bon_nr = sim.operator(op="state")["state"]["last_bon_nr"]
    rid = sim.operator(op="state")["state"]["digital"]["id"]
    assert _uploaded(sim, rid)
    base = "http://127.0.0.1:%d" % sim.receipts.port
    page.goto("%s/k/%s#%s" % (base, customer["account"], customer["secret_key"]))
    page.wait_for_selector("#state[data-count]", state="attached", timeout=30000)
    assert "#" not in page.url  # the secret key left the address bar for the browser's storage
    link = page.locator("a[data-bon='%d']" % bon_nr)
    assert link.count() == 1 and "Mustermann Feinkost GmbH" in link.inner_text()
    link.click()  # her receipt, opened with its unwrapped key, without scanning anything
    page.wait_for_selector("#check:not(.wait)", timeout=30000)  # no eval: the page's CSP forbids it
    assert page.eval_on_selector("#check", "e => e.textContent") == "TSE-Signatur gültig"
    # later, without the fragment: the browser still holds her key
    page.goto("%s/k/%s" % (base, customer["account"]))
    page.wait_for_selector("#state[data-count]", state="attached", timeout=30000)
    assert page.locator("a[data-bon='%d']" % bon_nr).count() == 1
    secret = customer["secret_key"]
    assert all(secret not in json.dumps(r) for r in sim.receipts.requests())
