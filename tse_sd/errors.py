"""Errors of the microSD TSE driver, one named exception per card status code.

    try:
        await client.start_transaction("KASSE-1")
    except NoTimeSet:
        await service.sync_time()
    except TseUnavailable:         # card pulled, I/O error, no answer: sell on, record the failure
        ...

``CardError`` subclasses carry the card's ``status`` (the 16-bit WORM error code of
TR-03151 SE-API implementations on Swissbit-style cards, ``0x1002`` NO_TIME_SET...).
``TseUnavailable`` means the card could not be reached at all; ``TseProtocolError`` that a
block on the wire made no sense (``by_peer`` tells whose fault).
"""

from core.errors import EcrError, who_broke


class TseError(EcrError):
    """Base of every TSE error. (MicroPython allows one exception base per class, so the
    TSE errors derive from this alone, not also from DeviceError or ProtocolError.)"""

    code = "tse"


class TseUnavailable(TseError):
    """The card is absent, removed, or does not answer. ``kind``: ``unreachable`` (the card's
    device or link cannot be opened), ``io`` (reading or writing it failed: pulled, or a
    dropped link), ``timeout`` (no answer in time)."""

    code = "tse_unavailable"

    def __init__(self, message, kind="io"):
        super().__init__(message)
        self.kind = kind


class TseProtocolError(TseError):
    """A mailbox block made no sense. ``by_peer``: the card sent it (else we were about to)."""

    code = "tse_protocol"

    def __init__(self, message, by_peer=True):
        super().__init__(who_broke(message, by_peer))
        self.by_peer = by_peer


class CardError(TseError):
    """The card executed the command and refused it with ``status``."""

    code = "tse_card"
    status = 0

    def __init__(self, message="", status=None):
        if status is not None:
            self.status = status
        name = _NAMES.get(self.status, "UNKNOWN")
        text = "TSE error 0x%04X %s" % (self.status, name)
        super().__init__(text + (": " + message if message else ""))
        self.name = name


class AuthenticationFailed(CardError):
    """Wrong PIN or PUK. ``retries`` is what the card says is left (None if it did not say)."""

    status = 0x1100
    retries = None


class PinBlocked(CardError):
    status = 0x1201


class UserNotLoggedIn(CardError):
    status = 0x1202


class NotAuthorized(CardError):
    status = 0x100F


class NoTimeSet(CardError):
    status = 0x1002


class TransactionNotStarted(CardError):
    status = 0x1008


class MaxParallelTransactions(CardError):
    status = 0x1009


class CertificateExpired(CardError):
    status = 0x100A


class SignaturesExceeded(CardError):
    status = 0x100E


class ClientNotRegistered(CardError):
    status = 0x1011


class MaxClientsReached(CardError):
    status = 0x1010


class ExportUnacknowledged(CardError):
    status = 0x1012


class ClientHasUnfinishedTransactions(CardError):
    status = 0x1013


class NoResponseToFetch(CardError):
    status = 0x1015


class StoreFull(CardError):
    status = 0x1017


class NeedsPukChange(CardError):
    status = 0x1050


class NeedsPinChange(CardError):
    status = 0x1051


class NeedsActiveCtss(CardError):
    status = 0x1053


class NeedsSelfTest(CardError):
    status = 0x1054


class NeedsSelfTestPassed(CardError):
    status = 0x1055


class AlreadyInitialized(CardError):
    status = 0x10FD


class Decommissioned(CardError):
    status = 0x10FE


class NotInitialized(CardError):
    status = 0x10FF


class SelfTestFailed(CardError):
    """0x1300 firmware, 0x1310 crypto service provider, 0x1320 random number generator."""

    status = 0x1300


