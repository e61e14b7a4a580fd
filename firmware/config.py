"""The firmware's configuration: its schema, embedded defaults, and the settings changed on
the terminal (the service console's ``config set``).

    cfg = load("config.json")          # file values over the embedded defaults, validated
    cfg["platform"]                    # 'sim'
    cfg["log"]["level"]                # 'info'
    show = masked(cfg)                 # secrets replaced by '***' for the console

The checks themselves (``Field``, ``validate``) are the schema engine of ``core.schema``.
"""

import json

from core import schema as engine
from core.calendar import parse_date
from core.errors import ConfigError
from core.schema import Field, validate
from core.storage import read_json
from payment.qr.epc import iban_ok


def loads(text, schema=None):
    """Parse and validate configuration text (JSON) against ``SCHEMA``."""
    return engine.loads(text, SCHEMA if schema is None else schema)


def load(path, schema=None):
    """Read, parse and validate a configuration file; errors name the file."""
    return engine.load(path, SCHEMA if schema is None else schema)


def masked(config, schema=None):
    """A copy of a validated ``config`` with every secret value replaced by ``'***'``."""
    return engine.masked(config, SCHEMA if schema is None else schema)


def date_or_empty(text):
    """A ``check``: ``YYYY-MM-DD`` (a real day) or empty."""
    if text:
        parse_date(text)


def iban_or_empty(text):
    """A ``check``: an IBAN whose check digits hold, or empty."""
    if text and not iban_ok(text):
        raise ValueError("not a valid IBAN (check digits): %r" % text)


def digits(text):
    """A ``check``: digits only (a ZVT password, a terminal id)."""
    if not text.isdigit():
        raise ValueError("must be digits only, got %r" % text)


# --- settings changed on the terminal (the service console's `config set`) -------------------
#
# They live in ``<data_dir>/settings.json`` as ``{"log.level": "debug", ...}`` and are laid
# over the configuration file at boot. Keys that decide where things are (platform, board,
# data directory, master data and EMV files, devices) and the console users are set in the
# file only.

FIXED = (
    "platform",
    "board",
    "data_dir",
    "master",
    "emv_terminal",
    "emv_ca_keys",
    "acquirer",
    "devices",
    "console.users",
)


def settings_path(data_dir):
    return data_dir + "/settings.json"


def restored_master_path(data_dir):
    """Master data restored on the console; at boot it wins over the configured ``master``."""
    return data_dir + "/master.json"


def load_settings(data_dir):
    """The settings changed on the terminal (``{}`` if none); ConfigError if the file is not
    an object of ``"key": value`` (or not JSON)."""
    path = settings_path(data_dir)
    try:
        data = read_json(path)
    except ValueError as e:
        raise ConfigError(path, "is not JSON (%s)" % e)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, 'must be an object of "key": value, got %s' % json.dumps(data)[:40])
    return data


def field_at(path, schema=None):
    """The ``Field`` of a dotted ``path`` that may be set on the terminal, or ``ConfigError``."""
    schema = SCHEMA if schema is None else schema
    for fixed in FIXED:
        if path == fixed or path.startswith(fixed + "."):
            raise ConfigError(path, "is set in the configuration file, not on the terminal")
    field = None
    parts = path.split(".")
    for i, key in enumerate(parts):
        field = schema.get(key) if schema is not None else None
        if field is None:
            raise ConfigError(path, "no such setting")
        schema = field.schema if i < len(parts) - 1 else None
    if field.kind not in ("str", "int", "bool"):
        raise ConfigError(path, "is a group: set one of its keys")
    return field


def value_at(config, path):
    value = config
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise ConfigError(path, "no such setting")
        value = value[key]
    return value


def parse_value(field, text):
    """The typed value of ``text`` (as typed on the console) for ``field``."""
    if field.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError("must be an integer, got %r" % text)
    if field.kind == "bool":
        if text in ("true", "on", "yes", "1"):
            return True
        if text in ("false", "off", "no", "0"):
            return False
        raise ValueError("must be true or false, got %r" % text)
    return text


