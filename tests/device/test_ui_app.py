"""The operator's touch UI on both runtimes (ui/app.py, ui/screens.py): every screen draws
inside the panel with no key over another, a cashier's touches become the operator link's
requests (checked by the link's own validation, against a terminal that records what it was
asked), and every register operation is reachable by touch — the test walks the list."""

from support import demo_master, run

from hal.screen import Panel
from ui import operator, screens
from ui.app import OperatorApp

SIZE = (800, 480)


class Recorder:
    """A terminal that records what the operator link asks of it."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        async def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            if name == "z_close":
                return {"z_nr": 1, "counted": 2350, "difference": 0}

        def plain(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            if name == "x_report":
                return {"cash": 1500}, {
                    "hours": [],
                    "groups": [],
                    "payments": [],
                    "articles": [],
                    "total": 0,
                    "belege": 0,
                }
            if name == "recent":
                return [[3, "10:15", 1467, "Beleg"], [2, "10:01", 549, "Beleg"]]
            return None

        return plain if name in SYNC else call

    def notify(self):
        pass


SYNC = ("sign_on", "sign_off", "set_training", "reprint", "drawer", "open_drawer", "recent", "x_report")
SYNC += ("show_qr", "cancel_qr", "set_receipt")
BON = {
    "lines": [
        [1, "Kaffee Crema 250 g", 1000, 549, False, ""],
        [2, "Äpfel Elstar (kg)", 1250, 374, False, "kg"],
    ],
    "total": 684,
    "paid": 0,
}


def _app():
    return OperatorApp(SIZE, demo_master())


def _find(app, state, intent):
    app.scene(state)
    for x, y, w, h, got in app.areas:
        if got == intent:
            return x + w // 2, y + h // 2
    raise AssertionError("no key for %r on %s" % (intent, app.screen))


def press(app, state, *intents):
    """Touch the keys of ``intents`` in order; the requests they made."""
    out = []
    for intent in intents:
        x, y = _find(app, state, intent)
        out += app.touch(x, y, state)
    return out


def typed(app, state, text):
    return press(app, state, *[("digit", d) for d in text])


def _state(bon=None, training=False):
    return {"bon": bon, "training": training, "operator": {"id": "1", "name": "Anna Kasse"}}


def _asked(requests):
    """The requests through the operator link's validation to a recording terminal."""
    term = Recorder()
    for req in requests:
        reply = run(operator.request(term, req))
        assert reply["ok"], (req, reply)
    return term.calls


def test_sign_on_with_number_and_pin_then_the_sale_screen():
    app, st = _app(), _state()
    typed(app, st, "1")
    assert press(app, st, ("enter",)) == [] and app.chosen == "1"
    typed(app, st, "1111")
    assert app.view(st)["digits"] == 4 and "1111" not in _words(app.scene(st))  # stars only
    [req] = press(app, st, ("enter",))
    assert req == {"op": "signon", "operator": "1", "pin": "1111"}
    app.answered(req, {"ok": False, "error": "Bediener oder PIN falsch"})
    assert app.screen == "signon" and app.note == "Bediener oder PIN falsch" and app.view(st)["digits"] == 0
    app.answered(req, {"ok": True})
    assert app.screen == "sale"
    typed(app, st, "7")
    assert press(app, st, ("enter",)) == [] and "keine PLU 7" in app.note


def test_counts_weights_prices_and_modes_on_the_sale_screen():
    app, st = _app(), _state()
    app.screen = "sale"
    typed(app, st, "3")
    assert press(app, st, ("group", "bakery"), ("plu", "1003")) == [
        {"op": "plu", "code": "1003", "qty": 3000}
    ]
    typed(app, st, "2")
    press(app, st, ("times",))
    typed(app, st, "1001")
    assert press(app, st, ("enter",)) == [{"op": "plu", "code": "1001", "qty": 2000}]
    assert press(app, st, ("group", "produce"), ("plu", "2001")) == [] and "Gewicht" in app.note
    typed(app, st, "1,250")
    assert press(app, st, ("plu", "2001")) == [{"op": "weighed", "code": "2001", "grams": 1250}]
    typed(app, st, "18,90")
    assert press(app, st, ("group", "flowers"), ("plu", "3001")) == [
        {"op": "open", "code": "3001", "price": 1890, "qty": 1000}
    ]
    press(app, st, ("mode", "return"))
    assert "Rückgabe" in _words(app.scene(st))
    assert press(app, st, ("group", "household"), ("plu", "1006")) == [
        {"op": "return", "code": "1006", "qty": 1000}
    ]
    typed(app, st, "4")
    assert press(app, st, ("mode", "pfand"), ("group", "deposit"), ("plu", "9002")) == [
        {"op": "pfand", "code": "9002", "units": 4}
    ]
    st = _state(BON)
    typed(app, st, "10")
    assert press(app, st, ("discount", "percent")) == [{"op": "discount", "percent": 1000, "pos": 2}]
    typed(app, st, "0,50")
    assert press(app, st, ("discount", "cents")) == [{"op": "discount", "cents": 50, "pos": 2}]
    assert press(app, st, ("void",)) == [{"op": "void", "pos": 2}]
    assert "2 1,250 kg Äpfel Elstar (kg)" in _words(app.scene(st))  # the quantity as read
    typed(app, st, "1")
    assert press(app, st, ("void",)) == [{"op": "void", "pos": 1}]
    for key in "kaff":
        app.key(key, st)
    found = [a[4] for a in app.areas if a[4][0] == "plu"]
    app.scene(st)
    found = [a[4] for a in app.areas if a[4][0] == "plu"]
    assert found == [("plu", "1001"), ("plu", "1007")]  # searched by name, over all groups


