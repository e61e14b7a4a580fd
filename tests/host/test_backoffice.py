"""The back office in a real browser (Playwright driving Debian's chromium) against the store
server and a simulated register enrolled at it: login and lockout, the dashboard's charts
drawn by plotly.js (a screenshot kept on failure), a receipt as printed with its TSE check
(valid for the register's own, invalid for a forged one), an article's price changed in the
browser and taken by the register only at its next closing, CSRF and roles refused."""

import contextlib
import json
import os
import sys
import urllib.request

import psycopg
import pytest

from storeserver import auth
from storeserver.__main__ import seed_master
from tools import upy
from tools.sim import until
from tools.sim.cashier import CHROMIUM
from tools.sim.launch import Simulator

sys.path.insert(0, os.path.dirname(__file__))
from test_store_server import _cheaper, _forge, _signed_receipt, enrolled, journal_lines, push  # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
OWNER, PASSWORD = "inhaber", "Kasse-Demo-2026"
SHOTS = upy.ROOT / "out" / "test-failures"


@contextlib.contextmanager
def shot_on_failure(page, name):
    try:
        yield
    except BaseException:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / (name + ".png")), full_page=True)
        raise


@pytest.fixture(scope="module")
def shop(store, tmp_path_factory):
    store.call(lambda s: seed_master(s.pool, "data/demo-master.json"))
    store.call(lambda s: auth.add_user(s.pool, OWNER, "owner", PASSWORD))
    store.call(lambda s: auth.add_user(s.pool, "leser", "viewer", "nur-lesen-2026"))
    store.call(lambda s: auth.add_user(s.pool, "vergesslich", "manager", "richtig-2026"))
    token = enrolled(store, "SMARTECR-SIM-0001")
    sim = Simulator(str(tmp_path_factory.mktemp("backoffice")), "cpython", store=(store.port, token)).start()
    sim.token = token
    for code in ("1001", "1002", "1003"):
        sim.operator(op="plu", code=code)
        assert sim.operator(op="cash")["ok"]
    sim.operator(op="plu", code="1004")
    assert sim.operator(op="transfer")["ok"]  # a second payment type: a GiroCode transfer
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield b
        finally:
            b.close()


