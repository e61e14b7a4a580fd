"""The terminal's EMV configuration as data (device code): ``data/emv/terminal.json``.

    terminal = load_terminal("data/emv/terminal.json")
    terminal.aids                # [TerminalAid], in the terminal's order of preference

Each AID this terminal accepts, with its scheme, whether longer card AIDs may match it
(application selection indicator: ``partial``), the contactless kernel it runs, its
application version (``9F09``), floor limit and random selection, terminal action codes and
contactless limits; and for the terminal its country and currency, capabilities (``9F33``),
type (``9F35``), the contactless reader's TTQ (``9F66``) and whether it can go online. A
mistake is a ``ConfigError`` naming the key; the terminal then takes no cards rather than
wrong ones.
"""

import binascii

from core.schema import Field, load, validate

_NONE = bytes(5)
SCHEMES = ("visa", "mastercard", "maestro", "vpay", "girocard", "amex")
# How a payment with each scheme is booked (DSFinV-K ZAHLART_TYP), unless an AID says otherwise:
# the debit schemes as ECKarte, the card schemes as Kreditkarte (a debit Visa or Mastercard
# cannot be told from its AID: configure its AID, or its BIN range once there is a table).
ZAHLART = {"girocard": "ECKarte", "maestro": "ECKarte", "vpay": "ECKarte"}


def _hex_aid(text):
    if len(text) % 2 or not 10 <= len(text) <= 32:
        raise ValueError("an AID is 5 to 16 bytes in hex, got %r" % text)
    try:
        binascii.unhexlify(text)
    except ValueError:
        raise ValueError("not hex: %r" % text)


def _hex_bytes(n):
    def check(text):
        if len(text) != 2 * n:
            raise ValueError("%d bytes in hex, got %r" % (n, text))
        try:
            binascii.unhexlify(text)
        except ValueError:
            raise ValueError("not hex: %r" % text)

    return check


def _hex_field(n, default, doc=""):
    return Field("str", default, check=_hex_bytes(n), doc=doc)


TAC = {
    "denial": _hex_field(5, "0000000000", "TAC-Denial: TVR bits that decline offline"),
    "online": _hex_field(5, "0000000000", "TAC-Online: TVR bits that send it online"),
    "default": _hex_field(5, "0000000000", "TAC-Default: TVR bits that decline when offline"),
}
CONTACTLESS = {
    "transaction_limit": Field("int", 0, min=0, doc="cents; at or above: insert the card (0: none)"),
    "cvm_limit": Field("int", 5000, min=0, doc="cents; at or above: CVM required (Germany: 50,00 EUR)"),
    "floor_limit": Field("int", 0, min=0, doc="cents; above: online cryptogram required"),
}
AID = {
    "aid": Field("str", check=_hex_aid, doc="the AID, hex"),
    "scheme": Field("str", choices=SCHEMES),
    "name": Field("str", "", max=32, doc="for logs and the console"),
    "partial": Field("bool", True, doc="a card AID that starts with this one matches (ASI)"),
    "kernel": Field("int", 0, min=0, max=255, doc="contactless kernel (0: by the card's 9F2A or RID)"),
    "app_version": Field("str", "", doc="9F09, hex (empty: not compared)"),
    "zahlart": Field(
        "str", "", choices=("", "ECKarte", "Kreditkarte"), doc="DSFinV-K ZAHLART_TYP (empty: by scheme)"
    ),
    "floor_limit": Field("int", 0, min=0, doc="cents; at or above: online (0: always online)"),
    "random": Field(
        "dict",
        schema={
            "threshold": Field("int", 0, min=0),
            "target": Field("int", 0, min=0, max=99),
            "max_target": Field("int", 0, min=0, max=99),
        },
    ),
    "tac": Field("dict", schema=TAC),
    "contactless": Field("dict", schema=CONTACTLESS),
}
SCHEMA = {
    "aids": Field("list", item=Field("dict", schema=AID), min=1, max=32),
    "country": _hex_field(2, "0276", "9F1A: Germany"),
    "currency": _hex_field(2, "0978", "5F2A: euro"),
    "capabilities": _hex_field(
        3, "E0F8C8", "9F33: IC, magstripe, manual; PIN offline/online, signature, no CVM; SDA, DDA, CDA"
    ),
    "terminal_type": Field(
        "int", 0x22, min=0x11, max=0x36, doc="9F35: 22 attended, offline with online capability"
    ),
    "ttq": _hex_field(4, "26004000", "9F66: EMV mode, online PIN, signature, CDCVM"),
    "online": Field("bool", True, doc="the terminal can go online (an acquirer is set up)"),
}


class Limits:
    """The terminal's risk parameters for an AID, in cents and percent."""

    def __init__(self, floor=0, threshold=0, target=0, max_target=0):
        if not 0 <= target <= max_target <= 99:
            raise ValueError("random selection needs 0 <= target <= max target <= 99")
        self.floor = floor
        self.threshold = threshold
        self.target = target
        self.max_target = max_target


class Tac:
    """The terminal action codes of an AID: denial, online, default (5 bytes each)."""

    def __init__(self, denial=_NONE, online=_NONE, default=_NONE):
        self.denial = denial
        self.online = online
        self.default = default


class TerminalAid:
    def __init__(self, aid, scheme, name="", partial=True, kernel=0, cfg=None):
        cfg = cfg or validate({"aid": binascii.hexlify(aid).decode(), "scheme": scheme}, AID)
        self.aid = aid
        self.scheme = scheme
        self.name = name
        self.partial = partial
        self.kernel = kernel or None
        self.app_version = binascii.unhexlify(cfg["app_version"]) if cfg["app_version"] else None
        self.zahlart = cfg["zahlart"] or ZAHLART.get(scheme, "Kreditkarte")
        self.limits = Limits(
            cfg["floor_limit"],
            cfg["random"]["threshold"],
            cfg["random"]["target"],
            cfg["random"]["max_target"],
        )
        t = cfg["tac"]
        self.tac = Tac(*(binascii.unhexlify(t[k]) for k in ("denial", "online", "default")))
        c = cfg["contactless"]
        self.contactless_limit = c["transaction_limit"]
        self.cvm_limit = c["cvm_limit"]
        self.contactless_floor = c["floor_limit"]


class Terminal:
    def __init__(self, aids, cfg=None):
        cfg = cfg or validate({"aids": [{"aid": "A0000000031010", "scheme": "visa"}]}, SCHEMA)
        self.aids = aids
        self.country = binascii.unhexlify(cfg["country"])
        self.currency = binascii.unhexlify(cfg["currency"])
        self.capabilities = binascii.unhexlify(cfg["capabilities"])
        self.terminal_type = cfg["terminal_type"]
        self.ttq = binascii.unhexlify(cfg["ttq"])
        self.online = cfg["online"]

    def without_pin(self):
        """No PIN pad: ``9F33`` loses its PIN methods (offline plaintext, online, offline
        enciphered), so a card's CVM list falls to the signature or no CVM."""
        caps = bytearray(self.capabilities)
        caps[1] &= ~(0x80 | 0x40 | 0x10) & 0xFF
        self.capabilities = bytes(caps)


def terminal_from(cfg):
    """A ``Terminal`` from validated configuration (``SCHEMA``)."""
    aids = [
        TerminalAid(binascii.unhexlify(a["aid"]), a["scheme"], a["name"], a["partial"], a["kernel"], a)
        for a in cfg["aids"]
    ]
    return Terminal(aids, cfg)


def load_terminal(path):
    return terminal_from(load(path, SCHEMA))
