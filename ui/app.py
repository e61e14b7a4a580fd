"""The operator's touch UI (device code, pure): screen state, touches and keys in, requests
for the Till out. The requests are the operator link's (``ui/operator.py``): the touch
screen, a script and the simulator's text UI ask the terminal the same way.

    app = OperatorApp((800, 480), master)
    scene = app.scene(state)               # state: Terminal.state(); the touch areas are kept
    requests = app.touch(x, y, state)      # [{"op": "plu", "code": "1001", "qty": 1000}, ...]
    requests = app.key("Enter", state)     # the keyboard: digits, letters (search), Enter...
    app.answered(request, reply)           # what the terminal said: errors shown, data taken

Typing: digits before an article key are its count (``3`` then "Brötchen"), a weighed
article's weight (``1,250`` kg, or grams without a comma; nothing typed: the scale weighs it,
where the board has one), an open-price article's price
(``18,90``); ``×`` makes what was typed the count of the next article or PLU. "PLU" rings the
typed number up. "Rückgabe" and "Pfand zurück" hold for the next article key. The discount
keys take the typed percent or amount for the last line (on the payment screen: the whole
receipt). Keys (``KEYS``): Enter, Backspace, Escape, F2 Zahlen, F3 Menü, F4 Storno,
``*`` ×, letters search the articles by name.
"""

from core.money import parse_cents
from ui import screens
from ui.kit import intent_at

KEYS = {"Enter": ("enter",), "Backspace": ("back",), "Escape": ("escape",), "Delete": ("clear",)}
KEYS.update(
    {"F2": ("go", "pay"), "F3": ("go", "menu"), "F4": ("void",), "*": ("times",), ",": ("digit", ",")}
)
MOVEMENTS = {  # the menu's cash movements: the sign the amount gets (money in or out of the drawer)
    "Einzahlung": 1,
    "Auszahlung": -1,
    "Geldtransit": -1,
    "Anfangsbestand": 1,
    "Privatentnahme": -1,
    "Privateinlage": 1,
}
FORMS = {"voucher_sell": "Gutschein verkaufen", "voucher_redeem": "Gutschein einlösen", "tip": "Trinkgeld"}
FORMS.update(customer="Kundenkarte", points="Punkte einlösen")
MAX_ENTRY = 12


def _thousandths(entry):
    """``2`` -> 2000, ``1,250`` -> 1250 (a count or kilograms typed, in thousandths)."""
    whole, _, frac = entry.partition(",")
    if not (whole or frac) or not (whole or "0").isdigit() or (frac and not frac.isdigit()) or len(frac) > 3:
        raise ValueError("%r ist keine Menge wie 2 oder 1,250" % entry)
    return int(whole or "0") * 1000 + int((frac + "000")[:3])


def _grams(entry):
    return _thousandths(entry) if "," in entry else int(entry)


def _last_line(state):
    bon = state.get("bon") or {}
    for line in reversed(bon.get("lines", [])):
        if line[3] > 0 and not line[4]:
            return line[0]
    return None


