"""JSON configuration: embedded defaults, a schema, validation with clear errors.

    cfg = load("config.json")          # file values over the embedded defaults, validated
    cfg["platform"]                    # 'sim'
    cfg["log"]["level"]                # 'info'
    show = masked(cfg)                 # secrets replaced by '***' for the console

A schema is a dict of key -> ``Field``. Validation walks the data once and returns a new
dict with every default filled in; the first problem raises ``ConfigError`` whose ``path``
names the key (``log.level``) and whose message says what was expected and what was found.
Unknown keys are errors too: a misspelt key must not silently fall back to a default.
Nothing is changed on error: callers keep their old configuration until a new one
validated completely.
"""

import json

from firmware.errors import ConfigError
from hal.clock import parse_date
from hal.storage import read_json

_REQUIRED = object()
_KINDS = {"str": str, "int": int, "bool": bool, "dict": dict, "list": list}


class Field:
    """One configuration key.

    ``kind``: ``str``, ``int``, ``bool``, ``dict`` (with ``schema``) or ``list`` (with ``item``,
    a Field for each element). ``default`` makes the key optional. ``choices``, ``min``/``max``
    (numbers; lengths for str and list) restrict values. ``check(value)`` is a further rule
    (``ValueError`` with what is wrong). ``secret`` masks the value in ``masked``.
    """

    def __init__(
        self,
        kind,
        default=_REQUIRED,
        choices=None,
        min=None,
        max=None,
        schema=None,
        item=None,
        secret=False,
        doc="",
        check=None,
    ):
        if kind not in _KINDS:
            raise ValueError("unknown field kind %r" % (kind,))
        self.kind = kind
        self.default = default
        self.choices = choices
        self.min = min
        self.max = max
        self.schema = schema
        self.item = item
        self.secret = secret
        self.doc = doc
        self.check = check


def _join(path, key):
    return (path + "." + key) if path else key


def check(field, value, path):
    """``value`` checked against ``field`` (kind, choices, range); errors name ``path``."""
    kind = field.kind
    ok = isinstance(value, _KINDS[kind])
    if kind == "int" and isinstance(value, bool):
        ok = False
    if not ok:
        raise ConfigError(path, "must be %s, got %s" % (_article(kind), json.dumps(value)))
    if kind == "dict":
        if field.schema is None:  # free-form: checked by its owner (board device overrides)
            return dict(value)
        return validate(value, field.schema, path)
    if kind == "list":
        _check_range(field, len(value), path, " entries")
        return [check(field.item, v, path + "[" + str(i) + "]") for i, v in enumerate(value)]
    if field.choices is not None and value not in field.choices:
        raise ConfigError(path, "must be one of %s, got %s" % (", ".join(field.choices), json.dumps(value)))
    if kind == "int":
        _check_range(field, value, path, "")
    elif kind == "str":
        _check_range(field, len(value), path, " characters")
    if field.check is not None:
        try:
            field.check(value)
        except ValueError as e:
            raise ConfigError(path, str(e))
    return value


def date_or_empty(text):
    """A ``check``: ``YYYY-MM-DD`` (a real day) or empty."""
    if text:
        parse_date(text)


def _check_range(field, n, path, unit):
    if field.min is not None and n < field.min:
        raise ConfigError(path, "must be at least %d%s, got %d" % (field.min, unit, n))
    if field.max is not None and n > field.max:
        raise ConfigError(path, "must be at most %d%s, got %d" % (field.max, unit, n))


def _article(kind):
    return {
        "str": "a string",
        "int": "an integer",
        "bool": "true or false",
        "dict": "an object",
        "list": "a list",
    }[kind]


def validate(data, schema, path=""):
    """Return a validated copy of ``data`` with defaults filled in, or raise ``ConfigError``."""
    if not isinstance(data, dict):
        raise ConfigError(path, "must be an object, got %s" % json.dumps(data))
    for key in data:
        if key not in schema:
            raise ConfigError(_join(path, key), "unknown key (known: %s)" % ", ".join(sorted(schema)))
    out = {}
    for key in sorted(schema):
        field = schema[key]
        sub = _join(path, key)
        if key in data:
            out[key] = check(field, data[key], sub)
        elif field.kind == "dict" and field.schema is not None:
            out[key] = validate({}, field.schema, sub)
        elif field.default is _REQUIRED:
            raise ConfigError(sub, "is required")
        else:
            out[key] = field.default
    return out


def loads(text, schema=None):
    """Parse and validate configuration text (JSON)."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ConfigError("", "not valid JSON (%s)" % (e,))
    return validate(data, SCHEMA if schema is None else schema)


def load(path, schema=None):
    """Read, parse and validate a configuration file; errors name the file."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise ConfigError("", "cannot read %s: %s" % (path, e))
    try:
        return loads(text, schema)
    except ConfigError as e:
        raise ConfigError(path + ": " + e.path if e.path else path, e.detail)


def masked(config, schema=None):
    """A copy of a validated ``config`` with every secret value replaced by ``'***'``."""
    schema = SCHEMA if schema is None else schema
    out = {}
    for key, value in config.items():
        field = schema.get(key)
        if field is not None and field.secret:
            out[key] = "***"
        elif field is not None and field.kind == "dict" and field.schema is not None:
            out[key] = masked(value, field.schema)
        elif field is not None and field.kind == "list" and field.item.schema is not None:
            out[key] = [masked(v, field.item.schema) for v in value]
        else:
            out[key] = value
    return out


# --- settings changed on the terminal (the service console's `config set`) -------------------
#
# They live in ``<data_dir>/settings.json`` as ``{"log.level": "debug", ...}`` and are laid
# over the configuration file at boot. Keys that decide where things are (platform, board,
# data directory, master data file, devices) and the console users are set in the file only.

FIXED = ("platform", "board", "data_dir", "master", "devices", "console.users")


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
    "operator_port": Field("int", 0, min=0, max=65535, doc="operator link on 127.0.0.1 (0: none)"),
    "drawer_warn_s": Field("int", 30, min=5, max=600, doc="warn when the drawer stays open longer"),
    "tse": Field(
        "dict",
        schema={
            "setup": Field("bool", True, doc="take a new card into service at boot"),
            "puk": Field("str", "123456", secret=True),
            "admin_pin": Field("str", "12345", secret=True),
            "time_admin_pin": Field("str", "54321", secret=True),
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
                        "pin": Field("str", secret=True, doc="PBKDF2 hash (firmware.pin.hash_pin)"),
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
