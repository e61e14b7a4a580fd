"""Master data: business, register, product groups, articles, operators.

    master = MasterData.from_dict(json.load(f))     # validated; errors name the entry
    master = load_master("data/demo-master.json")   # the same from a file: errors name it too
    master.article("1001")                          # by PLU
    master.by_gtin("4006381333931")                 # by scanned barcode
    master.operator("1").check("4711")              # PIN against its PBKDF2 hash

Loyalty (optional): points per whole euro paid, a point's worth in cents when redeemed, and the
customers' accounts (card code, name, the id at the receipt server, the X25519 public key their
digital receipts' keys are wrapped to).

Articles: PLU, name, gross price in cents (``None`` for an open-price article, the price is
typed at the till), USt-Schlüssel, product group, GTIN, unit, weighed (price per kg, quantity
in grams), and an optional deposit (Pfand) article added with each unit. A change of master
data needs a closing first (DSFinV-K Tz. 3.3): the firmware enforces that, not this module.
"""

import binascii
import hashlib
import json

from core.errors import ConfigError
from core.gtin import valid as gtin_valid
from core.pin import check_pin
from firmware.register.limits import CURRENCY, MAX_PRICE, check_cents, check_serial, check_text
from firmware.register.vat import VAT_KEYS

UNITS = ("Stk", "kg", "l", "m")
ROLES = ("cashier", "manager")


def _need(entry, key, kind, where):
    value = entry.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(where + "." + key, "must be %s" % ("text" if kind is str else "a whole number"))
    return value


def _text(entry, key, where, column, required=True):
    if not required and entry.get(key) in (None, ""):
        return ""
    return check_text(entry.get(key), where + "." + key, column, required)


def _entries(data, key):
    """``(where, entry)`` of the list ``data[key]`` (may be missing), each entry an object."""
    items = data.get(key, [])
    if not isinstance(items, list):
        raise ConfigError(key, "must be a list")
    for i, item in enumerate(items):
        where = "%s[%d]" % (key, i)
        if not isinstance(item, dict):
            raise ConfigError(where, "must be an object, got %s" % json.dumps(item))
        yield where, item


def load_master(path):
    """Read and validate a master data file; one ``ConfigError`` naming the file and entry.
    The result knows its ``source`` and the SHA-256 ``digest`` of the file's bytes."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConfigError(path, "cannot be read (%s)" % e)
    try:
        data = json.loads(raw)
    except ValueError as e:  # UnicodeError is one
        raise ConfigError(path, "is not JSON (%s)" % e)
    try:
        master = MasterData.from_dict(data)
    except ConfigError as e:
        raise ConfigError(path + ": " + e.path if e.path else path, e.detail)
    master.source = path
    master.digest = binascii.hexlify(hashlib.sha256(raw).digest()).decode()
    return master


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


class Account:
    """A loyalty customer: the card's code, the name, the id at the receipt server (unguessable)
    and the X25519 public key their receipts' keys are wrapped to."""

    def __init__(self, card, name, account, public_key):
        self.card = card
        self.name = name
        self.account = account
        self.public_key = public_key


class Loyalty:
    """Points per whole euro paid, what a point is worth when redeemed (cents), the accounts."""

    def __init__(self, points_per_euro=1, cents_per_point=1, accounts=None):
        self.points_per_euro = points_per_euro
        self.cents_per_point = cents_per_point
        self.accounts = accounts or {}

    def account(self, card):
        return self.accounts.get(card)


