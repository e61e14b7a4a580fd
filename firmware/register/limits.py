"""What master data and the till may hold: the limits the legal outputs set (pure domain).

    check_text("Kaffee", "articles[3].name", "ARTIKELTEXT")   # ConfigError naming the entry
    check_serial("KASSE-1")                                    # the TSE client id, the QR field
    check_cents(549, "articles[3].price", MAX_PRICE)

Every text of the master data ends up in a column of the DSFinV-K export, whose official
``index.xml`` gives its MaxLength (``DSFINVK``: the column's name and length, checked against
the shipped index.xml by tests/host/test_master_limits.py); a longer one would make the
export fail its own check. The register serial is the TSE client id (Swissbit keeps 30
characters of printable ASCII), a field of the receipt QR code (``;`` separates its fields)
and, by DSFinV-K Anhang E, free of ``/`` and ``_``: so it is 1 to 30 of ``A-Z a-z 0-9 - .``.
Money is integer cents, bounded so that a receipt's sums stay readable amounts on every
runtime (docs/compliance.md, "Limits").
"""

from core.errors import ConfigError
from core.money import whole

# Column -> MaxLength in the official DSFinV-K 2.4 index.xml.
DSFINVK = {
    "NAME": 60,
    "STRASSE": 60,
    "PLZ": 10,
    "ORT": 62,
    "LAND": 3,
    "STNR": 20,
    "USTID": 15,
    "Z_KASSE_ID": 50,
    "KASSE_BRAND": 50,
    "KASSE_MODELL": 50,
    "WARENGR_ID": 40,
    "WARENGR": 50,
    "ART_NR": 50,
    "ARTIKELTEXT": 255,
    "GTIN": 50,
    "EINHEIT": 50,
    "BEDIENER_ID": 50,
    "BEDIENER_NAME": 50,
    "KUNDE_NAME": 50,
    "KUNDE_ID": 50,
}

SERIAL_MAX = 30
SERIAL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-."
CURRENCY = "EUR"  # the register's base currency: receipts, processData and export are in euro

MAX_PRICE = 99999999  # cents per unit: 999.999,99 EUR
MAX_QTY = 9999000  # thousandths of a unit: 9.999 pieces or 9.999 kg
MAX_AMOUNT = 999999999  # cents of one line, one payment or a receipt: 9.999.999,99 EUR


def check_text(value, where, column, required=True):
    """``value`` as text that fits ``column`` of the DSFinV-K export; ConfigError naming ``where``."""
    if not isinstance(value, str):
        raise ConfigError(where, "must be text, got %r" % (value,))
    if required and not value.strip():
        raise ConfigError(where, "must not be empty")
    limit = DSFINVK[column]
    if len(value) > limit:
        raise ConfigError(where, "at most %d characters (DSFinV-K %s), got %d" % (limit, column, len(value)))
    for c in value:
        if ord(c) < 0x20 or ord(c) == 0x7F:
            raise ConfigError(where, "control characters are not allowed (%r)" % c)
    return value


def check_serial(value, where="register.serial"):
    """The register serial: 1 to 30 of ``A-Z a-z 0-9 - .`` (see the module text)."""
    if not isinstance(value, str) or not 1 <= len(value) <= SERIAL_MAX:
        raise ConfigError(where, "1 to %d characters (it is the TSE client id), got %r" % (SERIAL_MAX, value))
    for c in value:
        if c not in SERIAL_CHARS:
            raise ConfigError(
                where,
                "%r may not be in it: only letters A-Z, a-z, digits, - and . (the TSE client id and"
                " the receipt QR code)" % c,
            )
    return value


def check_cents(value, where, limit, allow_none=False):
    """Whole cents from 0 to ``limit`` (``None`` too, with ``allow_none``)."""
    if value is None and allow_none:
        return None
    if not whole(value) or not 0 <= value <= limit:
        raise ConfigError(where, "must be whole cents from 0 to %d, got %r" % (limit, value))
    return value
