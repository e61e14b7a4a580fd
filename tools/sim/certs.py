"""Test certificates for the simulator's TLS servers (host code): a test CA the terminals are
told to trust, and a server certificate it signed for the addresses the terminals use
(127.0.0.1 on the host, 10.0.2.2 from the QEMU guest). Made once per folder with
``cryptography``; never a real CA.

    ca, cert, key = sim_tls("out/sim/store/tls")      # paths of PEM files
"""

import datetime
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOSTS = ("127.0.0.1", "10.0.2.2")


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(path, data):
    with open(path, "wb") as f:
        f.write(data)


def sim_tls(folder, hosts=HOSTS, days=365):
    """``(CA certificate, server certificate, server key)`` PEM paths under ``folder``."""
    paths = tuple(os.path.join(folder, n) for n in ("ca.pem", "server.pem", "server.key"))
    if all(os.path.exists(p) for p in paths):
        return paths
    os.makedirs(folder, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("smartECR simulator test CA"))
        .issuer_name(_name("smartECR simulator test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(h)) for h in hosts]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _pem(paths[0], ca.public_bytes(serialization.Encoding.PEM))
    _pem(paths[1], cert.public_bytes(serialization.Encoding.PEM))
    _pem(
        paths[2],
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    os.chmod(paths[2], 0o600)
    return paths


def tls_context(cert, key):
    """A server's TLS context from its certificate (chain) and key files (PEM)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx
