"""The terminal's EMV configuration as data (device code): ``data/emv/terminal.json``.

    terminal = load_terminal("data/emv/terminal.json")
    terminal.aids                # [TerminalAid], in the terminal's order of preference

Each AID this terminal accepts, with its scheme, whether longer card AIDs may match it
(application selection indicator: ``partial``) and the contactless kernel it runs. A mistake
is a ``ConfigError`` naming the key; the terminal then takes no cards rather than wrong ones.
"""

import binascii

from core.schema import Field, load

SCHEMES = ("visa", "mastercard", "maestro", "vpay", "girocard", "amex")


def _hex_aid(text):
    if len(text) % 2 or not 10 <= len(text) <= 32:
        raise ValueError("an AID is 5 to 16 bytes in hex, got %r" % text)
    try:
        binascii.unhexlify(text)
    except ValueError:
        raise ValueError("not hex: %r" % text)


AID = {
    "aid": Field("str", check=_hex_aid, doc="the AID, hex"),
    "scheme": Field("str", choices=SCHEMES),
    "name": Field("str", "", max=32, doc="for logs and the console"),
    "partial": Field("bool", True, doc="a card AID that starts with this one matches (ASI)"),
    "kernel": Field("int", 0, min=0, max=255, doc="contactless kernel (0: by the card's 9F2A or RID)"),
}
SCHEMA = {"aids": Field("list", item=Field("dict", schema=AID), min=1, max=32)}


class TerminalAid:
    def __init__(self, aid, scheme, name="", partial=True, kernel=0):
        self.aid = aid
        self.scheme = scheme
        self.name = name
        self.partial = partial
        self.kernel = kernel or None


class Terminal:
    def __init__(self, aids):
        self.aids = aids


def terminal_from(cfg):
    """A ``Terminal`` from validated configuration (``SCHEMA``)."""
    aids = [
        TerminalAid(binascii.unhexlify(a["aid"]), a["scheme"], a["name"], a["partial"], a["kernel"])
        for a in cfg["aids"]
    ]
    return Terminal(aids)


def load_terminal(path):
    return terminal_from(load(path, SCHEMA))
