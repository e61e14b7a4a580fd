"""TLS client contexts on CPython through ``ssl`` (what MicroPython's ``tls`` is on a board;
``hal.platform.tls_client`` picks one)."""

import ssl


def client(ca_der):
    """Trusts the CA certificate ``ca_der`` only; the server's name (or IP address) checked."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_der)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
