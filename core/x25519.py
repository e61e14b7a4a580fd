"""X25519 (RFC 7748) in plain integers (device code: MicroPython has no elliptic-curve library;
checked against ``cryptography``'s X25519 in tests/host/test_digital_crypto.py).

    secret = os.urandom(32)
    public = public_key(secret)                 # 32 bytes, little-endian u-coordinate
    shared = x25519(secret, their_public)       # the Diffie-Hellman secret, 32 bytes

The Montgomery ladder of RFC 7748 §5 over GF(2^255 - 19) with the scalar clamped; an all-zero
shared secret (a small-order public key) is a ``ValueError``, as §6.1 advises. The ladder is a
fixed sequence of 255 steps, but big-integer arithmetic is not constant time on either runtime:
this wraps receipt keys, it does not guard long-term secrets against local timing attacks.
"""

P = 2**255 - 19
A24 = 121665


def _scalar(k):
    if len(k) != 32:
        raise ValueError("an X25519 key is 32 bytes")
    b = bytearray(k)
    b[0] &= 248
    b[31] &= 127
    b[31] |= 64
    return int.from_bytes(bytes(b), "little")


def _u(u):
    if len(u) != 32:
        raise ValueError("an X25519 public key is 32 bytes")
    b = bytearray(u)
    b[31] &= 127
    return int.from_bytes(bytes(b), "little") % P


def x25519(k, u):
    k, x1 = _scalar(k), _u(u)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in range(254, -1, -1):
        bit = (k >> t) & 1
        if swap ^ bit:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % P, (x2 - z2) % P
        aa, bb = a * a % P, b * b % P
        e = (aa - bb) % P
        c, d = (x3 + z3) % P, (x3 - z3) % P
        da, cb = d * a % P, c * b % P
        x3 = (da + cb) % P
        x3 = x3 * x3 % P
        z3 = (da - cb) % P
        z3 = x1 * (z3 * z3 % P) % P
        x2 = aa * bb % P
        z2 = e * ((aa + A24 * e) % P) % P
    if swap:
        x2, z2 = x3, z3
    out = x2 * pow(z2, P - 2, P) % P
    if out == 0:
        raise ValueError("X25519: the shared secret is zero (a small-order public key)")
    return out.to_bytes(32, "little")


BASE = (9).to_bytes(32, "little")


def public_key(secret):
    return x25519(secret, BASE)
