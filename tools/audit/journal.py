"""A register's journal checked on a PC: the hash chain, and every signature with ECDSA.

    report = verify_journal("out/sim/data/journal")
    report.problems          # one sentence each; empty: all good
    report.records, report.signed

What the terminal cannot do itself (no ECDSA on MicroPython, firmware/reconcile.py) is done
here, independently of the firmware's code: every line's checksum and place in the hash
chain; each TSE identity (``tse`` record) whose certificate holds the public key whose SHA-256
is the TSE serial; and each signed receipt (``beleg`` with TSE data, ``tse_late``) whose
signature verifies over the FinishTransaction log rebuilt from what the journal says (the
receipt QR code of its fields, checked by ``verify_qr``). An amount changed in the journal
and the chain recomputed fails here: the TSE's signature does not cover it.
"""

import base64
import binascii
import hashlib
import json
import os
import re
import time

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tools.audit.tse import FormatError, verify_qr

_SEGMENT = re.compile(r"^z\d{6}\.log$")


class JournalReport:
    def __init__(self):
        self.problems = []
        self.records = 0
        self.signed = 0


def _lines(folder):
    """``(segment name, line number, payload bytes)`` of every line whose chain holds."""
    head, seq = bytes(32), 0
    for name in sorted(os.listdir(folder)):
        if not _SEGMENT.match(name):
            yield name, 0, None
            continue
        with open(os.path.join(folder, name), "rb") as f:
            for n, line in enumerate(f, 1):
                parts = line.rstrip(b"\n").split(b"\t")
                if len(parts) != 3 or not line.endswith(b"\n"):
                    raise FormatError("%s line %d: not a journal line" % (name, n))
                payload, digest, crc = parts
                if int(crc, 16) != binascii.crc32(payload + b"\t" + digest):
                    raise FormatError("%s line %d: checksum wrong" % (name, n))
                if hashlib.sha256(head + payload).hexdigest().encode() != digest:
                    raise FormatError("%s line %d: hash chain broken" % (name, n))
                record = json.loads(payload)
                if record.get("v", 1) != 1:
                    raise FormatError(
                        "%s line %d: journal format %r, this tool reads 1" % (name, n, record["v"])
                    )
                if record["seq"] != seq + 1:
                    raise FormatError("%s line %d: sequence %d after %d" % (name, n, record["seq"], seq))
                head, seq = binascii.unhexlify(digest), record["seq"]
                yield name, n, record


def _iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


def _identity(data, report):
    """The public key of a ``tse`` record, if its certificate and serial agree with it."""
    key = base64.b64decode(data["public_key"])
    if hashlib.sha256(key).hexdigest() != data["serial"]:
        report.problems.append(
            "TSE %s...: the serial is not the SHA-256 of its public key" % data["serial"][:16]
        )
        return None
    cert = x509.load_der_x509_certificate(base64.b64decode(data["certificate"]))
    point = cert.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    if point != key:
        report.problems.append("TSE %s...: the certificate is not of this key" % data["serial"][:16])
        return None
    return data


def _check_signed(what, tse, identity, report):
    report.signed += 1
    if identity is None:
        report.problems.append(
            "%s: signed by TSE %s..., whose identity is not in the journal" % (what, tse["serial"][:16])
        )
        return
    text = ";".join(
        (
            "V0",
            tse["client_id"],
            tse["process_type"],
            tse["process_data"],
            str(tse["number"]),
            str(tse["counter"]),
            _iso(tse["start"]),
            _iso(tse["end"]),
            identity["algorithm"],
            identity["time_format"],
            tse["signature"],
            identity["public_key"],
        )
    )
    ok, _ = verify_qr(text)
    if not ok:
        report.problems.append(
            "%s: the TSE's signature (transaction %d) does not verify over what the journal says"
            % (what, tse["number"])
        )


def verify_journal(folder):
    """Check a journal folder (see the module text); a ``JournalReport``."""
    report = JournalReport()
    identities = {}
    for name, _n, record in _lines(folder):
        if record is None:
            report.problems.append("%s: a stray file in the journal folder" % name)
            continue
        report.records += 1
        kind, data = record["type"], record["data"]
        if kind == "tse":
            identities[data["serial"]] = _identity(data, report)
        elif kind == "beleg" and "tse" in data:
            tse = data["tse"]
            _check_signed("receipt %s" % data["bon_nr"], tse, identities.get(tse["serial"]), report)
        elif kind == "tse_late":
            tse = data["tse"]
            what = "late signature of receipt %s" % data["bon_nr"]
            _check_signed(what, tse, identities.get(tse["serial"]), report)
    return report
