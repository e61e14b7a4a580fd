"""The simulator's EMV test PKI (host code): RSA keys from ``cryptography`` and the Book 2
certificates a card carries — issuer (format 02), ICC (04), signed static data (03), signed
dynamic data (05) — made from the block layouts, apart from the terminal's reading of them.
TEST KEYS ONLY: nothing here is, or may stand in for, a payment scheme's key.

    ca = Key.generate(1408)                 # the simulator's test CA
    issuer = Key.generate(1024)
    cert, remainder = issuer_certificate(ca, issuer, "541333", "1230", b"\\x00\\x00\\x01")
    python -m tools.sim.emv_pki vectors     # prints the device tests' fixture module

Signing is the RSA private operation on ``6A | format | fields | SHA-1 | BC``, where the hash
also covers what the format adds after the fields (remainder and exponent, static data, the
terminal's dynamic data).
"""

import hashlib
import sys

from cryptography.hazmat.primitives.asymmetric import rsa


class Key:
    def __init__(self, private):
        numbers = private.private_numbers()
        self.d = numbers.d
        self.n = numbers.public_numbers.n
        self.e = numbers.public_numbers.e
        self.size = (self.n.bit_length() + 7) // 8

    @classmethod
    def generate(cls, bits, exponent=3):
        return cls(rsa.generate_private_key(public_exponent=exponent, key_size=bits))

    @property
    def modulus(self):
        return self.n.to_bytes(self.size, "big")

    @property
    def exponent(self):
        return b"\x03" if self.e == 3 else self.e.to_bytes(3, "big")

    def sign(self, fields, extra=b""):
        """The recoverable signature of ``fields`` (format byte first) with ``extra`` hashed."""
        block = b"\x6a" + fields + hashlib.sha1(fields + extra).digest() + b"\xbc"
        if len(block) != self.size:
            raise ValueError("fields of %d bytes do not fill a %d-byte block" % (len(fields), self.size))
        return pow(int.from_bytes(block, "big"), self.d, self.n).to_bytes(self.size, "big")


def _bcd_padded(digits, nbytes):
    text = digits + "F" * (2 * nbytes - len(digits))
    return bytes.fromhex(text)


def _split(key, room):
    """(leftmost field, remainder) of ``key``'s modulus in a certificate with ``room`` bytes."""
    modulus = key.modulus
    if len(modulus) <= room:
        return modulus + b"\xbb" * (room - len(modulus)), b""
    return modulus[:room], modulus[room:]


def _key_certificate(fmt, owner, owner_bytes, expiry, serial, key, room):
    """(fields, remainder) of a key certificate: format, owner (BCD, F-padded), expiry MMYY,
    serial, SHA-1 and RSA indicators, key and exponent lengths, the key's leftmost bytes."""
    leftmost, remainder = _split(key, room)
    head = b"%c" % fmt + _bcd_padded(owner, owner_bytes) + bytes.fromhex(expiry) + serial + b"\x01\x01"
    return head + bytes((key.size, len(key.exponent))) + leftmost, remainder


def issuer_certificate(ca, issuer, issuer_id, expiry, serial):
    """Tag 90 (and the remainder, tag 92) for ``issuer``, signed by ``ca``; ``issuer_id`` the
    PAN's leading digits, ``expiry`` MMYY."""
    fields, remainder = _key_certificate(2, issuer_id, 4, expiry, serial, issuer, ca.size - 36)
    return ca.sign(fields, remainder + issuer.exponent), remainder


def icc_certificate(issuer, icc, pan, expiry, serial, static):
    """Tag 9F46 (and the remainder, 9F48) for the card's key ``icc``, signed by ``issuer``."""
    fields, remainder = _key_certificate(4, pan, 10, expiry, serial, icc, issuer.size - 42)
    return issuer.sign(fields, remainder + icc.exponent + static), remainder


def signed_static_data(issuer, dac, static):
    """Tag 93: SDA's signature over the static data, with the data authentication code."""
    fields = b"\x03\x01" + dac + b"\xbb" * (issuer.size - 26)
    return issuer.sign(fields, static)


