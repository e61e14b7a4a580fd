"""Verify TSE exports and receipt QR codes as an auditor would: parse what is there.

    report = verify_tar("export.tar")      # every log parsed and its signature checked
    report.ok, report.problems, report.logs
    verify_qr("V0;KASSE-1;Kassenbeleg-V1;...")   # rebuild the Finish log, check the signature

Independent of the card emulator: logs are read with the generic TLV reader below (BER
lengths, indefinite form included, as some real TSEs write processData), the signed bytes
are the raw element encodings from ``version`` to the log time (reference/TSE.md §1.3), and
signatures are checked with ``cryptography`` against the TSE certificate in the TAR. For the
QR the Finish log is rebuilt from the QR fields (§3.2) with an encoder of its own.
"""

import base64
import calendar
import hashlib
import io
import re
import tarfile

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

LOG_TYPES = {
    "0.4.0.127.0.7.3.7.1.1": "transaction",
    "0.4.0.127.0.7.3.7.1.2": "system",
    "0.4.0.127.0.7.3.7.1.3": "audit",
}
ALGORITHMS = {
    "0.4.0.127.0.7.1.1.4.1.3": ("ecdsa-plain-SHA256", hashes.SHA256),
    "0.4.0.127.0.7.1.1.4.1.4": ("ecdsa-plain-SHA384", hashes.SHA384),
    "0.4.0.127.0.7.1.1.4.1.5": ("ecdsa-plain-SHA512", hashes.SHA512),
}
HASH_BY_NAME = dict(ALGORITHMS.values())
_NAME = re.compile(r"^(Gent|Unixt|Utc)_(\d+)_Sig-(\d+)_Log-(Tra|Sys|Aud)(.*?)(_Fc-\d+)?\.log$")
_TRA_TAIL = re.compile(r"^_No-(\d+)_(Start|Update|Finish)_Client-(.+)$")


class FormatError(ValueError):
    """The bytes are not a TR-03151 log message."""


def read_tlv(data, pos):
    """``(tag, value_start, value_end, element_end)`` of the BER element at ``pos``."""
    if pos + 2 > len(data):
        raise FormatError("element header past the end at %d" % pos)
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise FormatError("multi-byte tags are not used in log messages (at %d)" % pos)
    first = data[pos + 1]
    start = pos + 2
    if first == 0x80:  # indefinite length: walk the contents up to the end-of-contents octets
        if not tag & 0x20:
            raise FormatError("indefinite length on a primitive element at %d" % pos)
        p = start
        while data[p : p + 2] != b"\x00\x00":
            p = read_tlv(data, p)[3]
        return tag, start, p, p + 2
    if first & 0x80:
        n = first & 0x7F
        if n == 0 or n > 4 or start + n > len(data):
            raise FormatError("bad length at %d" % pos)
        length = int.from_bytes(data[start : start + n], "big")
        start += n
    else:
        length = first
    end = start + length
    if end > len(data):
        raise FormatError("element at %d runs past the end" % pos)
    return tag, start, end, end


def _children(data, start, end):
    out = []
    pos = start
    while pos < end:
        tag, vs, ve, pos = read_tlv(data, pos)
        out.append((tag, vs, ve, pos))
    if pos != end:
        raise FormatError("elements overrun their container")
    return out


def _oid(value):
    parts = []
    n = 0
    for b in value:
        n = n << 7 | b & 0x7F
        if not b & 0x80:
            parts.append(n)
            n = 0
    first = parts[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(x) for x in head + parts[1:])


def _primitive_value(data, tag, vs, ve):
    """The value of a (possibly constructed, BER) OCTET/string element as bytes."""
    if not tag & 0x20:
        return bytes(data[vs:ve])
    return b"".join(_primitive_value(data, *c[:3]) for c in _children(data, vs, ve))