def test_paying_with_quick_amounts_a_typed_amount_a_card_and_a_receipt_discount():
    app, st = _app(), _state(BON)
    app.screen = "sale"
    press(app, st, ("go", "pay"))
    assert app.screen == "pay"
    labels = [w[5] for w in app.scene(st) if w[0] == "button"]
    for amount in ("6,84 €", "7,00 €", "10,00 €", "20,00 €", "50,00 €"):
        assert amount in labels, labels
    assert press(app, st, ("cash", 1000)) == [{"op": "cash", "given": 1000}]
    typed(app, st, "5")
    assert press(app, st, ("cash", None)) == [{"op": "cash", "given": 500}]  # split: the rest by card
    assert press(app, st, ("card",)) == [{"op": "card"}]
    assert press(app, st, ("qr",)) == [{"op": "qr"}]  # our code on the customer screen
    shown = dict(st, qr="Mit der Wallet-App scannen")  # while it shows, the key stops it
    assert press(app, shown, ("qr",)) == [{"op": "qr", "cancel": True}]
    assert press(app, st, ("transfer",)) == [{"op": "transfer"}]
    assert press(app, st, ("receipt",)) == [{"op": "receipt", "how": "digital"}]  # the customer's choice
    assert press(app, dict(st, receipt_how="none"), ("receipt",)) == [{"op": "receipt", "how": "paper"}]
    press(app, st, ("form", "voucher_redeem"))
    typed(app, st, "10")
    press(app, st, ("enter",))
    typed(app, st, "7001")
    assert press(app, st, ("enter",)) == [{"op": "voucher", "sell": False, "cents": 1000, "number": "7001"}]
    assert app.screen == "pay"  # the voucher pays part: the rest is paid here
    typed(app, st, "5")
    assert press(app, st, ("bon_discount", "percent")) == [{"op": "discount", "percent": 500}]
    assert press(app, st, ("cash", None)) == [{"op": "cash"}]  # nothing typed: exactly what is due
    app.scene(_state(None))  # paid: back to selling
    assert app.screen == "sale"
    assert screens.quick_amounts(1467) == [1467, 1500, 2000, 5000, 10000]
    assert screens.quick_amounts(2000) == [2000, 5000, 10000, 20000, 50000]