class OperatorApp:
    def __init__(self, size, master):
        self.size = size
        self.screen = "signon"
        self.entry = ""
        self.note = ""
        self.qty = None  # thousandths typed before ×
        self.mode = None  # "return", "pfand": the next article key
        self.search = ""
        self.page = 0
        self.chosen = None  # sign-on: the operator; Z count: the denomination
        self._pin = ""
        self.purpose = None
        self.receipts = []
        self.charts = None
        self.counts = {}
        self.expected = None
        self.form = None  # (kind, [labels], values)
        self.areas = []
        self.catalog(master)

    def catalog(self, master):
        """The articles and groups the keys show (again after master data changed)."""
        self.master = master
        self.groups = sorted(master.groups.items(), key=lambda g: g[1])  # by name, as read
        self.articles = sorted(
            (a.plu, a.name, a.price, a.group_id, a.weighed) for a in master.articles.values()
        )
        self.by_plu = {a[0]: a for a in self.articles}
        if not hasattr(self, "group") or self.group not in master.groups:
            self.group = self.groups[0][0] if self.groups else None

    # --- what is shown ---------------------------------------------------------------------

    def view(self, state):
        operator = state.get("operator") or {}
        view = {
            "operator": operator.get("name") if self.screen != "signon" else None,
            "training": state.get("training"),
            "external": state.get("external"),
            "qr": state.get("qr"),
            "receipt_how": state.get("receipt_how"),
            "note": self.note,
            "entry": self.entry,
            "bon": state.get("bon"),
        }
        if self.screen == "signon":
            ops = sorted((o.id, o.name) for o in self.master.operators.values())
            view.update(operators=ops, chosen=self.chosen, digits=len(self._pin))
        elif self.screen == "sale":
            view.update(groups=self.groups, articles=self.articles, group=self.group, page=self.page)
            view.update(qty=self._qty_text(), mode=self.mode, search=self.search)
        elif self.screen == "pick":
            view.update(receipts=self.receipts, purpose=self.purpose)
        elif self.screen == "form":
            kind, labels, values = self.form
            view.update(title=self._form_title(kind), label=labels[len(values)], back=self._form_back(kind))
        elif self.screen == "count":
            view.update(counts=self.counts, chosen=self.chosen, expected=self.expected)
        elif self.screen == "report":
            view.update(charts=self.charts)
        return view

    def _qty_text(self):
        if self.qty is None:
            return None
        whole, frac = divmod(self.qty, 1000)
        return str(whole) if not frac else "%d,%03d" % (whole, frac)

    def scene(self, state):
        if self.screen == "pay" and not state.get("bon"):
            self.screen = "sale"  # paid (or aborted): back to selling
        scene, self.areas = screens.SCREENS[self.screen](self.size, self.view(state))
        return scene

    # --- input -----------------------------------------------------------------------------

    def touch(self, x, y, state):
        intent = intent_at(self.areas, x, y)
        return [] if intent is None else self.do(intent, state)

    def key(self, name, state):
        intent = KEYS.get(name)
        if intent is None and len(name) == 1:
            if name.isdigit():
                intent = ("digit", name)
            elif name.isalpha() or name == " ":
                intent = ("letter", name)
        return [] if intent is None else self.do(intent, state)

    def do(self, intent, state):
        """What ``intent`` does: the app's own change, and the requests for the terminal."""
        kind = intent[0]
        self.note = ""
        try:
            handler = getattr(self, "_" + kind, None)
            if handler is None:
                return []
            return handler(state, *intent[1:]) or []
        except ValueError as e:
            self.note = str(e)
            return []

    def answered(self, request, reply):
        op = request["op"]
        if not reply.get("ok"):
            self.note = reply.get("error", "abgelehnt")
            if op == "signon":
                self._pin = ""
            return
        if op == "signon":
            self.screen, self.chosen, self._pin = "sale", None, ""
        elif op == "signoff":
            self.screen = "signon"
        elif op == "receipts":
            self.receipts = [tuple(r) for r in reply["receipts"]]
            self.screen = "pick"
        elif op == "x" and not request.get("print"):
            if self.screen == "count":
                self.expected = reply["totals"]["cash"]
            else:
                self.charts = reply["charts"]
                self.screen = "report"
        elif op == "z":
            self.counts, self.chosen, self.expected = {}, None, None
            self.screen = "sale"
            self.note = "Z-Bon Nr. %d gedruckt" % reply["z_nr"]
        elif op in ("storno", "reprint", "movement", "drawer") or (op == "voucher" and request.get("sell")):
            self.screen = "sale"

    # --- the intents -----------------------------------------------------------------------

    def _digit(self, state, d):
        if self.screen == "signon" and self.chosen is not None:
            if len(self._pin) < MAX_ENTRY:
                self._pin += d
            return
        if len(self.entry) + len(d) <= MAX_ENTRY and not (d == "," and "," in self.entry):
            self.entry += d

    def _back(self, state):
        if self.screen == "signon" and self.chosen is not None:
            self._pin = self._pin[:-1]
        elif self.search and not self.entry:
            self.search = self.search[:-1]
        else:
            self.entry = self.entry[:-1]

    def _clear(self, state):
        self.entry, self.qty, self.mode, self.search, self._pin = "", None, None, "", ""
        if self.screen == "signon":
            self.chosen = None

    def _escape(self, state):
        self._clear(state)
        if self.screen in ("pay", "menu"):
            self.screen = "sale"
        elif self.screen in ("drawer", "pick", "form", "count", "report"):
            self.screen = "menu"

    def _letter(self, state, ch):
        if self.screen == "sale" and len(self.search) < 20:
            self.search += ch
            self.page = 0

    def _take(self):
        entry, self.entry = self.entry, ""
        return entry

    def _times(self, state):
        if self.screen == "sale" and self.entry:
            self.qty = _thousandths(self._take())

    def _group(self, state, gid):
        self.group, self.page, self.search = gid, 0, ""

    def _page(self, state, page):
        self.page = page

    def _mode(self, state, mode):
        self.mode = None if self.mode == mode else mode

    def _go(self, state, screen):
        self.entry = ""
        if screen == "pay" and not state.get("bon"):
            raise ValueError("kein offener Bon")
        self.screen = screen
        if screen == "count":
            self.counts, self.chosen = {}, None
            return [{"op": "x"}]  # what should be in the drawer
        return None

    def _operator(self, state, oid):
        self.chosen, self._pin, self.entry = oid, "", ""

    def _enter(self, state):
        if self.screen == "signon":
            if self.chosen is None:
                oid = self._take()
                if oid not in self.master.operators:
                    raise ValueError("kein Bediener %s" % oid)
                self.chosen = oid
                return None
            pin, self._pin = self._pin, ""
            return [{"op": "signon", "operator": self.chosen, "pin": pin}]
        if self.screen == "sale":
            code = self._take()
            if not code:
                raise ValueError("erst die PLU eingeben")
            return self._plu(state, code)
        if self.screen == "form":
            return self._form_value(state)
        if self.screen == "count":
            if self.chosen is None:
                raise ValueError("erst eine Sorte wählen")
            n = self._take()
            self.counts[self.chosen] = int(n) if n else 0
            return None
        return None

    def _plu(self, state, code):
        art = self.by_plu.get(code)
        if art is None:
            raise ValueError("keine PLU %s" % code)
        _, name, price, _, weighed = art
        entry, mode = self._take(), self.mode
        qty, self.qty, self.mode = self.qty, None, None
        if mode == "pfand":
            units = int(entry) if entry else (qty // 1000 if qty else 1)
            return [{"op": "pfand", "code": code, "units": units}]
        if weighed and mode != "return":
            if entry:
                return [{"op": "weighed", "code": code, "grams": _grams(entry)}]
            if state.get("scale"):
                return [{"op": "weighed", "code": code}]  # what lies on the scale
            raise ValueError("%s: erst das Gewicht eingeben (kg)" % name)
        if price is None:
            if not entry:
                raise ValueError("%s: erst den Preis eingeben" % name)
            return [{"op": "open", "code": code, "price": parse_cents(entry), "qty": qty or 1000}]
        if entry:
            qty = _thousandths(entry)
        if mode == "return":
            return [{"op": "return", "code": code, "qty": qty or 1000}]
        return [{"op": "plu", "code": code, "qty": qty or 1000}]

    def _amount(self, entry, what):
        if not entry:
            raise ValueError("erst %s eingeben" % what)
        return parse_cents(entry)

    def _discount(self, state, kind, pos=None):
        entry = self._take()
        if pos is None:
            pos = _last_line(state)
            if pos is None:
                raise ValueError("keine Zeile zum Rabattieren")
        req = {"op": "discount", kind: self._amount(entry, "Prozent" if kind == "percent" else "Betrag")}
        if pos:
            req["pos"] = pos
        return [req]

    def _bon_discount(self, state, kind):
        return self._discount(state, kind, pos=0)

    def _void(self, state):
        entry = self._take()
        pos = int(entry) if entry else _last_line(state)
        if pos is None:
            raise ValueError("keine Zeile zu stornieren")
        return [{"op": "void", "pos": pos}]

    def _abort(self, state):
        self._clear(state)
        return [{"op": "abort"}]

    def _cash(self, state, cents):
        entry = self._take()
        if cents is None and entry:
            cents = parse_cents(entry)
        return [{"op": "cash"} if cents is None else {"op": "cash", "given": cents}]

    def _card(self, state):
        return [{"op": "card"}]

    def _qr(self, state):
        """Our code on the customer screen; pressed again while it shows: stop waiting."""
        return [{"op": "qr", "cancel": True} if state.get("qr") else {"op": "qr"}]

    def _transfer(self, state):
        return [{"op": "transfer"}]

    def _receipt(self, state):
        """How the customer takes this receipt: paper, digital, both, none, and round again."""
        order = ("paper", "digital", "both", "none")
        now = state.get("receipt_how") or "paper"
        return [{"op": "receipt", "how": order[(order.index(now) + 1) % len(order)]}]

    def _training(self, state):
        return [{"op": "training", "on": not state.get("training")}]

    def _signoff(self, state):
        return [{"op": "signoff"}]

    def _drawer(self, state, reason):
        return [{"op": "drawer", "reason": reason}]

    def _pick(self, state, purpose):
        self.purpose = purpose
        return [{"op": "receipts"}]

    def _bon(self, state, bon_nr):
        return [{"op": self.purpose, "bon_nr": bon_nr}]

    def _report(self, state):
        return [{"op": "x"}]

    def _print_x(self, state):
        return [{"op": "x", "print": True}]

    def _denomination(self, state, cents):
        self.chosen, self.entry = cents, ""

    def _close(self, state):
        counts = {str(c): n for c, n in self.counts.items() if n}
        return [{"op": "z", "counts": counts}]

    # --- forms: amounts typed for a menu function ---------------------------------------------

    def _form(self, state, kind):
        labels = ["Betrag", "Gutschein-Nr."] if kind.startswith("voucher") else ["Betrag"]
        if kind in ("customer", "points"):
            labels = ["Kartennummer"] if kind == "customer" else ["Punkte"]
        self.form, self.entry, self.screen = (kind, labels, []), "", "form"

    @staticmethod
    def _form_title(kind):
        return FORMS.get(kind, kind)

    @staticmethod
    def _form_back(kind):
        """Where a form leads back: a voucher redeemed pays (the payment screen), a tip is
        rung up on the receipt (the sale), the rest came from the menu."""
        return {"voucher_redeem": "pay", "points": "pay", "tip": "sale", "customer": "sale"}.get(kind, "menu")

    def _form_value(self, state):
        kind, labels, values = self.form
        entry = self._take()
        if kind in ("customer", "points"):  # a card's number, a count of points: as typed
            if not entry or (kind == "points" and not entry.isdigit()):
                raise ValueError(
                    "erst die %s eingeben" % ("Kartennummer" if kind == "customer" else "Punkte")
                )
            self.screen = self._form_back(kind)
            if kind == "customer":
                return [{"op": "customer", "card": entry}]
            return [{"op": "redeem", "points": int(entry)}]
        if len(values) == 0:
            values.append(self._amount(entry, "den Betrag"))
        else:
            if not entry:
                raise ValueError("erst die Gutschein-Nummer eingeben")
            values.append(entry)
        if len(values) < len(labels):
            return None
        self.screen = self._form_back(kind)
        if kind in MOVEMENTS:
            return [{"op": "movement", "kind": kind, "cents": MOVEMENTS[kind] * values[0]}]
        if kind == "tip":
            return [{"op": "tip", "cents": values[0]}]
        return [{"op": "voucher", "sell": kind == "voucher_sell", "cents": values[0], "number": values[1]}]