def _loyalty(data):
    raw = data.get("loyalty", {})
    if not isinstance(raw, dict):
        raise ConfigError("loyalty", "must be an object")
    ppe = raw.get("points_per_euro", 1)
    cpp = raw.get("cents_per_point", 1)
    for key, value, hi in (("points_per_euro", ppe, 100), ("cents_per_point", cpp, 100)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= hi:
            raise ConfigError("loyalty." + key, "a whole number from 0 to %d" % hi)
    accounts = {}
    for where, a in _entries(raw, "accounts"):
        where = "loyalty." + where
        card = _text(a, "card", where, "KUNDE_ID")
        if not 4 <= len(card) <= 32 or any(c not in CARD_CHARS for c in card):
            raise ConfigError(where + ".card", "4 to 32 of A-Z 0-9 -, got %r" % card)
        if card in accounts:
            raise ConfigError(where + ".card", "card %s appears twice" % card)
        account = _need(a, "account", str, where)
        if not 16 <= len(account) <= 64 or any(c not in URL_SAFE for c in account):
            raise ConfigError(where + ".account", "16 to 64 of A-Z a-z 0-9 - _ (unguessable)")
        key = _need(a, "public_key", str, where)
        try:
            raw_key = binascii.a2b_base64(key.replace("-", "+").replace("_", "/") + "=" * (-len(key) % 4))
        except ValueError:
            raw_key = b""
        if len(raw_key) != 32:
            raise ConfigError(where + ".public_key", "an X25519 public key: 32 bytes, base64url")
        accounts[card] = Account(card, _text(a, "name", where, "KUNDE_NAME"), account, raw_key)
    return Loyalty(ppe, cpp, accounts)


CARD_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class MasterData:
    def __init__(self, business, register, groups, articles, operators, loyalty=None):
        self.loyalty = loyalty or Loyalty()
        self.business = business
        self.register = register
        self.groups = groups
        self.articles = articles
        self.operators = operators
        self._gtin = {a.gtin: a for a in articles.values() if a.gtin}
        self.source = None  # the file it was read from (load_master)
        self.digest = None  # SHA-256 of that file's bytes

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
        """Validate master data (JSON-shaped) against the limits of the outputs
        (firmware.register.limits); the first problem raises ConfigError naming the entry."""
        if not isinstance(data, dict):
            raise ConfigError("", "master data must be an object")
        business = data.get("business")
        if not isinstance(business, dict):
            raise ConfigError("business", "is required")
        for key, column in (("name", "NAME"), ("street", "STRASSE"), ("zip", "PLZ"), ("city", "ORT")):
            _text(business, key, "business", column)
        country = business.get("country")
        if (
            not isinstance(country, str)
            or len(country) != 3
            or not country.isalpha()
            or not country.isupper()
        ):
            raise ConfigError(
                "business.country", "an ISO 3166 code of three capital letters (DEU), got %r" % (country,)
            )
        stnr = _text(business, "stnr", "business", "STNR", required=False)
        ustid = _text(business, "ustid", "business", "USTID", required=False)
        if not (stnr or ustid):
            raise ConfigError("business", "needs a Steuernummer (stnr) or USt-IdNr (ustid), § 14 Abs. 4 UStG")
        register = data.get("register")
        if not isinstance(register, dict):
            raise ConfigError("register", "is required")
        check_serial(register.get("serial"))
        _text(register, "brand", "register", "KASSE_BRAND", required=False)
        _text(register, "model", "register", "KASSE_MODELL", required=False)
        if register.get("currency", CURRENCY) != CURRENCY:
            raise ConfigError(
                "register.currency", "the base currency is %s, got %r" % (CURRENCY, register.get("currency"))
            )
        groups = {}
        for where, g in _entries(data, "groups"):
            gid = _text(g, "id", where, "WARENGR_ID")
            if gid in groups:
                raise ConfigError(where + ".id", "product group %s appears twice" % gid)
            groups[gid] = _text(g, "name", where, "WARENGR")
        articles = {}
        gtins = {}
        for where, a in _entries(data, "articles"):
            plu = _text(a, "plu", where, "ART_NR")
            if plu in articles:
                raise ConfigError(where + ".plu", "PLU %s appears twice" % plu)
            price = check_cents(a.get("price"), where + ".price", MAX_PRICE, allow_none=True)
            key = _need(a, "vat_key", int, where)
            if key not in VAT_KEYS:
                raise ConfigError(where + ".vat_key", "unknown USt-Schlüssel %d" % key)
            group = _need(a, "group", str, where)
            if group not in groups:
                raise ConfigError(where + ".group", "unknown product group %r" % group)
            gtin = _text(a, "gtin", where, "GTIN", required=False)
            if gtin and not gtin_valid(gtin):
                raise ConfigError(where + ".gtin", "%r is not a valid GTIN (check digit)" % gtin)
            if gtin in gtins:
                raise ConfigError(where + ".gtin", "GTIN %s is already article %s" % (gtin, gtins[gtin]))
            if gtin:
                gtins[gtin] = plu
            unit = a.get("unit", "Stk")
            if unit not in UNITS:
                raise ConfigError(where + ".unit", "must be one of %s" % ", ".join(UNITS))
            weighed = a.get("weighed", False)
            if not isinstance(weighed, bool):
                raise ConfigError(where + ".weighed", "must be true or false")
            deposit = a.get("deposit", "")
            if not isinstance(deposit, str):
                raise ConfigError(where + ".deposit", "must be the PLU of the deposit article")
            articles[plu] = Article(
                plu, _text(a, "name", where, "ARTIKELTEXT"), price, key, group, gtin, unit, weighed, deposit
            )
        for plu, art in articles.items():
            if art.deposit_plu and art.deposit_plu not in articles:
                raise ConfigError("articles.%s.deposit" % plu, "unknown deposit article %r" % art.deposit_plu)
        operators = {}
        for where, o in _entries(data, "operators"):
            oid = _text(o, "id", where, "BEDIENER_ID")
            if oid in operators:
                raise ConfigError(where + ".id", "operator %s appears twice" % oid)
            role = o.get("role", "cashier")
            if role not in ROLES:
                raise ConfigError(where + ".role", "must be one of %s" % ", ".join(ROLES))
            operators[oid] = Operator(
                oid, _text(o, "name", where, "BEDIENER_NAME"), _need(o, "pin_hash", str, where), role
            )
        if not operators:
            raise ConfigError("operators", "at least one operator is needed")
        master = cls(business, register, groups, articles, operators, _loyalty(data))
        version = data.get("store_version")  # the store server's version of these data
        master.store_version = version if isinstance(version, int) and not isinstance(version, bool) else None
        return master
