"""HMAC-SHA256 (RFC 2104) and HKDF (RFC 5869) from ``hashlib`` (device code: MicroPython has no
``hmac``; checked against CPython's ``hmac`` and ``cryptography``'s HKDF in
tests/host/test_digital_crypto.py).

    tag = hmac_sha256(key, message)
    okm = hkdf(secret, salt=b"", info=b"what it is for", length=64)
    same(tag, expected)          # compared in time that does not depend on where they differ
"""

import hashlib

BLOCK = 64


def hmac_sha256(key, message):
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = bytes(key) + bytes(BLOCK - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(message)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return outer.digest()


def hkdf(secret, salt=b"", info=b"", length=32):
    if length > 255 * 32:
        raise ValueError("HKDF-SHA256 gives at most 8160 bytes")
    prk = hmac_sha256(salt or bytes(32), secret)
    out, block, n = b"", b"", 1
    while len(out) < length:
        block = hmac_sha256(prk, block + info + bytes((n,)))
        out += block
        n += 1
    return out[:length]


def same(a, b):
    if len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a, b):
        diff |= x ^ y
    return diff == 0
