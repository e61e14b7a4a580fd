"""The card's TAR export, laid out as real TSEs do (reference/TSE.md §2).

A flat TAR: ``info.csv``, then the log messages in signature-counter order, then the
certificate chain. File names:

    Unixt_<logTime>_Sig-<counter>_Log-Tra_No-<number>_<Start|Update|Finish>_Client-<clientId>.log
    Unixt_<logTime>_Sig-<counter>_Log-Sys_<operationType>.log
    Unixt_<logTime>_Sig-<counter>_Log-Aud.log
    <hex SHA-256 of the certificate's uncompressed public point>_X509.der

Real TSEs add ``_Fc-<n>`` to a repeated name; here names cannot repeat, as each carries its
signature counter. Filters: everything; a time
range (all logs with logTime in it); a transaction-number range (transaction logs only);
any of them narrowed to one client's transaction logs.
"""

import hashlib
import io
import tarfile

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tools.sim.tse.store import KIND_AUDIT, KIND_TRANSACTION
from tse_sd import protocol as p

_EVENT_NAMES = ("Start", "Update", "Finish")
_FORMAT = tarfile.PAX_FORMAT  # plain ustar unless a name is longer than 100 characters


def log_name(record):
    head = "Unixt_%d_Sig-%d_" % (record.log_time, record.counter)
    if record.kind == KIND_TRANSACTION:
        return head + "Log-Tra_No-%d_%s_Client-%s.log" % (
            record.number,
            _EVENT_NAMES[record.event],
            record.client,
        )
    if record.kind == KIND_AUDIT:
        return head + "Log-Aud.log"
    return head + "Log-Sys_%s.log" % record.operation


def certificate_name(cert_der):
    cert = x509.load_der_x509_certificate(cert_der)
    point = cert.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return hashlib.sha256(point).hexdigest() + "_X509.der"


def info_csv(card):
    s = card.state
    return (
        '"description:","%s","manufacturer:","%s","version:","%s"'
        % (s["description"], s["manufacturer"], s["version"])
    ).encode()


def select(records, kind, first, last, client):
    for r in records:
        if client and (r.kind != KIND_TRANSACTION or r.client != client):
            continue
        if kind == p.EXPORT_TIME and not first <= r.log_time <= last:
            continue
        if kind == p.EXPORT_TRANSACTIONS and (r.kind != KIND_TRANSACTION or not first <= r.number <= last):
            continue
        if kind == p.EXPORT_SIGNATURES and r.counter < first:
            continue
        yield r


def _members(card, records):
    """``(name, data, mtime)`` of every member, in order."""
    made = card.state["manufactured"]
    yield "info.csv", info_csv(card), made
    for r in records:  # names never repeat: each holds its unique signature counter
        yield log_name(r), r.der, r.log_time
    for cert in card.chain:
        yield certificate_name(cert), cert, made


def _info(name, size, mtime):
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o444
    return info


def export(card, kind=p.EXPORT_ALL, first=0, last=0, client=""):
    """``(tar bytes, highest signature counter exported)``."""
    records = list(select(card.logs.records, kind, first, last, client))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=_FORMAT) as tar:
        for name, data, mtime in _members(card, records):
            tar.addfile(_info(name, len(data), mtime), io.BytesIO(data))
    return out.getvalue(), max((r.counter for r in records), default=0)


def export_size(card):
    """The exact size ``export(card)`` would have, without building it."""
    size = 0
    for name, data, mtime in _members(card, card.logs.records):
        size += len(_info(name, len(data), mtime).tobuf(_FORMAT, "utf-8", "surrogateescape"))
        size += (len(data) + 511) // 512 * 512
    size += 1024  # two zero blocks end the archive
    return (size + tarfile.RECORDSIZE - 1) // tarfile.RECORDSIZE * tarfile.RECORDSIZE
