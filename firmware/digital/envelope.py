"""Sealing a receipt for the customer (device code): authenticated encryption with a random
per-receipt key, and that key wrapped to a loyalty account's X25519 public key.

    key = os.urandom(32)                 # the receipt's key: in the URL's fragment, never sent
    blob = seal(key, document_bytes)     # what the receipt server stores
    open_sealed(key, blob)               # the document again; ValueError if anything changed
    wrapped = wrap(key, account_public)  # for a known customer: the key, sealed to the account
    unwrap(account_secret, wrapped)      # the key again (the customer's page does this)

A sealed blob is ``01 | IV (16) | AES-256-CBC ciphertext (PKCS#7) | HMAC-SHA256 tag (32)``,
encrypt-then-MAC, the tag over everything before it. The AES and HMAC keys are HKDF-SHA256 of the
receipt key (empty salt, info ``smartECR receipt v1``: 64 bytes, the first 32 for AES, the rest for
HMAC), so the browser's WebCrypto (AES-CBC, HMAC, HKDF) opens it without a library. A wrapped key
is ``02 | ephemeral X25519 public key (32) | seal(HKDF(shared, salt = ephemeral || account
public, info "smartECR key wrap v1"), key)``. The tag is checked before anything is decrypted.
"""

import os

from core.kdf import hkdf, hmac_sha256, same
from core.x25519 import public_key, x25519
from hal.platform import aes_cbc

SEALED, WRAPPED = 1, 2
INFO = b"smartECR receipt v1"
WRAP_INFO = b"smartECR key wrap v1"


def _keys(key, salt=b"", info=INFO):
    if len(key) != 32:
        raise ValueError("a receipt key is 32 bytes")
    okm = hkdf(key, salt, info, 64)
    return okm[:32], okm[32:]


def _pad(data):
    n = 16 - len(data) % 16
    return bytes(data) + bytes((n,)) * n


def _unpad(data):
    n = data[-1] if data else 0
    if not 1 <= n <= 16 or data[-n:] != bytes((n,)) * n:
        raise ValueError("sealed receipt: bad padding")
    return data[:-n]


def seal(key, plaintext, iv=None, _keyset=None):
    enc, mac = _keyset or _keys(key)
    iv = iv or os.urandom(16)
    body = bytes((SEALED,)) + iv + aes_cbc(enc, iv, _pad(plaintext))
    return body + hmac_sha256(mac, body)


def open_sealed(key, blob, _keyset=None):
    if len(blob) < 1 + 16 + 16 + 32 or blob[0] != SEALED or (len(blob) - 49) % 16:
        raise ValueError("not a sealed receipt")
    enc, mac = _keyset or _keys(key)
    body, tag = blob[:-32], blob[-32:]
    if not same(hmac_sha256(mac, body), tag):
        raise ValueError("sealed receipt: the tag does not match (altered, or the wrong key)")
    return _unpad(aes_cbc(enc, body[1:17], body[17:], decrypt=True))


def wrap(key, account_public, ephemeral=None):
    ephemeral = ephemeral or os.urandom(32)
    mine = public_key(ephemeral)
    shared = x25519(ephemeral, account_public)
    keyset = _keys(shared, mine + account_public, WRAP_INFO)
    return bytes((WRAPPED,)) + mine + seal(None, key, None, keyset)


def unwrap(account_secret, wrapped):
    if len(wrapped) < 33 or wrapped[0] != WRAPPED:
        raise ValueError("not a wrapped receipt key")
    theirs = wrapped[1:33]
    shared = x25519(account_secret, theirs)
    keyset = _keys(shared, theirs + public_key(account_secret), WRAP_INFO)
    return open_sealed(None, wrapped[33:], keyset)
