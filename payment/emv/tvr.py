"""Terminal Verification Results (``95``) and Transaction Status Information (``9B``), bit for
bit as EMV Book 3 Annex C5/C6 defines them (device code).

    tvr = Tvr()
    tvr.set(EXPIRED)                  # (byte index, mask) constants below
    tvr.has(EXPIRED); tvr.value       # 5 bytes for DOLs and the journal
    tsi = Tsi(); tsi.set(CVM_PERFORMED)

Each constant is ``(byte, mask)`` with byte 0 the first (leftmost) byte.
"""

# TVR byte 1
ODA_NOT_PERFORMED = (0, 0x80)
SDA_FAILED = (0, 0x40)
ICC_DATA_MISSING = (0, 0x20)
ON_EXCEPTION_FILE = (0, 0x10)
DDA_FAILED = (0, 0x08)
CDA_FAILED = (0, 0x04)
SDA_SELECTED = (0, 0x02)
# TVR byte 2
DIFFERENT_VERSIONS = (1, 0x80)
EXPIRED = (1, 0x40)
NOT_YET_EFFECTIVE = (1, 0x20)
SERVICE_NOT_ALLOWED = (1, 0x10)
NEW_CARD = (1, 0x08)
# TVR byte 3
CVM_FAILED = (2, 0x80)
UNRECOGNISED_CVM = (2, 0x40)
PIN_TRY_LIMIT_EXCEEDED = (2, 0x20)
PIN_PAD_MISSING = (2, 0x10)
PIN_NOT_ENTERED = (2, 0x08)
ONLINE_PIN_ENTERED = (2, 0x04)
# TVR byte 4
FLOOR_LIMIT_EXCEEDED = (3, 0x80)
LOWER_OFFLINE_LIMIT_EXCEEDED = (3, 0x40)
UPPER_OFFLINE_LIMIT_EXCEEDED = (3, 0x20)
RANDOM_ONLINE = (3, 0x10)
MERCHANT_FORCED_ONLINE = (3, 0x08)
# TVR byte 5
DEFAULT_TDOL_USED = (4, 0x80)
ISSUER_AUTH_FAILED = (4, 0x40)
SCRIPT_FAILED_BEFORE = (4, 0x20)
SCRIPT_FAILED_AFTER = (4, 0x10)

# TSI byte 1
ODA_PERFORMED = (0, 0x80)
CVM_PERFORMED = (0, 0x40)
CARD_RISK_PERFORMED = (0, 0x20)
ISSUER_AUTH_PERFORMED = (0, 0x10)
TERMINAL_RISK_PERFORMED = (0, 0x08)
SCRIPT_PERFORMED = (0, 0x04)


class Bits:
    """A fixed number of bytes whose named bits are set one by one."""

    size = 0

    def __init__(self, value=None):
        self._b = bytearray(value if value is not None else self.size)
        if len(self._b) != self.size:
            raise ValueError("%s has %d bytes, not %d" % (type(self).__name__, self.size, len(self._b)))

    def set(self, bit):
        self._b[bit[0]] |= bit[1]

    def has(self, bit):
        return bool(self._b[bit[0]] & bit[1])

    @property
    def value(self):
        return bytes(self._b)

    def matches(self, mask):
        """Whether any bit set here is also set in ``mask`` (an IAC or TAC, 5 bytes)."""
        return any(a & b for a, b in zip(self._b, mask))


class Tvr(Bits):
    size = 5


class Tsi(Bits):
    size = 2
