"""Offline data authentication (EMV Book 2): the certificate chain from the payment scheme's CA
key to the card, and SDA and DDA on top of it. Device code: RSA "recovery" is the public-key
operation ``pow(cert, e, n)`` and the hash SHA-1, both on MicroPython.

    issuer = issuer_key(ca, card, pan_digits, today)        # CA key -> issuer key (format 02)
    icc = icc_key(issuer, card, static_data, pan_digits, today)   # issuer key -> ICC key (04)
    dac = check_sda(issuer, card, static_data)              # signed static data (03)
    idn = check_dda(icc, sdad, ddol_data)                   # signed dynamic data (05)
    idn, ac = check_cda(icc, sdad, un, cid, transaction_data)   # CDA: signed with GENERATE AC

A recovered block is ``6A | format | fields | hash (20) | BC``; the hash is SHA-1 over format
and fields, then what the format adds (the key's remainder and exponent for certificates, the
static data for SDA and ICC certificates, the terminal's DDOL data for DDA). Each check that
fails raises ``OdaFailed`` naming it: the kernel sets "SDA failed" or "DDA failed" in the TVR
and goes on, as Book 3 §10.3 asks.

``static_data(records, card)`` builds the data to be authenticated: the records the AFL
marks for ODA (SFI 1-10: the value inside ``70``; SFI 11-30: the whole record) and, when the
card's ``9F4A`` lists it, the AIP.
"""

import hashlib

from core.errors import ProtocolError
from payment.emv.dol import from_bcd
from payment.emv.tlv import read_length, read_tag


class OdaFailed(ProtocolError):
    pass


class PublicKey:
    def __init__(self, modulus, exponent):
        self.modulus = modulus  # bytes, big-endian
        self.exponent = exponent  # bytes
        self.n = int.from_bytes(modulus, "big")
        self.e = int.from_bytes(exponent, "big")

    def recover(self, block, what):
        if len(block) != len(self.modulus):
            raise OdaFailed("%s has %d bytes, the key %d" % (what, len(block), len(self.modulus)))
        x = int.from_bytes(block, "big")
        if x >= self.n:
            raise OdaFailed("%s is not below the key's modulus" % what)
        out = pow(x, self.e, self.n).to_bytes(len(self.modulus), "big")
        if out[0] != 0x6A or out[-1] != 0xBC:
            raise OdaFailed("%s does not recover to 6A...BC" % what)
        return out


def _hash_ok(recovered, extra, what):
    digest = hashlib.sha1(recovered[1:-21] + extra).digest()
    if digest != recovered[-21:-1]:
        raise OdaFailed("%s: hash does not match" % what)


def _expiry_ok(mmyy, today, what):
    """A certificate is good through the last day of its MMYY month."""
    mm, yy = from_bcd(mmyy[0:1]), from_bcd(mmyy[1:2])
    if not 1 <= mm <= 12:
        raise OdaFailed("%s: expiry month %d" % (what, mm))
    yyyy = 2000 + yy if yy < 50 else 1900 + yy
    if (yyyy, mm) < today[:2]:
        raise OdaFailed("%s expired %02d/%d" % (what, mm, yyyy))


def _pan_prefix_ok(field, pan_digits, what):
    hexdigits = "".join("%02X" % b for b in field).rstrip("F")
    if not hexdigits.isdigit() or not pan_digits.startswith(hexdigits):
        raise OdaFailed("%s is for another card (%s)" % (what, hexdigits))


def _key(recovered, head, remainder, exponent, what):
    """The public key in a certificate: its leftmost digits here, the rest in ``remainder``;
    its length and its exponent's length are the two bytes before ``head``."""
    key_len, exp_len = recovered[head - 2], recovered[head - 1]
    leftmost = recovered[head:-21]
    if key_len <= len(leftmost):
        modulus = leftmost[:key_len]
        if remainder or any(b != 0xBB for b in leftmost[key_len:]):
            raise OdaFailed("%s: a key that fits, but a remainder or padding other than BB" % what)
    else:
        modulus = leftmost + (remainder or b"")
        if len(modulus) != key_len:
            raise OdaFailed("%s: key of %d bytes, leftmost + remainder %d" % (what, key_len, len(modulus)))
    if exponent is None or len(exponent) != exp_len:
        raise OdaFailed("%s: exponent missing or of the wrong length" % what)
    return PublicKey(modulus, exponent)


def _certificate(signer, card, tags, fmt, head, what, extra=b""):
    """A key certificate recovered and hashed: (block, remainder, exponent). ``tags`` are the
    certificate's, the remainder's and the exponent's; the hash and key algorithm indicators
    are the four bytes before ``head``."""
    cert = card.get(tags[0])
    if cert is None:
        raise OdaFailed("%s (%X) missing" % (what, tags[0]))
    rec = signer.recover(cert, what)
    if rec[1] != fmt or rec[head - 4] != 0x01 or rec[head - 3] != 0x01:
        raise OdaFailed(
            "%s: format %02X, hash %02X, algorithm %02X" % (what, rec[1], rec[head - 4], rec[head - 3])
        )
    remainder, exponent = card.get(tags[1], b""), card.get(tags[2])
    _hash_ok(rec, remainder + (exponent or b"") + extra, what)
    return rec, remainder, exponent