def login(browser, store, name, password):
    page = browser.new_context().new_page()
    page.goto(store.url + "login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def held(store, sim):
    with psycopg.connect(store.dsn) as conn:
        return conn.execute("SELECT head_seq FROM registers WHERE serial = %s", (sim.serial,)).fetchone()[0]


def synced(store, sim):
    want = len(journal_lines(sim))
    assert until(lambda: held(store, sim) >= want, 20)


def test_login_and_lockout(browser, store, shop):
    page = login(browser, store, "vergesslich", "falsch")
    assert "wrong user name or password" in page.text_content("#error")
    for _ in range(3):
        page = login(browser, store, "vergesslich", "falsch")
    page = login(browser, store, "vergesslich", "falsch")  # the fifth
    assert "locked for 15 minutes" in page.text_content("#error")
    page = login(browser, store, "vergesslich", "richtig-2026")  # the right one: still locked
    assert "locked after 5 wrong passwords" in page.text_content("#error")
    assert page.url.endswith("/login")
    page = login(browser, store, "niemand", "egal-was")
    assert "wrong user name or password" in page.text_content("#error")
    # without a session every page sends one to the login
    page.goto(store.url + "receipts")
    assert page.url.endswith("/login")


def test_dashboard_charts_are_drawn(browser, store, shop):
    synced(store, shop)
    page = login(browser, store, OWNER, PASSWORD)
    with shot_on_failure(page, "dashboard"):
        assert page.url == store.url
        for chart in ("hour", "register", "group", "cashier", "payment"):
            page.wait_for_selector("#chart-%s[data-rendered]" % chart, timeout=20000)
            assert page.locator("#chart-%s svg.main-svg" % chart).count() >= 1
        bars = page.locator("#chart-hour .bars .point").count()
        assert bars >= 1  # the hour of the sales has its bar
        with psycopg.connect(store.dsn) as conn:
            count, gross = conn.execute(
                "SELECT count(*), sum(gross) FROM receipts WHERE bon_typ = 'Beleg'"
            ).fetchone()
        assert page.text_content("#kpi-receipts") == str(count)
        assert page.text_content("#kpi-gross") == "%d,%02d" % divmod(gross, 100)
        slices = page.locator("#chart-group .slice").count()
        assert slices >= 2  # Lebensmittel and Backwaren at least


def test_a_receipt_as_printed_with_its_tse_check(browser, store, shop):
    page = login(browser, store, OWNER, PASSWORD)
    with shot_on_failure(page, "receipt"):
        page.goto(store.url + "receipts")
        page.click("#receipts a >> nth=-1")  # the oldest: Bon 1
        page.wait_for_selector("#tse-result")
        assert page.get_attribute("#tse-result", "class") == "ok"
        assert "ist gültig" in page.text_content("#tse-result")
        printed = page.text_content("#printed")
        assert "Bon 1" in printed and "Kaffee Crema" in printed and "TSE-Signatur" in printed
        assert page.text_content("#qr-text").startswith("V0;SMARTECR-SIM-0001;Kassenbeleg-V1;")
    # a register whose journal was rewritten before the server saw it: the check says so
    token = enrolled(store, "FORGED-0100")
    at = _signed_receipt(shop)
    forged = _forge(journal_lines(shop), at, _cheaper)
    assert push(store, "FORGED-0100", token, {"after": 0, "lines": forged})[0] == 200
    page.goto(store.url + "receipts/FORGED-0100/%d" % at)
    assert page.get_attribute("#tse-result", "class") == "bad"
    assert "does not verify" in page.text_content("#tse-result")
    page.goto(store.url)
    assert "FORGED-0100" in page.text_content("#alarms")


def _price(sim, code="1001"):
    sim.operator(op="plu", code=code)
    assert sim.operator(op="cash")["ok"]
    return sim.journal("pending")[-1]["data"]["bon"]["total"]


def test_a_price_change_in_the_browser_waits_for_the_closing(browser, store, shop):
    page = login(browser, store, OWNER, PASSWORD)
    with shot_on_failure(page, "master"):
        page.goto(store.url + "master")
        page.fill("tr[data-plu='1001'] input[name=price]", "6,49")
        page.click("tr[data-plu='1001'] button")
        page.wait_for_selector("#message")
        message = page.text_content("#message")
        assert "gespeichert" in message and "nächsten Abschluss" in message
        version = int(message.split("Version ")[1].split()[0])
        page.fill("tr[data-plu='1002'] input[name=price]", "1,1x")  # refused: nothing saved
        page.click("tr[data-plu='1002'] button")
        assert "Nicht gespeichert" in page.text_content("#error") or "Preis" in page.text_content("#error")
        assert until(lambda: version in [r["data"]["version"] for r in shop.journal("master_received")], 45)
        synced(store, shop)
        page.goto(store.url + "registers")
        assert "wartet auf den Abschluss" in page.text_content("tr[data-serial='SMARTECR-SIM-0001']")
        assert _price(shop) == 549  # this period keeps its prices
        assert shop.operator(op="z", counts={})["ok"]
        assert _price(shop) == 649
        synced(store, shop)
        page.goto(store.url + "registers")
        row = page.text_content("tr[data-serial='SMARTECR-SIM-0001']")
        assert "in Gebrauch %d" % version in row and "wartet" not in row
        page.goto(store.url + "closings")
        assert "SMARTECR-SIM-0001" in page.text_content("#closings")


def test_csrf_and_roles_are_refused(browser, store, shop):
    page = login(browser, store, "leser", "nur-lesen-2026")
    page.goto(store.url + "master")
    assert page.locator("tr[data-plu='1001'] button").count() == 0  # a viewer sees no forms
    csrf = page.get_attribute("input[name=csrf]", "value")  # the logout form's token
    answer = page.request.post(
        store.url + "master/price", form={"csrf": csrf, "plu": "1001", "price": "0,01"}
    )
    assert answer.status == 403 and "role" in answer.text()
    owner = login(browser, store, OWNER, PASSWORD)
    answer = owner.request.post(store.url + "master/price", form={"plu": "1001", "price": "0,01"})
    assert answer.status == 403 and "CSRF" in answer.text()
    # no price of 0,01 was saved by either
    with psycopg.connect(store.dsn) as conn:
        data = conn.execute("SELECT data FROM master_versions ORDER BY version DESC LIMIT 1").fetchone()[0]
    assert [a["price"] for a in data["articles"] if a["plu"] == "1001"] == [649]
    # the API is not the back office: a terminal's token does not open a page
    req = urllib.request.Request(store.url + "receipts", headers={"Authorization": "Bearer " + shop.token})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.url.endswith("/login")
    assert json.loads(owner.request.get(store.url + "api/v1/head").text())["error"]
