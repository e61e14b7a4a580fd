"""The EMV command APDUs, their status words, and one exchange with a card (device code).

    apdu = select(b"2PAY.SYS.DDF01")             # 00 A4 04 00 0E ... 00
    data, sw = yield from exchange(apdu)        # in a kernel step: T=0 answers (61xx, 6Cxx) followed
    fci = yield from command(apdu, "SELECT PPSE")   # 9000 or CardRefused

The kernel is sans-I/O: its steps are generators that ``yield Transmit(apdu)`` and are resumed
with the card's R-APDU, so a test feeds them R-APDUs and ``payment.emv.runner`` feeds them a
card reader's.

Every command that sends data also sends Le ``00`` (case 4): some readers and T=1 paths answer
``6700`` to a case-4 command without it. ``exchange`` follows the two T=0 procedure answers as
EMV Book 1 §9.3 asks: ``61xx`` (more data: GET RESPONSE with Le ``xx``, again while it says
so) and ``6Cxx`` (wrong Le: the same command again with Le ``xx``), so the caller sees the
whole answer and the final status on either protocol.
"""

from core.errors import ProtocolError
from hal.cardreader import check_rapdu

OK = 0x9000
MAX_RESPONSES = 16  # GET RESPONSE rounds before a card that never stops is given up on

# What a status word means to the one who reads the log (ISO 7816-4, EMV Book 3 Annex...).
MEANINGS = {
    0x6283: "selected file invalidated (application blocked)",
    0x6300: "authentication failed",
    0x6581: "memory failure",
    0x6700: "wrong length",
    0x6983: "authentication method blocked",
    0x6984: "referenced data invalidated",
    0x6985: "conditions of use not satisfied",
    0x6A81: "function not supported (card or application blocked)",
    0x6A82: "file or application not found",
    0x6A83: "record not found",
    0x6A86: "incorrect P1 P2",
    0x6A88: "referenced data not found",
    0x6D00: "instruction not supported",
    0x6E00: "class not supported",
}


def meaning(sw):
    """``"6A82 file or application not found"``; ``63Cx`` says how many PIN tries are left."""
    if sw & 0xFFF0 == 0x63C0:
        return "%04X wrong PIN, %d tries left" % (sw, sw & 0x0F)
    text = MEANINGS.get(sw)
    return "%04X %s" % (sw, text) if text else "%04X" % sw


class CardRefused(ProtocolError):
    """The card answered a command with a status word other than 9000."""

    def __init__(self, what, sw):
        ProtocolError.__init__(self, "card refused %s: %s" % (what, meaning(sw)))
        self.what = what
        self.sw = sw


def _case4(header, data):
    if not 1 <= len(data) <= 255:
        raise ValueError("a command carries 1..255 data bytes, not %d" % len(data))
    return header + bytes((len(data),)) + bytes(data) + b"\x00"


def select(name, next_one=False):
    """SELECT by DF name (an AID, ``1PAY.SYS.DDF01``, ``2PAY.SYS.DDF01``); ``next_one`` asks
    for the next application whose name starts with ``name`` (P2 ``02``)."""
    return _case4(b"\x00\xa4\x04" + (b"\x02" if next_one else b"\x00"), name)


def read_record(sfi, record):
    if not 1 <= sfi <= 30 or not 1 <= record <= 255:
        raise ValueError("READ RECORD takes SFI 1..30 and record 1..255")
    return bytes((0x00, 0xB2, record, (sfi << 3) | 0x04, 0x00))


def get_processing_options(pdol_data=b""):
    """GPO with the PDOL's values wrapped in tag 83 (``83 00`` when the card has no PDOL)."""
    if len(pdol_data) > 253:
        raise ValueError("PDOL data too long (%d bytes)" % len(pdol_data))
    return _case4(b"\x80\xa8\x00\x00", b"\x83" + bytes((len(pdol_data),)) + bytes(pdol_data))


def get_data(tag):
    """GET DATA for a two-byte tag (9F36 ATC, 9F13 last online ATC, 9F17 PIN try counter)."""
    return bytes((0x80, 0xCA, tag >> 8, tag & 0xFF, 0x00))


def verify(pin_block, enciphered=False):
    """VERIFY: a plaintext PIN block (P2 ``80``) or one enciphered for the card (``88``)."""
    return _case4(b"\x00\x20\x00" + (b"\x88" if enciphered else b"\x80"), pin_block)[:-1]


def get_challenge():
    return b"\x00\x84\x00\x00\x00"


def internal_authenticate(ddol_data):
    return _case4(b"\x00\x88\x00\x00", ddol_data)


AAC = 0x00
TC = 0x40
ARQC = 0x80
CDA = 0x10


def generate_ac(kind, cdol_data, cda=False):
    """GENERATE AC asking for ``AAC``, ``TC`` or ``ARQC``, with a CDA signature if ``cda``."""
    if kind not in (AAC, TC, ARQC):
        raise ValueError("GENERATE AC asks for AAC, TC or ARQC")
    return _case4(bytes((0x80, 0xAE, kind | (CDA if cda else 0), 0x00)), cdol_data)


def external_authenticate(issuer_data):
    """EXTERNAL AUTHENTICATE with the issuer authentication data (tag 91), 8..16 bytes."""
    if not 8 <= len(issuer_data) <= 16:
        raise ValueError("issuer authentication data is 8..16 bytes, not %d" % len(issuer_data))
    return _case4(b"\x00\x82\x00\x00", issuer_data)[:-1]


def get_response(le):
    return bytes((0x00, 0xC0, 0x00, 0x00, le))


class Transmit:
    """What a kernel step asks for: send ``apdu`` to the card; the step is resumed with the
    R-APDU (``rapdu = yield Transmit(apdu)``). ``payment.emv.runner`` does the sending."""

    def __init__(self, apdu):
        self.apdu = apdu


def _sw(rapdu):
    check_rapdu(rapdu)
    return (rapdu[-2] << 8) | rapdu[-1]


def exchange(apdu):
    """A step (``data, sw = yield from exchange(apdu)``): the T=0 procedure answers followed."""
    rapdu = yield Transmit(apdu)
    sw = _sw(rapdu)
    if sw >> 8 == 0x6C:  # wrong Le: the same command with the length the card has
        rapdu = yield Transmit(bytes(apdu[:-1]) + bytes((sw & 0xFF,)))
        sw = _sw(rapdu)
    data = bytes(rapdu[:-2])
    rounds = 0
    while sw >> 8 == 0x61:
        rounds += 1
        if rounds > MAX_RESPONSES:
            raise ProtocolError("card keeps answering 61xx after %d GET RESPONSEs" % MAX_RESPONSES)
        rapdu = yield Transmit(get_response(sw & 0xFF))
        sw = _sw(rapdu)
        data += bytes(rapdu[:-2])
    return data, sw


def command(apdu, what):
    """A step that wants 9000: its value is the data, else it raises ``CardRefused``."""
    data, sw = yield from exchange(apdu)
    if sw != OK:
        raise CardRefused(what, sw)
    return data
