"""Master data: business, register, product groups, articles, operators.

    master = MasterData.from_dict(json.load(f))     # validated; errors name the entry
    master.article("1001")                          # by PLU
    master.by_gtin("4006381333931")                 # by scanned barcode
    master.operator("1").check("4711")              # PIN against its PBKDF2 hash

Articles: PLU, name, gross price in cents (``None`` for an open-price article, the price is
typed at the till), USt-Schlüssel, product group, GTIN, unit, weighed (price per kg, quantity
in grams), and an optional deposit (Pfand) article added with each unit. A change of master
data needs a closing first (DSFinV-K Tz. 3.3): the firmware enforces that, not this module.
"""

from firmware.errors import ConfigError
from firmware.gtin import valid as gtin_valid
from firmware.pin import check_pin
from firmware.register.vat import VAT_KEYS

UNITS = ("Stk", "kg", "l", "m")


def _need(entry, key, kind, where):
    value = entry.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(where + "." + key, "must be %s" % ("text" if kind is str else "a whole number"))
    return value


class Article:
    def __init__(
        self, plu, name, price, vat_key, group_id, gtin="", unit="Stk", weighed=False, deposit_plu=""
    ):
        self.plu = plu
        self.name = name
        self.price = price
        self.vat_key = vat_key
        self.group_id = group_id
        self.gtin = gtin
        self.unit = unit
        self.weighed = weighed
        self.deposit_plu = deposit_plu

    @property
    def open_price(self):
        return self.price is None


class Operator:
    def __init__(self, operator_id, name, pin_hash, role="cashier"):
        self.id = operator_id
        self.name = name
        self.pin_hash = pin_hash
        self.role = role

    def check(self, pin):
        return check_pin(pin, self.pin_hash)


class MasterData:
    def __init__(self, business, register, groups, articles, operators):
        self.business = business
        self.register = register
        self.groups = groups
        self.articles = articles
        self.operators = operators
        self._gtin = {a.gtin: a for a in articles.values() if a.gtin}

    def article(self, plu):
        a = self.articles.get(plu)
        if a is None:
            raise ValueError("no article with PLU %r" % (plu,))
        return a

    def by_gtin(self, gtin):
        a = self._gtin.get(gtin)
        if a is None:
            raise ValueError("no article with barcode %r" % (gtin,))
        return a

    def group_name(self, group_id):
        return self.groups.get(group_id, "")

    def operator(self, operator_id):
        op = self.operators.get(operator_id)
        if op is None:
            raise ValueError("no operator %r" % (operator_id,))
        return op

    @classmethod
    def from_dict(cls, data):
        """Validate master data (JSON-shaped); the first problem raises ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError("", "master data must be an object")
        business = data.get("business")
        if not isinstance(business, dict):
            raise ConfigError("business", "is required")
        for key in ("name", "street", "zip", "city", "country"):
            _need(business, key, str, "business")
        if not (business.get("stnr") or business.get("ustid")):
            raise ConfigError("business", "needs a Steuernummer (stnr) or USt-IdNr (ustid), § 14 Abs. 4 UStG")
        register = data.get("register")
        if not isinstance(register, dict):
            raise ConfigError("register", "is required")
        serial = _need(register, "serial", str, "register")
        if not 1 <= len(serial) <= 30 or "/" in serial or "_" in serial:
            raise ConfigError("register.serial", "1..30 characters without / and _ (it is the TSE client id)")
        groups = {}
        for i, g in enumerate(data.get("groups", [])):
            where = "groups[%d]" % i
            groups[_need(g, "id", str, where)] = _need(g, "name", str, where)
        articles = {}
        for i, a in enumerate(data.get("articles", [])):
            where = "articles[%d]" % i
            plu = _need(a, "plu", str, where)
            if plu in articles:
                raise ConfigError(where + ".plu", "PLU %s appears twice" % plu)
            price = a.get("price")
            if price is not None and (not isinstance(price, int) or isinstance(price, bool) or price < 0):
                raise ConfigError(
                    where + ".price", "must be cents (a whole number >= 0) or null for open price"
                )
            key = _need(a, "vat_key", int, where)
            if key not in VAT_KEYS:
                raise ConfigError(where + ".vat_key", "unknown USt-Schlüssel %d" % key)
            group = _need(a, "group", str, where)
            if group not in groups:
                raise ConfigError(where + ".group", "unknown product group %r" % group)
            gtin = a.get("gtin", "")
            if gtin and not gtin_valid(gtin):
                raise ConfigError(where + ".gtin", "%r is not a valid GTIN (check digit)" % gtin)
            unit = a.get("unit", "Stk")
            if unit not in UNITS:
                raise ConfigError(where + ".unit", "must be one of %s" % ", ".join(UNITS))
            articles[plu] = Article(
                plu,
                _need(a, "name", str, where),
                price,
                key,
                group,
                gtin,
                unit,
                bool(a.get("weighed", False)),
                a.get("deposit", ""),
            )
        for plu, art in articles.items():
            if art.deposit_plu and art.deposit_plu not in articles:
                raise ConfigError("articles.%s.deposit" % plu, "unknown deposit article %r" % art.deposit_plu)
        operators = {}
        for i, o in enumerate(data.get("operators", [])):
            where = "operators[%d]" % i
            oid = _need(o, "id", str, where)
            operators[oid] = Operator(
                oid, _need(o, "name", str, where), _need(o, "pin_hash", str, where), o.get("role", "cashier")
            )
        if not operators:
            raise ConfigError("operators", "at least one operator is needed")
        return cls(business, register, groups, articles, operators)
