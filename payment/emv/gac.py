"""GENERATE AC (EMV Book 3 §6.5.5, §9): the card's decision as a cryptogram. Device code,
sans-I/O.

    answer = yield from generate_ac(ARQC, cdol1, values)     # -> Cryptogram
    answer.kind, answer.atc, answer.ac, answer.fields

The command carries the CDOL's values (``payment.emv.dol``). The answer is format 1 (``80``:
CID, ATC (2), AC (8), then the issuer application data) or format 2 (``77`` with ``9F27``,
``9F36``, ``9F26``, optional ``9F10`` and, for CDA, ``9F4B`` in place of ``9F26``; what CDA's
transaction data hash covers is kept: the CDOL values sent and the answer's other objects).
The card may answer with a lower cryptogram than asked (an ARQC asked for may come back as an
AAC; a TC as an ARQC or AAC), never a higher one: that, or a CID that is no cryptogram type,
is a ``ProtocolError``.
"""

from core.errors import ProtocolError
from payment.emv import dol
from payment.emv.apdu import AAC, ARQC, TC, command
from payment.emv.apdu import generate_ac as gac_apdu
from payment.emv.tlv import encode, find, flatten, items

NAMES = {AAC: "AAC", TC: "TC", ARQC: "ARQC"}
# What the card may answer to each request (Book 3 Table 13); to the second GENERATE AC only
# a TC or an AAC.
ALLOWED = {AAC: (AAC,), ARQC: (ARQC, AAC), TC: (TC, ARQC, AAC)}
ALLOWED_SECOND = {AAC: (AAC,), TC: (TC, AAC)}


class Cryptogram:
    def __init__(self, cid, atc, ac, fields=None, unsigned=b""):
        self.cid = cid
        self.kind = cid & 0xC0
        self.atc = atc
        self.ac = ac
        self.fields = fields or {}  # every primitive of the answer, by tag
        self.unsigned = unsigned  # format 2: its data objects but the CDA signature (9F4B), as TLV
        self.sent = b""  # the CDOL values the command carried

    @property
    def name(self):
        return NAMES.get(self.kind, "RFU")


def parse(answer):
    """A ``Cryptogram`` from the GENERATE AC answer's data."""
    body = find(answer, (0x80,))
    if body is not None:
        if len(body) < 11:
            raise ProtocolError("GENERATE AC answer (format 1) has %d bytes, not at least 11" % len(body))
        fields = {0x9F27: body[0:1], 0x9F36: body[1:3], 0x9F26: body[3:11]}
        if len(body) > 11:
            fields[0x9F10] = body[11:]
        unsigned = b""
    else:
        template = find(answer, (0x77,))
        if template is None:
            raise ProtocolError("GENERATE AC answer is neither format 1 (80) nor format 2 (77)")
        fields = flatten(template)
        for tag in (0x9F27, 0x9F36):
            if tag not in fields:
                raise ProtocolError("GENERATE AC answer lacks %X" % tag)
        unsigned = b"".join(encode(t, v) for t, v in items(template) if t != 0x9F4B)
    cid, atc, ac = fields[0x9F27], fields[0x9F36], fields.get(0x9F26, b"")
    if len(cid) != 1 or len(atc) != 2 or (ac and len(ac) != 8):
        raise ProtocolError("GENERATE AC answer: CID, ATC or AC of the wrong length")
    return Cryptogram(cid[0], int.from_bytes(atc, "big"), ac, fields, unsigned)


def generate_ac(kind, cdol, values, cda=False, second=False):
    """The step: ask for ``kind`` with the CDOL's values; returns the ``Cryptogram``."""
    allowed = (ALLOWED_SECOND if second else ALLOWED).get(kind)
    if allowed is None:
        raise ValueError("the second GENERATE AC asks for a TC or an AAC")
    data = dol.build(dol.parse(cdol), values)
    answer = yield from command(gac_apdu(kind, data, cda), "GENERATE AC")
    result = parse(answer)
    result.sent = data
    if result.kind not in allowed:
        raise ProtocolError("asked for %s, the card answered %s" % (NAMES[kind], result.name))
    if not result.ac and 0x9F4B not in result.fields:
        raise ProtocolError("GENERATE AC answer has no cryptogram (9F26) and no signature (9F4B)")
    return result