def test_every_register_operation_is_reachable_by_touch():
    """The operator link's operations (what the demo does: ui/operator.OPERATIONS), each made
    by a cashier's touches; ``barcode`` comes from the scanner, ``state`` is no operation."""
    app, st = _app(), _state()
    made = []
    typed(app, st, "1")
    press(app, st, ("enter",))
    typed(app, st, "1111")
    made += press(app, st, ("enter",))
    app.answered(made[-1], {"ok": True})
    made += press(app, st, ("group", "food"), ("plu", "1001"))
    typed(app, st, "0,5")
    made += press(app, st, ("group", "deli"), ("plu", "2002"))
    typed(app, st, "9,99")
    made += press(app, st, ("group", "flowers"), ("plu", "3001"))
    made += press(app, st, ("mode", "return"), ("group", "household"), ("plu", "1006"))
    made += press(app, st, ("mode", "pfand"), ("group", "deposit"), ("plu", "9001"))
    st = _state(BON)
    typed(app, st, "10")
    made += press(app, st, ("discount", "percent"), ("void",), ("abort",))
    made += press(app, st, ("go", "pay"), ("cash", 1000), ("card",), ("qr",), ("transfer",), ("receipt",))
    app.screen = "sale"
    st = _state()
    made += press(app, st, ("go", "menu"), ("training",))
    for kind in (
        "Einzahlung",
        "Auszahlung",
        "Geldtransit",
        "Anfangsbestand",
        "Privatentnahme",
        "Privateinlage",
    ):
        press(app, st, ("form", kind))  # back on the menu after each
        typed(app, st, "20")
        made += press(app, st, ("enter",))
    press(app, st, ("form", "voucher_sell"))
    typed(app, st, "25")
    press(app, st, ("enter",))
    typed(app, st, "7001")
    made += press(app, st, ("enter",))
    for kind in ("voucher_redeem", "tip"):  # on the open receipt: back to the sale after each
        if app.screen != "menu":
            press(app, st, ("go", "menu"))
        press(app, st, ("form", kind))
        typed(app, st, "5")
        made += press(app, st, ("enter",))
        if kind == "voucher_redeem":
            typed(app, st, "7001")
            made += press(app, st, ("enter",))
    for kind, typed_ in (("customer", "4000100017"), ("points", "100")):  # the loyalty card, points
        app.screen = "menu" if kind == "customer" else "pay"
        here = st if kind == "customer" else _state(BON)  # points off an open receipt
        press(app, here, ("form", kind))
        typed(app, here, typed_)
        [req] = press(app, here, ("enter",))
        made.append(req)
        assert req == (
            {"op": "customer", "card": "4000100017"}
            if kind == "customer"
            else {"op": "redeem", "points": 100}
        )
    made += press(app, st, ("go", "menu"), ("go", "drawer"), ("drawer", "Wechselgeld"))
    for purpose in ("storno", "reprint"):
        app.screen = "sale"
        [req] = press(app, st, ("go", "menu"), ("pick", purpose))
        made.append(req)
        app.answered(req, {"ok": True, "receipts": [[3, "10:15", 1467, "Beleg"]]})
        assert app.screen == "pick"
        made += press(app, st, ("bon", 3))
    app.screen = "sale"
    [req] = press(app, st, ("go", "menu"), ("report",))
    made.append(req)
    app.answered(
        req,
        {
            "ok": True,
            "charts": {
                "hours": [("10-11 Uhr", 1467)],
                "groups": [],
                "payments": [],
                "articles": [],
                "total": 1467,
                "belege": 1,
            },
        },
    )
    made += press(app, st, ("print_x",))
    app.screen = "menu"
    made += press(app, st, ("go", "count"))
    app.answered(made[-1], {"ok": True, "totals": {"cash": 2350}})
    typed(app, st, "")
    press(app, st, ("denomination", 2000))
    typed(app, st, "1")
    press(app, st, ("enter",), ("denomination", 200))
    typed(app, st, "2")
    press(app, st, ("enter",))
    assert "23,50 €" in _words(app.scene(st))  # counted, and what should be there
    made += press(app, st, ("close",))
    assert made[-1] == {"op": "z", "counts": {"2000": 1, "200": 2}}
    app.screen = "menu"
    made += press(app, st, ("signoff",))
    reached = {req["op"] for req in made}
    assert reached == set(operator.OPERATIONS) - {"state", "barcode"}, set(operator.OPERATIONS) - reached
    calls = [name for name, _, _ in _asked(made)]  # valid requests, each to its terminal method
    for wanted in ("sign_on", "plu", "weighed", "open_price", "give_back", "pfand", "discount", "void"):
        assert wanted in calls, wanted
    for wanted in ("abort", "pay_cash", "pay_card", "set_training", "movement", "voucher", "tip", "drawer"):
        assert wanted in calls, wanted
    for wanted in ("storno", "reprint", "recent", "x_report", "z_close", "sign_off"):
        assert wanted in calls, wanted


def test_every_screen_draws_inside_the_panel_with_no_key_over_another():
    app = _app()
    views = {
        "signon": _state(),
        "sale": _state(BON),
        "pay": _state(BON),
        "menu": _state(training=True),
        "drawer": _state(),
        "count": _state(),
    }
    app.receipts = [(3, "10:15", 1467, "Beleg")]
    app.purpose = "storno"
    app.form = ("Einzahlung", ["Betrag"], [])
    app.charts = {
        "hours": [("10-11 Uhr", 1467)],
        "groups": [("Lebensmittel", 549)],
        "payments": [("Bargeld", 1467)],
        "articles": [("Kaffee Crema 250 g", 549)],
        "total": 1467,
        "belege": 1,
    }
    for name in ("signon", "sale", "pay", "menu", "drawer", "pick", "form", "count", "report"):
        app.screen = name
        scene = app.scene(views.get(name, _state()))
        assert app.areas, name
        for i, (x, y, w, h, intent) in enumerate(app.areas):
            assert 0 <= x and x + w <= SIZE[0] and 0 <= y and y + h <= SIZE[1], (name, intent)
            for ox, oy, ow, oh, other in app.areas[i + 1 :]:
                assert x + w <= ox or ox + ow <= x or y + h <= oy or oy + oh <= y, (name, intent, other)
        for w in scene:
            if w[0] == "text":
                assert 0 <= w[1] and w[1] + len(w[3]) * 8 * w[5] <= SIZE[0], (name, w)
        Panel(SIZE[0], SIZE[1], mono=True).render([("fill", 1)] + [_mono(w) for w in scene[1:]])
    app.screen = "menu"
    assert "TRAINING" in _words(app.scene(_state(training=True)))  # clearly marked, on every screen


def _words(scene):
    """What a scene says: its texts and key labels."""
    return " ".join(w[3] if w[0] == "text" else w[5] for w in scene if w[0] in ("text", "button"))


def _mono(widget):
    """A widget with its colours as 0/1, for the mono panel the runner's heap holds."""
    kind = widget[0]
    if kind == "text":
        return widget[:4] + (0, widget[5])
    if kind == "rect":
        return widget[:5] + (0, widget[6])
    if kind == "button":
        return widget[:6] + (0, 1, widget[8])
    if kind == "bars":
        return widget[:7] + (0, 0, 0)
    return widget
