"""The digital receipt's cryptography against ``cryptography`` (and CPython's ``hmac``): X25519
(RFC 7748 vectors and random keys), HMAC-SHA256 and HKDF, and the sealed receipt and the wrapped
key made on MicroPython opened here with ``cryptography`` alone, and the other way round."""

import hashlib
import hmac
import json
import os

import pytest
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from core.kdf import hkdf, hmac_sha256
from core.x25519 import public_key, x25519
from tools import upy


def _raw(public):
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_x25519_is_rfc_7748_and_cryptographys():
    k = bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
    u = bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
    assert x25519(k, u).hex() == "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
    for _ in range(20):
        a, b = X25519PrivateKey.generate(), X25519PrivateKey.generate()
        a_raw = a.private_bytes_raw()
        assert public_key(a_raw) == _raw(a.public_key())
        assert x25519(a_raw, _raw(b.public_key())) == b.exchange(a.public_key())
    with pytest.raises(ValueError, match="zero"):
        x25519(os.urandom(32), bytes(32))  # a small-order point


def test_hmac_and_hkdf_are_the_standard_ones():
    for n in (0, 1, 32, 64, 65, 200):
        key, msg = os.urandom(n), os.urandom(n * 3)
        assert hmac_sha256(key, msg) == hmac.new(key, msg, hashlib.sha256).digest()
    secret, salt, info = os.urandom(32), os.urandom(16), b"smartECR receipt v1"
    want = HKDF(hashes.SHA256(), 64, salt, info).derive(secret)
    assert hkdf(secret, salt, info, 64) == want
    assert hkdf(secret, b"", info, 64) == HKDF(hashes.SHA256(), 64, None, info).derive(secret)


def their_keys(key, salt=b"", info=b"smartECR receipt v1"):
    okm = HKDF(hashes.SHA256(), 64, salt or None, info).derive(key)
    return okm[:32], okm[32:]


def their_open(keys, blob):
    """Open a sealed receipt with ``cryptography`` alone (the format of firmware/digital/envelope.py)."""
    enc, mac = keys
    body, tag = blob[:-32], blob[-32:]
    assert blob[0] == 1 and hmac.compare_digest(hmac.new(mac, body, hashlib.sha256).digest(), tag)
    dec = Cipher(algorithms.AES(enc), modes.CBC(body[1:17])).decryptor()
    padded = dec.update(body[17:]) + dec.finalize()
    unpad = padding.PKCS7(128).unpadder()
    return unpad.update(padded) + unpad.finalize()


def their_seal(keys, plaintext):
    enc, mac = keys
    iv = os.urandom(16)
    pad = padding.PKCS7(128).padder()
    enc_ = Cipher(algorithms.AES(enc), modes.CBC(iv)).encryptor()
    body = b"\x01" + iv + enc_.update(pad.update(plaintext) + pad.finalize()) + enc_.finalize()
    return body + hmac.new(mac, body, hashlib.sha256).digest()


SCRIPT = """
import binascii, json, sys
from firmware.digital import envelope
job = json.loads(sys.stdin.read())
key = binascii.unhexlify(job["key"])
out = {"sealed": binascii.hexlify(envelope.seal(key, job["text"].encode())).decode()}
out["opened"] = envelope.open_sealed(key, binascii.unhexlify(job["theirs"])).decode()
out["wrapped"] = binascii.hexlify(envelope.wrap(key, binascii.unhexlify(job["account"]))).decode()
out["unwrapped"] = binascii.hexlify(envelope.unwrap(binascii.unhexlify(job["secret"]),
                                    binascii.unhexlify(job["their_wrap"]))).decode()
try:
    envelope.open_sealed(key, binascii.unhexlify(job["tampered"]))
    out["tampered"] = "opened"
except ValueError as e:
    out["tampered"] = str(e)
print(json.dumps(out))
"""


def _their_wrap(key, account_public):
    eph = X25519PrivateKey.generate()
    mine = _raw(eph.public_key())
    shared = eph.exchange(X25519PublicKey.from_public_bytes(account_public))
    return (
        b"\x02" + mine + their_seal(their_keys(shared, mine + account_public, b"smartECR key wrap v1"), key)
    )


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_sealed_on_the_device_opened_with_cryptography_and_back(runtime):
    import subprocess
    import sys

    key = os.urandom(32)
    text = "Mustermann Feinkost GmbH\nKaffee Crema 250 g  5,49\nSumme EUR 5,49\nÄÖÜ äöü ß €" * 8
    account = X25519PrivateKey.generate()  # the loyalty customer's key pair (in their page)
    device_account = X25519PrivateKey.generate()  # one whose secret the device holds, for unwrap
    theirs = their_seal(their_keys(key), b"from the host")
    tampered = bytearray(theirs)
    tampered[20] ^= 1
    job = {
        "key": key.hex(),
        "text": text,
        "theirs": theirs.hex(),
        "tampered": bytes(tampered).hex(),
        "account": _raw(account.public_key()).hex(),
        "secret": device_account.private_bytes_raw().hex(),
        "their_wrap": _their_wrap(key, _raw(device_account.public_key())).hex(),
    }
    argv, stdin = ["-c", SCRIPT], json.dumps(job)  # on stdin: a long argv crashes the unix port
    if runtime == "micropython":
        proc = upy.run(argv, input=stdin, capture_output=True, text=True)
    else:
        env = upy.env({"PYTHONPATH": str(upy.ROOT)})
        proc = subprocess.run(
            [sys.executable] + argv, input=stdin, capture_output=True, text=True, cwd=upy.ROOT, env=env
        )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert their_open(their_keys(key), bytes.fromhex(got["sealed"])).decode() == text
    assert got["opened"] == "from the host"
    assert "tag does not match" in got["tampered"]
    wrapped = bytes.fromhex(got["wrapped"])
    assert wrapped[0] == 2
    shared = account.exchange(X25519PublicKey.from_public_bytes(wrapped[1:33]))
    keys = their_keys(shared, wrapped[1:33] + _raw(account.public_key()), b"smartECR key wrap v1")
    assert their_open(keys, wrapped[33:]) == key
    assert bytes.fromhex(got["unwrapped"]) == key