class LogMessage:
    """One parsed log: ``kind``, ``fields`` (context tag -> value), ``serial``, ``algorithm``,
    ``counter``, ``log_time``, ``time_format``, ``signature``, and ``dtbs`` (the signed bytes)."""

    def __init__(self, data):
        tag, vs, ve, end = read_tlv(data, 0)
        if tag != 0x30 or end != len(data):
            raise FormatError("not one SEQUENCE")
        elements = _children(data, vs, ve)
        if len(elements) < 7:
            raise FormatError("only %d elements" % len(elements))
        tag, s, e, _ = elements[0]
        if tag != 0x02 or bytes(data[s:e]) != b"\x02":
            raise FormatError("version is not INTEGER 2")
        tag, s, e, _ = elements[1]
        if tag != 0x06 or _oid(data[s:e]) not in LOG_TYPES:
            raise FormatError("unknown log type")
        self.kind = LOG_TYPES[_oid(data[s:e])]
        i = 2
        self.fields = {}
        while i < len(elements) and elements[i][0] & 0xC0 == 0x80:  # context-specific: certifiedData
            t, s, e, _ = elements[i]
            self.fields[t & 0x1F] = _primitive_value(data, t, s, e)
            i += 1
        rest = elements[i:]
        if len(rest) < 5:
            raise FormatError("missing elements after certifiedData")
        tag, s, e, _ = rest[0]
        if tag != 0x04 or e - s != 32:
            raise FormatError("serialNumber is not a 32-byte OCTET STRING")
        self.serial = bytes(data[s:e])
        tag, s, e, _ = rest[1]
        alg = _children(data, s, e) if tag == 0x30 else []
        if not alg or alg[0][0] != 0x06 or _oid(data[alg[0][1] : alg[0][2]]) not in ALGORITHMS:
            raise FormatError("unsupported signatureAlgorithm")
        self.algorithm, self.hash = ALGORITHMS[_oid(data[alg[0][1] : alg[0][2]])]
        k = 2
        self.audit_data = None
        if self.kind == "audit":
            tag, s, e, _ = rest[2]
            self.audit_data = bytes(data[s:e])
            k = 3
        if len(rest) != k + 3:
            raise FormatError("%d elements where %d belong" % (len(rest), k + 3))
        tag, s, e, _ = rest[k]
        if tag != 0x02:
            raise FormatError("signatureCounter is not an INTEGER")
        self.counter = int.from_bytes(data[s:e], "big", signed=True)
        tag, s, e, time_end = rest[k + 1]
        value = bytes(data[s:e])
        if tag == 0x02:
            self.time_format, self.log_time = "unixTime", int.from_bytes(value, "big", signed=True)
        elif tag in (0x17, 0x18):
            self.time_format, self.log_time = (
                ("utcTime" if tag == 0x17 else "generalizedTime"),
                value.decode(),
            )
        else:
            raise FormatError("log time of tag 0x%02X" % tag)
        tag, s, e, _ = rest[k + 2]
        if tag != 0x04:
            raise FormatError("signatureValue is not an OCTET STRING")
        self.signature = bytes(data[s:e])
        self.dtbs = bytes(data[vs:time_end])

    def text(self, tag):
        value = self.fields.get(tag)
        return value.decode("latin-1") if value is not None else None

    @property
    def number(self):
        value = self.fields.get(5)
        return int.from_bytes(value, "big", signed=True) if value is not None else None


def public_key(point_or_spki):
    """Candidate EC public keys for a raw point (curves guessed by size) or an SPKI."""
    if point_or_spki[:1] == b"\x30":
        return [serialization.load_der_public_key(point_or_spki)]
    curves = {
        65: (ec.SECP256R1, ec.BrainpoolP256R1),
        97: (ec.BrainpoolP384R1, ec.SECP384R1),
        133: (ec.BrainpoolP512R1, ec.SECP521R1),
    }.get(len(point_or_spki), ())
    keys = []
    for curve in curves:
        try:
            keys.append(ec.EllipticCurvePublicKey.from_encoded_point(curve(), point_or_spki))
        except ValueError:
            pass
    return keys


def signature_ok(keys, hash_cls, dtbs, plain):
    if len(plain) % 2:
        return False
    half = len(plain) // 2
    der = encode_dss_signature(int.from_bytes(plain[:half], "big"), int.from_bytes(plain[half:], "big"))
    for key in keys:
        try:
            key.verify(der, dtbs, ec.ECDSA(hash_cls()))
            return True
        except InvalidSignature:
            continue
    return False


def point_of(key):
    """The uncompressed point ``04 || X || Y`` of a public key."""
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


