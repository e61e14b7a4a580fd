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

from tools.audit.tse import HASH_BY_NAME, FormatError, QrCode, public_key, signature_ok

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


class Witness:
    """Checks a register's records one at a time, as the store server receives them too: keeps
    the TSE identities seen (and their keys, parsed once) and says what is wrong, or None."""

    def __init__(self):
        self.identities = {}  # TSE serial -> the ``tse`` record's data, None: refused
        self._keys = {}  # TSE serial -> candidate public keys

    def identity(self, data):
        """Take a ``tse`` record's identity if its certificate and serial agree with its key."""
        serial = data.get("serial", "")
        self.identities[serial] = None
        try:
            key = base64.b64decode(data["public_key"])
            cert = x509.load_der_x509_certificate(base64.b64decode(data["certificate"]))
        except (KeyError, TypeError, ValueError) as e:
            return "TSE %s...: identity unreadable (%s)" % (serial[:16], e)
        if hashlib.sha256(key).hexdigest() != serial:
            return "TSE %s...: the serial is not the SHA-256 of its public key" % serial[:16]
        point = cert.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        if point != key:
            return "TSE %s...: the certificate is not of this key" % serial[:16]
        self.identities[serial] = data
        self._keys[serial] = public_key(key)
        return None

    def signed(self, what, tse):
        """Does a receipt's TSE signature verify over what the journal says? None, or why not."""
        identity = self.identities.get(tse.get("serial"))
        if identity is None:
            return "%s: signed by TSE %s..., whose identity is not in the journal" % (
                what,
                str(tse.get("serial"))[:16],
            )
        try:
            qr = QrCode(
                ";".join(
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
            )
            hash_cls = HASH_BY_NAME[qr.algorithm]
            ok = signature_ok(
                self._keys[tse["serial"]], hash_cls, qr.dtbs(bytes.fromhex(tse["serial"])), qr.signature
            )
        except (KeyError, TypeError, ValueError) as e:
            return "%s: TSE data unreadable (%s)" % (what, e)
        if not ok:
            return "%s: the TSE's signature (transaction %s) does not verify over what the journal says" % (
                what,
                tse.get("number"),
            )
        return None

    def check(self, record):
        """What is wrong with one record (``{"type", "data"}``), or None; identities taken."""
        kind, data = record["type"], record["data"]
        if kind == "tse":
            return self.identity(data)
        if kind == "beleg" and "tse" in data:
            return self.signed("receipt %s" % data.get("bon_nr"), data["tse"])
        if kind == "tse_late":
            return self.signed("late signature of receipt %s" % data.get("bon_nr"), data["tse"])
        return None


def verify_journal(folder):
    """Check a journal folder (see the module text); a ``JournalReport``."""
    report = JournalReport()
    witness = Witness()
    for name, _n, record in _lines(folder):
        if record is None:
            report.problems.append("%s: a stray file in the journal folder" % name)
            continue
        report.records += 1
        if record["type"] in ("beleg", "tse_late") and "tse" in record["data"]:
            report.signed += 1
        problem = witness.check(record)
        if problem:
            report.problems.append(problem)
    return report