def issuer_key(ca, card, pan_digits, today):
    """The issuer's public key from its certificate (``90``, ``92``, ``9F32``); ``today`` is
    (year, month, day)."""
    what = "issuer certificate"
    rec, remainder, exponent = _certificate(ca, card, (0x90, 0x92, 0x9F32), 0x02, 15, what)
    _pan_prefix_ok(rec[2:6], pan_digits, what)
    _expiry_ok(rec[6:8], today, what)
    return _key(rec, 15, remainder, exponent, what)


def icc_key(issuer, card, static, pan_digits, today):
    """The card's own public key from its certificate (``9F46``, ``9F48``, ``9F47``), whose
    hash also covers the static data."""
    what = "ICC certificate"
    rec, remainder, exponent = _certificate(issuer, card, (0x9F46, 0x9F48, 0x9F47), 0x04, 21, what, static)
    pan = "".join("%02X" % b for b in rec[2:12]).rstrip("F")
    if pan != pan_digits:
        raise OdaFailed("%s is for another card" % what)
    _expiry_ok(rec[12:14], today, what)
    return _key(rec, 21, remainder, exponent, what)


def check_sda(issuer, card, static):
    """SDA: the signed static application data (``93``); returns the data authentication code."""
    what = "signed static data"
    ssad = card.get(0x93)
    if ssad is None:
        raise OdaFailed("%s (93) missing" % what)
    rec = issuer.recover(ssad, what)
    if rec[1] != 0x03 or rec[2] != 0x01:
        raise OdaFailed("%s: format %02X, hash %02X" % (what, rec[1], rec[2]))
    _hash_ok(rec, static, what)
    return rec[3:5]


def _signed_dynamic(icc, sdad, terminal_data, what):
    """The recovered block of signed dynamic application data (format 05, SHA-1), its hash
    over the block and ``terminal_data`` checked: DDA's and CDA's common part."""
    rec = icc.recover(sdad, what)
    if rec[1] != 0x05 or rec[2] != 0x01:
        raise OdaFailed("%s: format %02X, hash %02X" % (what, rec[1], rec[2]))
    _hash_ok(rec, terminal_data, what)
    return rec


def check_dda(icc, sdad, ddol_data):
    """DDA: the signed dynamic application data from INTERNAL AUTHENTICATE; returns the ICC
    dynamic number."""
    what = "signed dynamic data"
    rec = _signed_dynamic(icc, sdad, ddol_data, what)
    dynamic_len = rec[3]
    if dynamic_len < 1 or 4 + dynamic_len > len(rec) - 21 or rec[4] + 1 > dynamic_len:
        raise OdaFailed("%s: ICC dynamic data of %d bytes" % (what, dynamic_len))
    return rec[5 : 5 + rec[4]]


def check_cda(icc, sdad, un, cid, transaction_data):
    """CDA (Book 2 §6.6.2): the signed dynamic application data of a GENERATE AC answer.
    ``un`` is the terminal's unpredictable number (the signature's hash covers it), ``cid`` the
    answer's 9F27, ``transaction_data`` the PDOL values, the CDOL values (CDOL1, and CDOL2 at
    the second) and the answer's data objects but 9F4B. Returns (ICC dynamic number, AC)."""
    what = "CDA signature"
    rec = _signed_dynamic(icc, sdad, un, what)
    size = rec[3]
    dynamic = rec[4 : 4 + size]
    n = dynamic[0] if dynamic else 0
    if size > len(rec) - 25 or not 2 <= n <= 8 or 1 + n + 1 + 8 + 20 > size:
        raise OdaFailed("%s: ICC dynamic data of %d bytes" % (what, size))
    if dynamic[1 + n] != cid:
        raise OdaFailed("%s: CID %02X, the answer's %02X" % (what, dynamic[1 + n], cid))
    if hashlib.sha1(transaction_data).digest() != dynamic[10 + n : 30 + n]:
        raise OdaFailed("%s: transaction data hash does not match" % what)
    return dynamic[1 : 1 + n], dynamic[2 + n : 10 + n]


def static_data(records, card):
    """The data to be authenticated. ``records`` are (sfi, R-APDU data) of the records the AFL
    marks for ODA, in the AFL's order."""
    out = bytearray()
    for sfi, record in records:
        if sfi <= 10:
            if not record or record[0] != 0x70:
                raise OdaFailed("record of SFI %d for ODA is not a 70 template" % sfi)
            _, i = read_tag(record, 0, len(record))
            length, i = read_length(record, i, len(record), 0x70)
            out += record[i : i + length]
        else:
            out += record
    tags = card.get(0x9F4A)
    if tags:
        if _tag_list(tags) != [0x82]:
            raise OdaFailed("static data tag list (9F4A) may hold only the AIP (82)")
        aip = card.get(0x82)
        if aip is None:
            raise OdaFailed("AIP missing for the static data")
        out += aip
    return bytes(out)


def _tag_list(data):
    out = []
    i, n = 0, len(data)
    while i < n:
        tag, i = read_tag(data, i, n)
        out.append(tag)
    return out
