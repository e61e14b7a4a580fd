"""Exception base of the firmware: every error we raise carries a stable ``code``.

Codes are short lower-case strings that the console's machine mode, logs and tests can
match on; messages are for people. Packages define their own error modules that subclass
``EcrError`` (``tse_sd.errors``, ``payment.errors``...). MicroPython allows only one
exception base per class ("multiple bases have instance lay-out conflict"), so a package
error never derives from two of these at once. Built-in exceptions keep their meaning:
``ValueError`` for a bad argument from our own code, ``OSError`` for I/O.

    from core.errors import ConfigError
    raise ConfigError("log.level", "must be one of debug, info, warning, error")
"""


class EcrError(Exception):
    """Base of all smartECR errors. ``code`` names the kind of failure."""

    code = "error"

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self):
        return self.message


class ConfigError(EcrError):
    """Configuration that is missing, malformed or out of range.

    ``path`` names the key (``log.level``; empty for the whole document), ``detail`` says
    what was expected and what was found.
    """

    code = "config"

    def __init__(self, path, detail):
        super().__init__((path + ": " + detail) if path else detail)
        self.path = path
        self.detail = detail


class ProtocolError(EcrError):
    """A wire protocol was broken. ``by_peer`` tells who broke it.

    ``by_peer=True``: the device or remote side sent something the protocol does not allow
    (a malformed frame, an impossible length). ``by_peer=False``: we were about to send
    something invalid, a bug on our side.
    """

    code = "protocol"

    def __init__(self, message, by_peer=True):
        super().__init__(who_broke(message, by_peer))
        self.by_peer = by_peer


def who_broke(message, by_peer):
    """``message`` prefixed with the side that broke a protocol: ``peer:`` or ``local:``."""
    return ("peer: " if by_peer else "local: ") + message


class DeviceError(EcrError):
    """A peripheral is absent, offline or failed; the sale must go on without it."""

    code = "device"


class ExportError(EcrError):
    """An export could not be made or did not pass its check; nothing was deleted."""

    code = "export"
