"""The card's key and certificates: brainpoolP384r1, ecdsa-plain-SHA384 signatures.

At "manufacture" a card gets its signing key and a chain root CA -> sub-CA -> TSE
certificate whose subject CN is the TSE serial in hex (the SHA-256 of the uncompressed
public point), as TTC's certificate checks expect (reference/TSE.md §1.4, §2).
"""

import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

CURVE = ec.BrainpoolP384R1
SCALAR_BYTES = 48
_ECDSA_SHA384 = ec.ECDSA(hashes.SHA384())


def public_point(key):
    """The uncompressed EC point ``04 || X || Y`` (97 bytes) of a key."""
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def key_hash(key_or_point):
    point = key_or_point if isinstance(key_or_point, bytes) else public_point(key_or_point)
    return hashlib.sha256(point).digest()


class Signer:
    """Signs with a card key: ``sign(dtbs)`` -> plain ``r || s`` (96 bytes)."""

    def __init__(self, key):
        self.key = key

    def sign(self, dtbs):
        r, s = decode_dss_signature(self.key.sign(dtbs, _ECDSA_SHA384))
        return r.to_bytes(SCALAR_BYTES, "big") + s.to_bytes(SCALAR_BYTES, "big")


def _name(cn):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smartECR TSE emulator"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        ]
    )


def _certificate(subject_key, subject_cn, issuer_key, issuer_cn, not_before, not_after, ca):
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject_cn))
        .issuer_name(_name(issuer_cn))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(issuer_key, hashes.SHA384())


def manufacture(now, valid_days):
    """A new card's ``(key, [tse_cert, sub_ca_cert, root_cert])``."""
    root_key = ec.generate_private_key(CURVE())
    sub_key = ec.generate_private_key(CURVE())
    key = ec.generate_private_key(CURVE())
    start = datetime.datetime.fromtimestamp(now - 86400, datetime.UTC)
    end = datetime.datetime.fromtimestamp(now + valid_days * 86400, datetime.UTC)
    ca_end = end + datetime.timedelta(days=365 * 5)
    root = _certificate(
        root_key,
        "smartECR Emulated TSE Root CA",
        root_key,
        "smartECR Emulated TSE Root CA",
        start,
        ca_end,
        ca=True,
    )
    sub = _certificate(
        sub_key,
        "smartECR Emulated TSE Sub CA",
        root_key,
        "smartECR Emulated TSE Root CA",
        start,
        ca_end,
        ca=True,
    )
    leaf = _certificate(
        key, key_hash(key).hex(), sub_key, "smartECR Emulated TSE Sub CA", start, end, ca=False
    )
    return key, [leaf, sub, root]


def save_key(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_key(pem):
    return serialization.load_pem_private_key(pem, None)
