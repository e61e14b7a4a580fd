"""The virtual terminal in a real browser: Playwright drives Debian's chromium (no browser
download) on the page of tools/sim/browser.py; a cashier's clicks on the operator panel's
canvas become touches at the panel's coordinates, the customer types the PIN on the customer
panel's canvas, and every time the printed receipt is read back from emupos and the state
checked through the firmware. A failing test leaves a screenshot in out/browser/.

Where a key is, the test asks the screens' own layout (ui/app.py, a mirror kept in step with
the firmware's by the same intents: tools/sim/cashier.py), as a cashier reads the label on
the glass."""

import base64
import io
import os
import time

import PIL.Image
import pytest

from tools import upy
from tools.sim import until
from tools.sim.cashier import CHROMIUM, Desk
from tools.sim.launch import Simulator

SHOTS = upy.ROOT / "out" / "browser"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module", params=("cpython", "micropython"))
def desk(request, tmp_path_factory):
    sim = Simulator(str(tmp_path_factory.mktemp("browser-" + request.param)), request.param).start()
    try:
        with Desk(sim) as desk:
            yield desk
    finally:
        sim.stop()


@pytest.fixture(autouse=True)
def shot_on_failure(request, desk):
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        SHOTS.mkdir(parents=True, exist_ok=True)
        desk.page.screenshot(path=str(SHOTS / (request.node.name + ".png")))


def test_the_page_shows_the_panels_pixel_for_pixel_and_signs_on(desk):
    """What the firmware drew (CPython: the framebuf stand-in; MicroPython: its own C code)."""
    page, sim = desk.page, desk.sim
    assert sim.panels["operator"].wait_drawn() and sim.panels["customer"].wait_drawn()
    desk.sign_on()
    st = desk.state()
    assert st["operator"]["name"] == "Anna Kasse" and desk.mirror.screen == "sale"
    panel = sim.panels["operator"]
    time.sleep(0.5)  # the last rows to the page
    png = page.evaluate("() => document.getElementById('operator').toDataURL('image/png')")
    drawn = PIL.Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1]))).convert("RGB")
    assert drawn.tobytes() == panel.image().tobytes()  # what the firmware drew, pixel for pixel


def test_ring_up_by_touch_weigh_discount_and_pay_cash_with_a_quick_amount(desk):
    desk.sign_on()
    before = len(desk.sim.emupos.receipts())
    desk.type("2")
    desk.tap(("group", "food"), ("plu", "1001"))  # 2 x Kaffee Crema
    desk.type("1,250")
    desk.tap(("group", "produce"), ("plu", "2001"))  # 1,250 kg Äpfel
    desk.type("10")
    desk.tap(("discount", "percent"))  # 10 % on the apples
    assert until(lambda: len((desk.state()["bon"] or {"lines": []})["lines"]) == 3)
    bon = desk.state()["bon"]
    assert [ln[1] for ln in bon["lines"]][:2] == ["Kaffee Crema 250 g", "Äpfel Elstar (kg)"]
    assert bon["total"] == 2 * 549 + 374 - 37
    desk.tap(("go", "pay"), ("cash", 2000))  # the quick amount of 20 €
    assert until(lambda: desk.state()["bon"] is None)
    [receipt] = desk.printed(before)
    assert "Kaffee Crema 250 g" in receipt and "1,250 kg" in receipt and "Rabatt" in receipt
    assert "20,00" in receipt and "5,65" in receipt, receipt  # given, and the change
    assert desk.sim.panels["customer"].wait_for(lambda ram: True)


def test_pay_by_card_with_the_pin_typed_on_the_customer_screen(desk):
    desk.sign_on()
    before = len(desk.sim.emupos.receipts())
    desk.tap(("group", "cafe"), ("plu", "1007"))
    assert until(lambda: desk.state()["bon"])
    desk.page.click("#insert")  # the everyday test card into the chip slot
    assert until(lambda: desk.sim.cards) and desk.sim.wait_card()
    desk.tap(("go", "pay"), ("card",))
    desk.pin("1234")
    assert until(lambda: desk.state()["bon"] is None, 30), desk.state()["messages"]
    desk.page.click("#remove")
    printed = desk.printed(before)
    assert any("Kaffee to go" in t for t in printed)
    assert any("H Ä N D L E R B E L E G" in t for t in printed)
    with open(os.path.join(desk.sim.out, "firmware.log")) as f:
        assert "1234" not in f.read()  # the PIN stays in the PIN pad


