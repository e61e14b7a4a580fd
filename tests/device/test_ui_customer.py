"""The customer screen's scenes on both runtimes (ui/customer.py): what each shows, where,
and that every one draws on the sim board's 480 x 272 panel (the PIN pad's own screens:
tests/device/test_panel.py)."""

from hal.screen import Panel
from ui import customer

SIZE = (480, 272)


def _panel():
    """The panel every scene is drawn on (mono: the test runner's heap holds no 261 KB RGB565
    buffer next to the other tests; tests/device/test_screen.py draws RGB565)."""
    return Panel(SIZE[0], SIZE[1], mono=True)


def _texts(scene):
    return [w[3] for w in scene if w[0] == "text"]


def _inside(scene, size=SIZE):
    for w in scene:
        if w[0] in ("text",):
            assert 0 <= w[1] and w[1] + len(w[3]) * 8 * w[5] <= size[0], w
            assert 0 <= w[2] and w[2] + 16 * w[5] <= size[1], w
        if w[0] in ("button", "rect"):
            assert 0 <= w[1] and w[1] + w[3] <= size[0] and 0 <= w[2] and w[2] + w[4] <= size[1], w


def test_welcome_sale_change_and_thanks():
    business = "Mustermann Feinkost GmbH"
    assert _texts(customer.welcome(SIZE, business)) == [business, "Willkommen"]
    lines = [("Artikel %d" % i, 100 * i) for i in range(1, 21)] + [("Kaffee Crema 250 g", 123456)]
    scene = customer.sale(SIZE, lines, 124567)
    texts = _texts(scene)
    assert texts[-2:] == ["Summe", "1.245,67 €"]  # the total, large (scale 2), at the bottom
    assert "Kaffee Crema 250 g" in texts and "1.234,56 €" in texts  # the latest line is shown
    assert "Artikel 1" not in texts  # the oldest ones scrolled away
    amounts = [w for w in scene if w[0] == "text" and w[3].endswith("€")]
    assert len({w[1] + len(w[3]) * 8 * w[5] for w in amounts}) == 1  # right-aligned, one edge
    assert _texts(customer.change(SIZE, 533)) == ["Rückgeld", "5,33 €"]
    assert _texts(customer.thanks(SIZE, 1467)) == ["Vielen Dank!", "14,67 €"]
    long = customer.sale(SIZE, [("Ein sehr langer Artikelname, der nicht passt " * 2, 99)], 99)
    assert _texts(long)[0].endswith("…")
    prompt = customer.message(SIZE, "Betrag 12,50 €", "Karte bitte")
    code = customer.qr(SIZE, "https://bon.example/r/1#k", "Ihr digitaler Bon")
    assert [w[0] for w in code][:2] == ["fill", "qr"] and _texts(code) == ["Ihr digitaler Bon"]
    for each in (customer.welcome(SIZE, business), scene, long, prompt, code):
        _inside(each)
        _panel().render(each)