_NAMES = {
    0x1001: "UNKNOWN",
    0x1002: "NO_TIME_SET",
    0x1004: "NO_TRANSACTION_IN_PROGRESS",
    0x1005: "INVALID_CMD_SYNTAX",
    0x1006: "NOT_ENOUGH_DATA_WRITTEN",
    0x1007: "TSE_INVALID_PARAMETER",
    0x1008: "TRANSACTION_NOT_STARTED",
    0x1009: "MAX_PARALLEL_TRANSACTIONS",
    0x100A: "CERTIFICATE_EXPIRED",
    0x100C: "NO_LAST_TRANSACTION",
    0x100D: "CMD_NOT_ALLOWED",
    0x100E: "TRANSACTION_SIGNATURES_EXCEEDED",
    0x100F: "NOT_AUTHORIZED",
    0x1010: "MAX_REGISTERED_CLIENTS_REACHED",
    0x1011: "CLIENT_NOT_REGISTERED",
    0x1012: "EXPORT_UNACKNOWLEDGED_DATA",
    0x1013: "CLIENT_HAS_UNFINISHED_TRANSACTIONS",
    0x1014: "TSE_HAS_UNFINISHED_TRANSACTIONS",
    0x1015: "TSE_NO_RESPONSE_TO_FETCH",
    0x1016: "NOT_ALLOWED_EXPORT_IN_PROGRESS",
    0x1017: "STORE_FULL",
    0x1050: "WRONG_STATE_NEEDS_PUK_CHANGE",
    0x1051: "WRONG_STATE_NEEDS_PIN_CHANGE",
    0x1053: "WRONG_STATE_NEEDS_ACTIVE_CTSS",
    0x1054: "NEEDS_SELF_TEST",
    0x1055: "NEEDS_SELF_TEST_PASSED",
    0x10FD: "ALREADY_INITIALIZED",
    0x10FE: "DECOMMISSIONED",
    0x10FF: "NOT_INITIALIZED",
    0x1100: "AUTHENTICATION_FAILED",
    0x1201: "PIN_BLOCKED",
    0x1202: "USER_NOT_LOGGED_IN",
    0x1300: "SELF_TEST_FAILED_FW",
    0x1310: "SELF_TEST_FAILED_CSP",
    0x1320: "SELF_TEST_FAILED_RNG",
    0x2001: "EXPORT_NONE_IN_PROGRESS",
    0x2002: "EXPORT_RETRY",
    0x2003: "EXPORT_NO_DATA_AVAILABLE",
    0xF000: "CMD_NOT_FOUND",
    0xFF00: "SIG_ERROR",
}

STATUS = {name: code for code, name in _NAMES.items()}  # WORM name -> status code

_CLASSES = {}
for _cls in (
    AuthenticationFailed,
    PinBlocked,
    UserNotLoggedIn,
    NotAuthorized,
    NoTimeSet,
    TransactionNotStarted,
    MaxParallelTransactions,
    CertificateExpired,
    SignaturesExceeded,
    ClientNotRegistered,
    MaxClientsReached,
    ExportUnacknowledged,
    ClientHasUnfinishedTransactions,
    NoResponseToFetch,
    StoreFull,
    NeedsPukChange,
    NeedsPinChange,
    NeedsActiveCtss,
    NeedsSelfTest,
    NeedsSelfTestPassed,
    AlreadyInitialized,
    Decommissioned,
    NotInitialized,
):
    _CLASSES[_cls.status] = _cls
for _status in (0x1300, 0x1310, 0x1320):
    _CLASSES[_status] = SelfTestFailed


def card_error(status, message=""):
    """The named exception for a card ``status`` (``CardError`` for codes without a class)."""
    return _CLASSES.get(status, CardError)(message, status)


def status_name(status):
    return _NAMES.get(status, "UNKNOWN")


_STATES = {
    NoTimeSet: "its time is not set",
    NeedsSelfTest: "its self-test is due",
    NeedsSelfTestPassed: "its self-test is due",
    SelfTestFailed: "its self-test failed",
    CertificateExpired: "its certificate has expired",
    StoreFull: "its store is full",
    SignaturesExceeded: "it has no signatures left",
    ClientNotRegistered: "this register is not registered on it",
    NotInitialized: "it is not set up",
    Decommissioned: "it is decommissioned",
    MaxParallelTransactions: "too many transactions are open on it",
}
_UNAVAILABLE = {
    "unreachable": "the card cannot be reached",
    "io": "the card was removed or cannot be read",
    "timeout": "the card does not answer",
}


def describe(error):
    """What a TSE error means, in a few words for the technician (the details are in the log)."""
    if isinstance(error, TseUnavailable):
        return _UNAVAILABLE.get(error.kind, "the card cannot be reached")
    if isinstance(error, TseProtocolError):
        return "the card's answer made no sense"
    for cls, text in _STATES.items():
        if isinstance(error, cls):
            return text
    if isinstance(error, CardError):
        return "the card refused (%s)" % error.name
    return str(error)