def signed_dynamic_data(icc, icc_number, terminal_data):
    """Tag 9F4B (INTERNAL AUTHENTICATE's answer): DDA's signature over the ICC dynamic number
    and the terminal's DDOL data."""
    dynamic = bytes((len(icc_number),)) + icc_number
    fields = b"\x05\x01" + bytes((len(dynamic),)) + dynamic + b"\xbb" * (icc.size - len(dynamic) - 25)
    return icc.sign(fields, terminal_data)


def cda_signature(icc, icc_number, cid, ac, transaction_data, un):
    """Tag 9F4B of a GENERATE AC answer (CDA, Book 2 §6.6): the ICC dynamic number, the CID,
    the AC and the hash of the transaction data, signed with the terminal's unpredictable
    number."""
    dynamic = (
        bytes((len(icc_number),)) + icc_number + bytes((cid,)) + ac + hashlib.sha1(transaction_data).digest()
    )
    fields = b"\x05\x01" + bytes((len(dynamic),)) + dynamic + b"\xbb" * (icc.size - len(dynamic) - 25)
    return icc.sign(fields, un)


def chain(ca_bits=1408, issuer_bits=1152, icc_bits=1024):
    """A CA, an issuer and a card key of these sizes, each certificate, the static data and
    a DDA signature: ``{name: bytes or str}`` (the names of the device tests' fixture)."""
    ca, issuer, icc = Key.generate(ca_bits), Key.generate(issuer_bits), Key.generate(icc_bits)
    pan = "5413330089010434"
    record = bytes.fromhex("5A0854133300890104345F24032912315F25032501018E0A00000000000000001F00")
    static, static_cda = record + b"\x38\x80", record + b"\x39\x80"  # AIP: DDA; DDA and CDA
    cert90, rem92 = issuer_certificate(ca, issuer, "541333", "1230", b"\x00\x00\x01")
    cert9f46, rem9f48 = icc_certificate(issuer, icc, pan, "1229", b"\x00\x00\x02", static)
    cert_cda, rem_cda = icc_certificate(issuer, icc, pan, "1229", b"\x00\x00\x03", static_cda)
    un = bytes.fromhex("01020304")
    out = {
        "CA_MODULUS": ca.modulus,
        "CA_EXPONENT": ca.exponent,
        "PAN": pan,
        "STATIC": static,
        "CERT_90": cert90,
        "REMAINDER_92": rem92,
        "EXPONENT_9F32": issuer.exponent,
        "ISSUER_MODULUS": issuer.modulus,
        "CERT_9F46": cert9f46,
        "REMAINDER_9F48": rem9f48,
        "EXPONENT_9F47": icc.exponent,
        "ICC_MODULUS": icc.modulus,
        "SSAD_93": signed_static_data(issuer, b"\xda\xc1", static),
        "DDOL_DATA": un,
        "SDAD_9F4B": signed_dynamic_data(icc, bytes.fromhex("1122334455667788"), un),
        "STATIC_CDA": static_cda,
        "CERT_9F46_CDA": cert_cda,
        "REMAINDER_9F48_CDA": rem_cda,
        "ICC_D": icc.d.to_bytes(icc.size, "big"),  # the TEST card's private key: the scripted card signs CDA
    }
    return out


def vectors():
    """The device tests' fixture (tests/device/oda_vectors.py) as Python source."""
    out = chain()
    lines = [
        '"""ODA test vectors made by tools/sim/emv_pki.py (python -m tools.sim.emv_pki vectors):',
        "a TEST CA (1408 bits), issuer (1152) and card (1024) key, and each certificate (the card's",
        'for AIP 3880, DDA, and 3980, DDA and CDA). Test keys only; regenerate, never edit."""',
        "",
    ]
    for name, value in out.items():
        if isinstance(value, str):
            lines.append('%s = "%s"' % (name, value))
        else:
            text = value.hex().upper()
            lines.append("%s = bytes.fromhex(" % name)
            lines.extend('    "%s"' % text[i : i + 80] for i in range(0, len(text), 80))
            lines.append(")")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["vectors"]:
        print("usage: python -m tools.sim.emv_pki vectors", file=sys.stderr)
        sys.exit(2)
    sys.stdout.write(vectors())
