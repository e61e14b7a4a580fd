"""PINs are stored only as salted PBKDF2-HMAC-SHA256 hashes (RFC 8018), on both runtimes.

    stored = hash_pin("1234")                    # 'pbkdf2-sha256$2000$<salt hex>$<hash hex>'
    check_pin("1234", stored)                    # True
    check_pin("9999", stored)                    # False

MicroPython has neither ``hmac`` nor ``hashlib.pbkdf2_hmac``, so both are written out here
with ``hashlib.sha256``; tests compare them with CPython's ``hashlib.pbkdf2_hmac`` and RFC 7914
vectors. The iteration count is stored with the hash, so it can be raised later without
invalidating old PINs. Comparison takes the same time whatever matches.
"""

import binascii
import hashlib
import os

from micropython import const

ITERATIONS = const(2000)  # a board's CPU verifies a PIN in well under a second
_BLOCK = const(64)


def pbkdf2_sha256(password, salt, iterations, length=32):
    if isinstance(password, str):
        password = password.encode()
    if len(password) > _BLOCK:
        password = hashlib.sha256(password).digest()
    key = password + bytes(_BLOCK - len(password))
    inner = bytes(b ^ 0x36 for b in key)
    outer = bytes(b ^ 0x5C for b in key)

    def prf(msg):
        return hashlib.sha256(outer + hashlib.sha256(inner + msg).digest()).digest()

    out = b""
    block = 1
    while len(out) < length:
        u = prf(salt + block.to_bytes(4, "big"))
        t = int.from_bytes(u, "big")
        for _ in range(iterations - 1):
            u = prf(u)
            t ^= int.from_bytes(u, "big")
        out += t.to_bytes(32, "big")
        block += 1
    return out[:length]


def hash_pin(pin, iterations=ITERATIONS, salt=None):
    if not isinstance(pin, str) or not pin:
        raise ValueError("a PIN is a non-empty text")
    salt = salt if salt is not None else os.urandom(16)
    digest = pbkdf2_sha256(pin, salt, iterations)
    return "pbkdf2-sha256$%d$%s$%s" % (
        iterations,
        binascii.hexlify(salt).decode(),
        binascii.hexlify(digest).decode(),
    )


def check_pin(pin, stored):
    """Does ``pin`` match the stored hash? A malformed stored value never matches."""
    parts = stored.split("$") if isinstance(stored, str) else ()
    if len(parts) != 4 or parts[0] != "pbkdf2-sha256" or not isinstance(pin, str):
        return False
    try:
        iterations = int(parts[1])
        salt = binascii.unhexlify(parts[2])
        expected = binascii.unhexlify(parts[3])
    except ValueError:
        return False
    got = pbkdf2_sha256(pin, salt, iterations, len(expected))
    diff = 0
    for x, y in zip(got, expected):
        diff |= x ^ y
    return diff == 0 and len(got) == len(expected)