def test_a_return_a_storno_and_training_mode(desk):
    desk.sign_on()
    before = len(desk.sim.emupos.receipts())
    desk.tap(("mode", "return"), ("group", "household"), ("plu", "1006"))
    assert until(lambda: desk.state()["bon"])
    desk.tap(("go", "pay"), ("cash", None))
    assert until(lambda: desk.state()["bon"] is None)
    [back] = desk.printed(before)
    assert "-1,79" in back
    returned = desk.state()["last_bon_nr"]
    # a Storno of that receipt, picked from the journal
    desk.tap(("go", "menu"), ("pick", "storno"))
    desk.tap(("bon", returned))
    assert until(lambda: desk.state()["last_bon_nr"] == returned + 1)
    [storno] = desk.printed(before + 1)
    assert "Storno" in storno and "1,79" in storno
    desk.tap(("go", "menu"), ("pick", "reprint"))  # a copy of the return, marked as one
    desk.tap(("bon", returned))
    [copy] = desk.printed(before + 2)
    assert "*** KOPIE ***" in copy and "-1,79" in copy
    before += 1
    # training mode: marked on the screen and on the receipt
    desk.page.click("#close-drawer")  # the cashier shuts the drawer the return and Storno opened
    assert until(lambda: desk.sim.emupos.device()["state"]["drawer"] != "open")
    desk.tap(("go", "menu"), ("training",))
    assert until(lambda: desk.state()["training"])
    desk.tap(("go", "sale"), ("group", "bakery"), ("plu", "1003"))
    assert until(lambda: desk.state()["bon"])
    desk.tap(("go", "pay"), ("cash", None))
    assert until(lambda: desk.state()["bon"] is None)
    [training] = desk.printed(before + 2)
    assert "TRAININGSBELEG" in training
    time.sleep(0.5)  # a pulse would have come by now
    assert desk.sim.emupos.device()["state"]["drawer"] != "open"  # no real money: the drawer stays shut
    desk.tap(("go", "menu"), ("training",))
    assert until(lambda: not desk.state()["training"])
    desk.tap(("go", "sale"))


def test_the_x_report_with_its_charts_and_the_z_closing_with_a_cash_count(desk):
    desk.sign_on()
    before = len(desk.sim.emupos.receipts())
    desk.tap(("go", "menu"), ("report",))
    assert desk.mirror.screen == "report" and desk.mirror.charts["belege"] >= 1
    desk.tap(("print_x",))
    [x] = desk.printed(before)
    assert "X-Bericht" in x and "[image" in x  # the charts, as a raster image
    desk.tap(("go", "menu"), ("go", "count"))
    expected = desk.mirror.expected
    euros, cents = divmod(expected, 100)
    desk.tap(("denomination", 100))
    desk.type(str(euros))
    desk.tap(("enter",), ("denomination", 1))
    desk.type(str(cents))
    desk.tap(("enter",), ("close",))
    [z] = desk.printed(before + 1)
    assert "Z-Bon Nr." in z and "Kassenzählung" in z and "Differenz (gebucht)" in z
    assert "0,00" in z.split("Differenz (gebucht)")[1].splitlines()[0]  # counted what was expected


def test_the_keyboard_searches_and_rings_up(desk):
    desk.sign_on()
    desk.keys("z", "e", "i", "t")  # "Zeitung", found by name
    desk.keys("3", "Enter")  # no PLU 3: refused, said on the screen, nothing rung up
    desk.keys("Escape", "1", "0", "0", "8", "Enter")
    assert until(lambda: (desk.state()["bon"] or {}).get("total") == 250)
    desk.keys("F4")  # Storno of the last line
    assert until(lambda: desk.state()["bon"]["lines"][-1][4] is True)
    desk.tap(("abort",))
    assert until(lambda: desk.state()["bon"] is None)


def test_a_weighed_article_with_the_scales_weight(desk):
    desk.sign_on()
    page = desk.page
    page.fill("#grams", "480")
    page.click("#swing")  # still swinging: the scale gives its status only
    assert until(lambda: desk.sim.scale.grams == 480 and not desk.sim.scale.steady)
    desk.tap(("group", "deli"), ("plu", "2002"))
    assert until(lambda: any("Bewegung" in m for m in desk.state()["messages"]))
    assert desk.state()["bon"] is None  # nothing rung up
    page.click("#weigh")
    assert until(lambda: desk.sim.scale.steady)
    desk.tap(("plu", "2002"))
    assert until(lambda: desk.state()["bon"])
    [line] = desk.state()["bon"]["lines"]
    assert line[2] == 480 and line[5] == "kg" and line[3] == 715  # 0,480 kg x 14,90 €/kg
    before = len(desk.sim.emupos.receipts())
    desk.tap(("go", "pay"), ("cash", None))
    [receipt] = desk.printed(before)
    assert "0,480 kg x 14,90 EUR/kg" in receipt
    page.click("#unload")


def test_the_peripherals_on_the_page_scanner_tse_card_and_power(desk):
    desk.sign_on()
    page = desk.page
    page.select_option("#code", "4000000001010")  # Vollmilch, scanned
    page.click("#scan")
    assert until(lambda: desk.state()["bon"])
    assert [ln[1] for ln in desk.state()["bon"]["lines"]] == ["Vollmilch 1 l"]
    page.click("#tse-pull")  # the TSE card out: selling goes on, the receipt says so
    assert until(lambda: desk.sim.tse_removed)
    before = len(desk.sim.emupos.receipts())
    desk.tap(("go", "pay"), ("cash", None))
    assert until(lambda: desk.state()["bon"] is None)
    [failed] = desk.printed(before)
    assert "TSE AUSGEFALLEN" in failed
    page.click("#tse-insert")
    assert until(lambda: not desk.sim.tse_removed)
    desk.tap(("group", "bakery"), ("plu", "1003"))  # an open receipt the power cut takes
    assert until(lambda: desk.state()["bon"])
    page.click("#power")
    assert until(lambda: not desk.state()["signed_on"], 60)  # booted again: nobody signed on
    desk.mirror.screen = "signon"  # the firmware's screens started afresh
    desk.sign_on()
    assert desk.state()["bon"] is None and any("abgebrochen" in m for m in desk.state()["messages"])
