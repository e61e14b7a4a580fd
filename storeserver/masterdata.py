"""Master data managed once for the store (host code): versions, validation, the terminals'.

    version = await save(pool, data, "owner", "Preis Kaffee")   # validated whole, a new version
    version, data = await latest(pool)

The store's part of the master data is what every register shares: ``business``, ``groups``,
``articles``, ``operators`` (PINs as PBKDF2 hashes, core.pin: the terminals verify them) and
``loyalty``. Each register keeps its own ``register`` section (serial, brand, model). A
version is checked with the firmware's own validator (firmware.register.master) on a
placeholder register before it is stored, so a terminal never receives data it would refuse.
A terminal takes a version into use only at its next closing (DSFinV-K Tz. 3.3) and journals
that (``master_received``, then ``master`` with ``store_version``); the server reads both back.
"""

import json

from core.errors import ConfigError
from core.pin import hash_pin
from firmware.register.master import MasterData

STORE_KEYS = ("business", "groups", "articles", "operators", "loyalty")
_PLACEHOLDER = {"serial": "STORE-CHECK", "brand": "smartECR", "model": "smartECR One", "currency": "EUR"}


def store_part(data):
    return {key: data[key] for key in STORE_KEYS if key in data}


def validate(data):
    """The store part of ``data``, checked as a terminal would; ``ConfigError`` naming the entry."""
    part = store_part(data)
    merged = dict(part, register=_PLACEHOLDER)
    MasterData.from_dict(merged)
    return part


async def latest(pool):
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute("SELECT version, data FROM master_versions ORDER BY version DESC LIMIT 1")
        row = await cur.fetchone()
    return (row[0], row[1]) if row else (None, None)


async def versions(pool, limit=20):
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(
            "SELECT version, made, author, note FROM master_versions ORDER BY version DESC LIMIT %s", (limit,)
        )
        return await cur.fetchall()


async def save(pool, data, author, note=""):
    part = validate(data)
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO master_versions (author, note, data) VALUES (%s, %s, %s) RETURNING version",
            (author, note, json.dumps(part)),
        )
        (version,) = await cur.fetchone()
        await cur.execute(
            "INSERT INTO audit_log (who, what) VALUES (%s, %s)",
            (author, "master data version %d: %s" % (version, note)),
        )
    return version


def set_price(data, plu, cents):
    """A copy of ``data`` with article ``plu``'s price changed (None: open price)."""
    out = json.loads(json.dumps(data))
    for article in out.get("articles", ()):
        if article.get("plu") == plu:
            article["price"] = cents
            return out
    raise ConfigError("articles", "no article %s" % plu)


def set_pin(data, operator_id, pin):
    """A copy with operator ``operator_id``'s PIN replaced by the hash of ``pin`` (4-8 digits)."""
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise ConfigError("operators", "a PIN is 4 to 8 digits")
    out = json.loads(json.dumps(data))
    for operator in out.get("operators", ()):
        if operator.get("id") == operator_id:
            operator["pin_hash"] = hash_pin(pin)
            return out
    raise ConfigError("operators", "no operator %s" % operator_id)