def with_settings(config, settings, schema=None):
    """``config`` with the flat ``settings`` laid over it, validated as a whole."""
    schema = SCHEMA if schema is None else schema
    if not isinstance(settings, dict):
        raise ConfigError("settings", 'must be an object of "key": value')
    out = dict(config)
    for path, value in settings.items():
        if not isinstance(path, str):
            raise ConfigError("settings", "keys are setting names, got %r" % (path,))
        field_at(path, schema)
        parts = path.split(".")
        node = out
        for key in parts[:-1]:
            node[key] = dict(node[key])
            node = node[key]
        node[parts[-1]] = value
    return validate(out, schema)


# The factory technician PIN 000000 (force_pin_change makes the technician replace it).
FACTORY_PIN = (
    "pbkdf2-sha256$2000$fac7041e5e7f00d5fac7041e5e7f00d5$"
    "155e1c9dd35327a3fb2d2b32ed3123613f9e1ddc6b66d69d6b8373b50b7811a4"
)

# The firmware's configuration. Every key has an embedded default, so a terminal (and
# `make sim`) starts with no file at all. Later subsystems add their sections here.
SCHEMA = {
    "platform": Field(
        "str", "sim", choices=("sim", "linux", "mpy"), doc="which driver family runs the peripherals"
    ),
    "board": Field("str", "boards/sim.json", doc="board file: which driver runs each device"),
    "devices": Field("dict", {}, doc="per-device settings over the board file's (ports, paths)"),
    "data_dir": Field("str", "out/ecr", doc="journal and state (make sim uses out/sim/data)"),
    "master": Field("str", "data/demo-master.json", doc="master data: articles, VAT, operators"),
    "emv_terminal": Field("str", "data/emv/terminal.json", doc="card payments: the AIDs accepted"),
    "emv_ca_keys": Field("str", "", doc="card payments: the CA key store (empty: no offline authentication)"),
    "operator_port": Field("int", 0, min=0, max=65535, doc="operator link on 127.0.0.1 (0: none)"),
    "operator_host": Field(
        "str", "127.0.0.1", doc="the operator link's address: loopback, or the guest's own on the QEMU target"
    ),
    "drawer_warn_s": Field("int", 30, min=5, max=600, doc="warn when the drawer stays open longer"),
    "tse": Field(
        "dict",
        schema={
            "backend": Field(
                "str",
                "card",
                choices=("card", "cloud", "shared"),
                doc="who signs: the microSD card, a cloud TSE, the store's shared TSE (at tse.cloud)",
            ),
            "setup": Field("bool", True, doc="take a new card (or cloud TSS) into service at boot"),
            "puk": Field("str", "123456", secret=True),
            "admin_pin": Field("str", "12345", secret=True),
            "time_admin_pin": Field("str", "54321", secret=True),
            "cloud": Field(
                "dict",
                schema={
                    "host": Field("str", "", doc="the cloud TSE's API host"),
                    "port": Field("int", 443, min=1, max=65535),
                    "ca": Field("str", "", doc="CA certificate checking the API (empty: plain HTTP)"),
                    "api_key": Field("str", "", doc="the API key of this register's account"),
                    "api_secret": Field("str", "", secret=True),
                    "tss_id": Field("str", "", doc="the TSS (UUID; empty: derived from the register serial)"),
                    "admin_pin": Field("str", "123456", min=6, secret=True, doc="the TSS's admin PIN"),
                    "timeout_ms": Field("int", 5000, min=500, max=60000, doc="per request"),
                    "retries": Field("int", 2, min=0, max=5, doc="a request with no answer is sent again"),
                    "wait_ms": Field("int", 800, min=0, max=10000, doc='"Bitte warten" on the display after'),
                },
            ),
        },
    ),
    "acquirer": Field(
        "dict",
        schema={
            "host": Field("str", "", doc="the acquirer's ISO 8583 host (empty: card payments offline only)"),
            "port": Field("int", 0, min=0, max=65535),
            "terminal_id": Field("str", "SECR0001", min=8, max=8, doc="DE 41"),
            "merchant_id": Field("str", "SMARTECR-SIM-01", min=15, max=15, doc="DE 42"),
            "timeout_ms": Field("int", 15000, min=1000, max=60000, doc="no answer: reversal, default codes"),
        },
    ),
    "zvt": Field(
        "dict",
        schema={
            "card": Field(
                "str",
                "integrated",
                choices=("integrated", "external"),
                doc="card payments: our EMV kernel, or the external ZVT terminal (device zvt_terminal)",
            ),
            "port": Field(
                "int", 0, min=0, max=65535, doc="our PT side for an external register (ZVT: 20007; 0: off)"
            ),
            "host": Field("str", "0.0.0.0", doc="the address our PT side listens on"),
            "password": Field(
                "str",
                "000000",
                min=6,
                max=6,
                check=digits,
                secret=True,
                doc="the password an external register sends",
            ),
            "tid": Field(
                "str",
                "52000001",
                min=8,
                max=8,
                check=digits,
                doc="our PT side's terminal id (BMP 29, eight digits)",
            ),
        },
    ),
    "wallet": Field(
        "dict",
        schema={
            "host": Field("str", "", doc="the wallet host (PSP) for QR payments (empty: none)"),
            "port": Field("int", 0, min=0, max=65535),
            "account": Field("str", "de.smartecr.pay", max=32, doc="merchant account id in our EMVCo code"),
            "iban": Field(
                "str", "", max=34, check=iban_or_empty, doc="IBAN for GiroCode transfers (empty: none)"
            ),
            "bic": Field("str", "", max=11),
            "wait_s": Field("int", 120, min=10, max=600, doc="how long a shown code waits for the phone"),
        },
    ),
    "digital": Field(
        "dict",
        schema={
            "host": Field("str", "", doc="the receipt server for digital receipts (empty: paper only)"),
            "port": Field("int", 0, min=0, max=65535),
            "token": Field("str", "", secret=True, doc="this register's token at the receipt server"),
            "base_url": Field("str", "", max=200, doc="the customer's URL before the receipt id"),
        },
    ),
    "store": Field(
        "dict",
        schema={
            "host": Field("str", "", doc="the store server (empty: none; console: store enrol)"),
            "port": Field("int", 0, min=0, max=65535),
            "token": Field("str", "", secret=True, doc="this register's token at the store server"),
            "ca": Field("str", "", doc="HTTPS: the CA certificate (PEM/DER) the server's is checked with"),
        },
    ),
    "elster": Field(
        "dict",
        schema={
            "acquired": Field("str", "2026-01-15", check=parse_date, doc="date the register was bought"),
            "in_service": Field(
                "str", "", check=date_or_empty, doc="date it went into service (empty: first record)"
            ),
            "decommissioned": Field("str", "", check=date_or_empty, doc="date it was taken out of service"),
            "reason": Field("str", "", max=100, doc="why it was taken out of service"),
            "bsi_id": Field("str", "BSI-K-TR-0000-0000", doc="the TSE's BSI certificate id"),
            "tse_kind": Field("int", 1, choices=(1, 2, 3), doc="1 SD card, 2 USB, 3 cloud"),
        },
    ),
    "console": Field(
        "dict",
        schema={
            "timeout_s": Field("int", 600, min=30, max=86400, doc="an idle console session is logged out"),
            "force_pin_change": Field("bool", True, doc="a factory PIN must be changed at first login"),
            "users": Field(
                "list",
                [{"name": "technician", "role": "technician", "pin": FACTORY_PIN}],
                min=1,
                max=16,
                item=Field(
                    "dict",
                    schema={
                        "name": Field("str", min=1, max=16),
                        "role": Field("str", choices=("technician", "read-only")),
                        "pin": Field("str", secret=True, doc="PBKDF2 hash (core.pin.hash_pin)"),
                    },
                ),
                doc="console users in the factory state (managers log in with master data)",
            ),
        },
    ),
    "log": Field(
        "dict",
        schema={
            "level": Field("str", "info", choices=("debug", "info", "warning", "error")),
            "ring": Field("int", 200, min=16, max=4096, doc="lines kept for `log tail`"),
        },
    ),
}

DEFAULTS = validate({}, SCHEMA)
