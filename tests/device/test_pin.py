import sys

from support import raises

from core.pin import check_pin, hash_pin, pbkdf2_sha256


def test_rfc7914_vector():
    # RFC 7914 section 11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, dkLen=64
    out = pbkdf2_sha256(b"passwd", b"salt", 1, 64)
    assert out == bytes.fromhex(
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
    )


def test_matches_cpython_hashlib():
    if sys.implementation.name != "cpython":
        return  # the independent reference exists only on CPython
    import hashlib

    for pw, salt, n in ((b"1234", b"0123456789abcdef", 1000), (b"x" * 100, b"s", 3), (b"", b"salt", 2)):
        assert pbkdf2_sha256(pw, salt, n) == hashlib.pbkdf2_hmac("sha256", pw, salt, n)


def test_hash_and_check():
    stored = hash_pin("4711", iterations=50)
    assert stored.startswith("pbkdf2-sha256$50$") and "4711" not in stored
    assert check_pin("4711", stored)
    assert not check_pin("4712", stored)
    assert hash_pin("4711", iterations=50) != stored  # a new salt each time


def test_malformed_input():
    raises(ValueError, hash_pin, "")
    raises(ValueError, hash_pin, 1234)
    for bad in ("", "plain", "pbkdf2-sha256$x$00$00", "pbkdf2-sha256$1$zz$00", None):
        assert not check_pin("1", bad)
    assert not check_pin(1234, hash_pin("1234", iterations=1))
