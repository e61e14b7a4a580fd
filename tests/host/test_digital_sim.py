"""Digital receipts in the simulator, on both firmware runtimes: the customer asks for a digital
receipt; its URL is read off the customer panel's pixels (zxing-cpp); the receipt server gets
the sealed receipt and nothing else (its request log never holds the key, which is in the URL's
fragment); the ciphertext opened with ``cryptography`` and the URL's key is the receipt with the
very TSE data the journal has; no paper is printed for a digital-only receipt, both for "both";
with the receipt server away the URL is shown all the same and the receipt arrives once it is
back; the journal says how each receipt was issued and when its upload was confirmed."""

import base64
import json
import os
import sys
import urllib.request

import pytest

from tools import upy
from tools.sim import until
from tools.sim.launch import Simulator

sys.path.insert(0, str(upy.ROOT / "tests" / "host"))
from test_digital_crypto import their_keys, their_open  # noqa: E402

RUNTIMES = ("cpython", "micropython")


@pytest.fixture(scope="module", params=RUNTIMES)
def sim(request, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("digital-" + request.param))
    s = Simulator(out, request.param).start()
    yield s
    s.stop()


def _records(sim, kind):
    return [r["data"] for r in sim.journal(kind)]


def _state(sim):
    return sim.operator(op="state")["state"]


def _sale(sim, how, code="1001"):
    sim.operator(op="plu", code=code)
    assert sim.operator(op="receipt", how=how)["ok"]
    r = sim.operator(op="cash")
    assert r["ok"] and r["state"]["bon"] is None
    return r["state"]


def _url(sim, bon_nr):
    """The URL the customer's phone reads off the customer screen, once the screen shows this
    receipt's (the panel may still show the last one for a frame)."""

    def read():
        digital = _state(sim)["digital"]
        if not digital or digital["bon_nr"] != bon_nr:
            return None
        url = sim.phone.read(sim.panels["customer"])
        return url if url and ("/r/%s#" % digital["id"]) in url else None

    return until(read, 15)


def _key(url):
    fragment = url.split("#", 1)[1]
    return base64.urlsafe_b64decode(fragment + "=" * (-len(fragment) % 4))


def _fetch(sim, rid):
    with urllib.request.urlopen(
        "http://127.0.0.1:%d/api/receipts/%s" % (sim.receipts.port, rid), timeout=10
    ) as r:
        return r.read()


def _printed(sim, bon_nr):
    return [
        p
        for p in sim.emupos.receipts()
        if ("Bon %d " % bon_nr) in sim.emupos.text(p["id"]).replace("\n", " ")
    ]


def test_a_digital_receipt_reaches_the_customer_and_never_its_key_the_server(sim):
    state = _sale(sim, "digital")
    bon_nr = state["last_bon_nr"]
    url = _url(sim, bon_nr)
    assert url and url.startswith("http://127.0.0.1:%d/r/" % sim.receipts.port)
    rid = url.split("/r/", 1)[1].split("#", 1)[0]
    assert until(lambda: any(u["id"] == rid for u in _records(sim, "receipt_upload")), 20)
    doc = json.loads(their_open(their_keys(_key(url)), _fetch(sim, rid)))
    assert doc["format"] == "smartecr-receipt" and doc["version"] == 1
    assert doc["bon"]["bon_nr"] == bon_nr and doc["unternehmen"]["name"] == "Mustermann Feinkost GmbH"
    beleg = [b for b in _records(sim, "beleg") if b.get("bon_nr") == bon_nr][-1]
    assert doc["qr"] == beleg["tse"]["qr"] and doc["tse"]["tse_ta_sig"] == beleg["tse"]["signature"]
    assert doc["tse"]["tse_tanr"] == beleg["tse"]["number"] and doc["tse"]["tse_public_key"]
    assert [p["zahlart_typ"] for p in doc["zahlungen"]] == ["Bar"]
    issue = [i for i in _records(sim, "receipt_issue") if i["bon_nr"] == bon_nr][-1]
    assert issue == {"bon_nr": bon_nr, "how": "digital", "id": rid}
    # the key is nowhere but in the URL: not in the server's log, the journal or the firmware log
    fragment = url.split("#", 1)[1]
    with open(os.path.join(sim.receipts.folder, "requests.log")) as f:
        assert fragment not in f.read()
    folder = os.path.join(sim.out, "data", "journal")
    for name in os.listdir(folder):
        with open(os.path.join(folder, name)) as f:
            assert fragment not in f.read()
    with open(os.path.join(sim.out, "firmware.log")) as f:
        assert fragment not in f.read()
    assert not _printed(sim, bon_nr)  # digital only: no paper


def test_both_prints_and_issues(sim):
    state = _sale(sim, "both", "1002")
    bon_nr = state["last_bon_nr"]
    assert _url(sim, bon_nr)
    assert until(lambda: _printed(sim, bon_nr), 20)


def test_without_the_receipt_server_the_url_is_shown_and_the_receipt_arrives_later(sim):
    port = sim.stop_receipts()
    try:
        state = _sale(sim, "digital", "1003")
        bon_nr = state["last_bon_nr"]
        url = _url(sim, bon_nr)  # made on the terminal: it needs no network
        assert url
        assert until(lambda: _state(sim)["outbox"] == 1, 10)
    finally:
        sim.start_receipts(port)
    rid = url.split("/r/", 1)[1].split("#", 1)[0]
    assert until(lambda: any(u["id"] == rid for u in _records(sim, "receipt_upload")), 60)
    assert _state(sim)["outbox"] == 0
    doc = json.loads(their_open(their_keys(_key(url)), _fetch(sim, rid)))
    assert doc["bon"]["bon_nr"] == bon_nr


def test_no_receipt_wanted_is_journaled_and_nothing_printed(sim):
    state = _sale(sim, "none", "1005")
    bon_nr = state["last_bon_nr"]
    assert {"bon_nr": bon_nr, "how": "none"} in _records(sim, "receipt_issue")
    assert not _printed(sim, bon_nr)


def test_the_receipt_as_png_and_pdf_for_people(sim, tmp_path):
    import PIL.Image
    import zxingcpp

    from tools.receipts.render import fetch, save

    state = _sale(sim, "digital", "1006")
    url = _url(sim, state["last_bon_nr"])
    rid = url.split("/r/", 1)[1].split("#", 1)[0]
    assert until(lambda: any(u["id"] == rid for u in _records(sim, "receipt_upload")), 20)
    doc = fetch(url)
    png = save(doc, str(tmp_path / "bon.png"))
    [code] = zxingcpp.read_barcodes(PIL.Image.open(png), formats=zxingcpp.BarcodeFormat.QRCode)
    assert code.text == doc["qr"]  # the TSE's QR code, readable off the picture
    pdf = save(doc, str(tmp_path / "bon.pdf"))
    with open(pdf, "rb") as f:
        data = f.read()
    assert data.startswith(b"%PDF-") and b"/Image" in data