class TarReport:
    def __init__(self):
        self.logs = []  # (name, LogMessage)
        self.problems = []
        self.info = None
        self.certificates = {}  # file name -> certificate

    @property
    def ok(self):
        return not self.problems

    def counters(self):
        return sorted(m.counter for _, m in self.logs)


def verify_tar(source, progress=None):
    """Check a TAR export; ``source`` is a path or bytes. Returns a ``TarReport``."""
    report = TarReport()
    fileobj = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
    with fileobj, tarfile.open(fileobj=fileobj, mode="r:") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        raw = [(m.name, tar.extractfile(m).read()) for m in members]
    names = [n for n, _ in raw]
    if "info.csv" not in names:
        report.problems.append("info.csv is missing")
    for name, data in raw:
        if name == "info.csv":
            report.info = data.decode("utf-8", "replace")
            if not re.match(
                r'^"description:","[^"]*","manufacturer:","[^"]*","version:","[^"]*"\s*$', report.info
            ):
                report.problems.append("info.csv does not have the description/manufacturer/version form")
        elif name.endswith(("_X509.der", "_X509.crt", "_X509.pem")):
            try:
                cert = (
                    x509.load_pem_x509_certificate
                    if data.startswith(b"-----")
                    else x509.load_der_x509_certificate
                )(data)
            except ValueError as e:
                report.problems.append("%s: not a certificate (%s)" % (name, e))
                continue
            report.certificates[name] = cert
            expected = hashlib.sha256(point_of(cert.public_key())).hexdigest()
            if name.split("_X509")[0].lower() != expected:
                report.problems.append("%s: name is not the SHA-256 of its public key" % name)
    leaf = _leaf(report)
    for i, (name, data) in enumerate(raw):
        if not name.endswith(".log"):
            continue
        if progress:
            progress(i + 1, len(raw))
        try:
            msg = LogMessage(data)
        except (FormatError, IndexError, UnicodeDecodeError) as e:
            report.problems.append("%s: %s" % (name, e))
            continue
        report.logs.append((name, msg))
        _check_name(report, name, msg)
        if leaf is None:
            continue
        if msg.serial != hashlib.sha256(point_of(leaf.public_key())).digest():
            report.problems.append("%s: serial is not the TSE certificate's key hash" % name)
        elif not signature_ok([leaf.public_key()], msg.hash, msg.dtbs, msg.signature):
            report.problems.append("%s: signature does not verify" % name)
    if leaf is None:
        report.problems.append("no TSE certificate whose key matches the logs' serial number")
    _check_sequences(report)
    return report


def _leaf(report):
    serials = set()
    for name, data in report.certificates.items():
        cn = data.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        if cn and cn[0].value.lower() == name.split("_X509")[0].lower():
            serials.add(name)
    for name in serials:
        return report.certificates[name]
    return None


def _check_name(report, name, msg):
    m = _NAME.match(name)
    if not m:
        report.problems.append("%s: file name does not follow TR-03151" % name)
        return
    fmt, t, sig, kind, tail = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)
    if sig != msg.counter:
        report.problems.append("%s: name says Sig-%d, the log %d" % (name, sig, msg.counter))
    if fmt == "Unixt" and t != msg.log_time:
        report.problems.append("%s: name says time %d, the log %s" % (name, t, msg.log_time))
    if kind == "Tra":
        tm = _TRA_TAIL.match(tail)
        if (
            not tm
            or int(tm.group(1)) != msg.number
            or tm.group(3) != msg.text(1)
            or msg.text(0) != tm.group(2) + "Transaction"
        ):
            report.problems.append("%s: name does not match the transaction log" % name)
    elif kind == "Sys" and tail != "_" + (msg.text(0) or ""):
        report.problems.append("%s: name does not match the system log's operation" % name)


def _check_sequences(report):
    counters = report.counters()
    if len(set(counters)) != len(counters):
        report.problems.append("signature counters repeat")
    gaps = [(a, b) for a, b in zip(counters, counters[1:], strict=False) if b != a + 1]
    for a, b in gaps:
        report.problems.append("signature counter gap: %d -> %d" % (a, b))
    starts = sorted(
        m.number for _, m in report.logs if m.kind == "transaction" and m.text(0) == "StartTransaction"
    )
    for a, b in zip(starts, starts[1:], strict=False):
        if b != a + 1:
            report.problems.append("transaction number gap: %d -> %d" % (a, b))
    finished = {
        m.number for _, m in report.logs if m.kind == "transaction" and m.text(0) == "FinishTransaction"
    }
    for number in finished - set(starts):
        if starts and number >= starts[0]:
            report.problems.append("transaction %d finished but never started" % number)


