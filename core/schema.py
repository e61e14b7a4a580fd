"""A configuration schema engine: fields with kinds, defaults, ranges, further rules, secrets.

    schema = {"port": Field("int", 9100, min=1, max=65535), "pin": Field("str", secret=True)}
    cfg = validate({"port": 80}, schema)          # a new dict, every default filled in
    cfg = loads('{"port": 80}', schema)           # JSON text, the same checks
    show = masked(cfg, schema)                    # secrets replaced by '***'

A schema is a dict of key -> ``Field``. Validation walks the data once and returns a new
dict with every default filled in; the first problem raises ``ConfigError`` whose ``path``
names the key (``log.level``) and whose message says what was expected and what was found.
Unknown keys are errors too: a misspelt key must not silently fall back to a default.
Nothing is changed on error: callers keep their old configuration until a new one
validated completely. The firmware's own schema is ``firmware.config.SCHEMA``; a board's
device settings are checked with the same ``check`` (``hal.board``).
"""

import json

from core.errors import ConfigError

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


def loads(text, schema):
    """Parse and validate configuration text (JSON)."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ConfigError("", "not valid JSON (%s)" % (e,))
    return validate(data, schema)


def read_json(path, what):
    """The JSON data in ``path``; a file that cannot be read or parsed is ``ConfigError``
    naming the file and ``what`` it should have been."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(path, "cannot read %s: %s" % (what, e))


def load(path, schema):
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


def masked(config, schema):
    """A copy of a validated ``config`` with every secret value replaced by ``'***'``."""
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
