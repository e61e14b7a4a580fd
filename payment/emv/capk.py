"""The terminal's CA public key store (device code): the payment schemes' keys that offline data
authentication starts from, by RID and index (``8F``).

    keys = load_ca_keys("out/sim/capk.json")     # {(rid bytes, index): oda.PublicKey}

A JSON list of ``{"rid": "A000000004", "index": "F1", "modulus": hex, "exponent": "03",
"test": true}``. The simulator's keys are test keys and every one is marked so; a store with a
key not marked ``test`` is refused (``ConfigError``) unless ``live`` is allowed, so a simulator
never runs with a scheme's live keys and a test store never ships unnoticed.
"""

import binascii

from core.errors import ConfigError
from core.schema import read_json
from payment.emv.oda import PublicKey


def ca_keys(entries, live=False, where="ca keys"):
    if not isinstance(entries, list):
        raise ConfigError(where, "must be a list of keys")
    out = {}
    for i, e in enumerate(entries):
        path = "%s[%d]" % (where, i)
        try:
            rid = binascii.unhexlify(e["rid"])
            index = int(e["index"], 16)
            key = PublicKey(binascii.unhexlify(e["modulus"]), binascii.unhexlify(e["exponent"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(path, "needs rid, index, modulus and exponent in hex (%s)" % (err,))
        if len(rid) != 5 or not 0 <= index <= 0xFF or not 64 <= len(key.modulus) <= 248:
            raise ConfigError(path, "RID of 5 bytes, index 00..FF, modulus of 64..248 bytes")
        if e.get("test") is not True and not live:
            raise ConfigError(path, "not marked as a test key: live CA keys are refused here")
        out[(rid, index)] = key
    return out


def load_ca_keys(path, live=False):
    return ca_keys(read_json(path, "the CA key store"), live, path)