# --- receipt QR codes -----------------------------------------------------------------


def _enc(tag, value):
    n = len(value)
    length = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82]) + n.to_bytes(2, "big")
    return bytes([tag]) + length + value


def _int(n):
    return n.to_bytes(n.bit_length() // 8 + 1, "big")


def _time_element(fmt, iso):
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z$", iso)
    if not m:
        raise FormatError("time %r is not YYYY-MM-DDThh:mm:ss.fffZ" % iso)
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    if fmt == "unixTime":
        return _enc(0x02, _int(calendar.timegm((y, mo, d, h, mi, s))))
    if fmt == "utcTime":
        return _enc(0x17, ("%02d%02d%02d%02d%02d%02dZ" % (y % 100, mo, d, h, mi, s)).encode())
    if fmt == "generalizedTime":
        return _enc(0x18, ("%04d%02d%02d%02d%02d%02dZ" % (y, mo, d, h, mi, s)).encode())
    raise FormatError("unknown log-time format %r" % fmt)


class QrCode:
    def __init__(self, text):
        fields = text.strip().split(";")
        if len(fields) != 12 or fields[0] != "V0":
            raise FormatError("a receipt QR code has 12 fields starting with V0, this has %d" % len(fields))
        (
            self.version,
            self.client_id,
            self.process_type,
            self.process_data,
            number,
            counter,
            self.start,
            self.end,
            self.algorithm,
            self.time_format,
            signature,
            key,
        ) = fields
        try:
            self.number, self.counter = int(number), int(counter)
            self.signature = base64.b64decode(signature, validate=True)
            self.public_key = base64.b64decode(key, validate=True)
        except ValueError as e:
            raise FormatError("QR field is malformed: %s" % e) from e

    def dtbs(self, serial):
        oid = {name: o for o, (name, _) in ALGORITHMS.items()}.get(self.algorithm)
        if oid is None:
            raise FormatError("unknown signature algorithm %r" % self.algorithm)
        oid_der = _oid_der(oid)
        return (
            _enc(0x02, b"\x02")
            + _oid_der("0.4.0.127.0.7.3.7.1.1")
            + _enc(0x80, b"FinishTransaction")
            + _enc(0x81, self.client_id.encode())
            + _enc(0x82, self.process_data.encode())
            + _enc(0x83, self.process_type.encode())
            + _enc(0x85, _int(self.number))
            + _enc(0x04, serial)
            + _enc(0x30, oid_der)
            + _enc(0x02, _int(self.counter))
            + _time_element(self.time_format, self.end)
        )


def _oid_der(dotted):
    parts = [int(x) for x in dotted.split(".")]
    body = bytearray([parts[0] * 40 + parts[1]])
    for n in parts[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.insert(0, n & 0x7F | 0x80)
            n >>= 7
        body += bytes(chunk)
    return _enc(0x06, bytes(body))


def printed_qr(receipt):
    """The QR code of a receipt as printed (text with its one ``[QR] `` line), verified: the
    ``QrCode``; ``FormatError`` when there is none, several, or its signature does not hold."""
    codes = [line[5:] for line in receipt.splitlines() if line.startswith("[QR] ")]
    if len(codes) != 1:
        raise FormatError("%d QR codes on the receipt, not one" % len(codes))
    good, qr = verify_qr(codes[0])
    if not good:
        raise FormatError("the receipt's QR code does not verify: %s" % codes[0])
    return qr


def verify_qr(text):
    """``(ok, QrCode)``: does the QR's signature verify over the rebuilt Finish log?"""
    qr = QrCode(text)
    hash_cls = HASH_BY_NAME.get(qr.algorithm)
    if hash_cls is None:
        raise FormatError("unknown signature algorithm %r" % qr.algorithm)
    keys = public_key(qr.public_key)
    if not keys:
        return False, qr
    point = qr.public_key if qr.public_key[:1] == b"\x04" else point_of(keys[0])
    return signature_ok(keys, hash_cls, qr.dtbs(hashlib.sha256(point).digest()), qr.signature), qr
