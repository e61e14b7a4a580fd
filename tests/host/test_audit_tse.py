"""The independent TSE verifier catches what is wrong, one rule at a time, and accepts the
forms real TSEs use (BER indefinite processData, utcTime, an SPKI public key in the QR)."""

import base64
import hashlib
import io
import subprocess
import sys
import tarfile

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tools import upy
from tools.audit.tse import FormatError, LogMessage, verify_qr, verify_tar


@pytest.fixture(scope="module")
def exercised(tmp_path_factory):
    out = tmp_path_factory.mktemp("ex")
    proc = subprocess.run(
        [sys.executable, "-m", "tools.tse", "exercise", "--count", "8", "--out", str(out)],
        cwd=upy.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(out / "export.tar") as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]
    return members, (out / "qr.txt").read_text().splitlines()


def rebuild(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def change(members, pick, edit):
    out = []
    for name, data in members:
        if pick(name):
            result = edit(name, data)
            if result is None:
                continue
            name, data = result
        out.append((name, data))
    return rebuild(out)


def first_finish(name):
    return "_Finish_" in name


def test_the_untouched_export_passes(exercised):
    report = verify_tar(rebuild(exercised[0]))
    assert report.ok, report.problems


def test_a_flipped_signature_bit_is_caught(exercised):
    done = []

    def flip(name, data):
        if done:
            return name, data
        done.append(name)
        return name, data[:-1] + bytes([data[-1] ^ 1])

    report = verify_tar(change(exercised[0], first_finish, flip))
    assert report.problems == ["%s: signature does not verify" % done[0]]


def test_changed_process_data_is_caught(exercised):
    changed = []

    def edit(name, data):
        if changed or b"Beleg^" not in data:
            return name, data
        changed.append(name)
        return name, data.replace(b"Beleg^", b"BelEg^", 1)  # same length: the DER stays valid

    report = verify_tar(change(exercised[0], first_finish, edit))
    assert report.problems == ["%s: signature does not verify" % changed[0]]


def test_a_missing_log_leaves_a_counter_gap(exercised):
    gone = []

    def drop(name, data):
        if gone:
            return name, data
        gone.append(name)
        return None

    report = verify_tar(change(exercised[0], first_finish, drop))
    assert len(report.problems) == 1 and report.problems[0].startswith("signature counter gap")


def test_a_renamed_log_is_caught(exercised):
    def rename(name, data):
        return name.replace("_Sig-", "_Sig-1", 1), data

    report = verify_tar(change(exercised[0], first_finish, rename))
    assert any("name says Sig-" in p for p in report.problems)


def test_missing_info_csv_and_certificates_are_caught(exercised):
    report = verify_tar(change(exercised[0], lambda n: n == "info.csv", lambda n, d: None))
    assert report.problems == ["info.csv is missing"]
    report = verify_tar(change(exercised[0], lambda n: n.endswith("_X509.der"), lambda n, d: None))
    assert "no TSE certificate whose key matches the logs' serial number" in report.problems


def test_every_receipt_qr_verifies_and_a_changed_one_does_not(exercised):
    qrs = exercised[1]
    assert len(qrs) == 8
    for line in qrs:
        assert verify_qr(line)[0], line
    fields = qrs[0].split(";")
    for i, change_to in (
        (1, "OTHER-KASSE"),
        (3, fields[3].replace("^", "^1", 1)),
        (4, "999"),
        (5, "1"),
        (7, "2000-01-01T00:00:00.000Z"),
    ):
        bad = list(fields)
        bad[i] = change_to
        assert not verify_qr(";".join(bad))[0], i
    with pytest.raises(FormatError):
        verify_qr(";".join(fields[:11]))
    with pytest.raises(FormatError):
        verify_qr(";".join(fields[:10] + ["not base64!", fields[11]]))


def _sign(key, dtbs):
    r, s = decode_dss_signature(key.sign(dtbs, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_foreign_tse_forms_verify():
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    serial = hashlib.sha256(point).digest()
    # a D-Trust-style Finish log: processData in BER constructed indefinite-length form
    dtbs = (
        bytes.fromhex("020102 0609 04007F000703070101")
        + b"\x80\x11FinishTransaction"
        + b"\x81\x02K9"
        + b"\xa2\x80\x04\x03abc\x00\x00"
        + b"\x83\x0eKassenbeleg-V1"
        + b"\x85\x01\x07"
        + b"\x04\x20"
        + serial
        + bytes.fromhex("300C060A04007F00070101040103")
        + b"\x02\x01\x05"
        + b"\x17\x0d191122112949Z"
    )
    sig = _sign(key, dtbs)
    msg = LogMessage(b"\x30\x81" + bytes([len(dtbs) + 66]) + dtbs + b"\x04\x40" + sig)
    assert msg.fields[2] == b"abc" and msg.number == 7 and msg.time_format == "utcTime"
    assert msg.dtbs == dtbs
    # the QR of a utcTime TSE whose key is given as SPKI (seen on real receipts)
    qr_dtbs = dtbs.replace(b"\xa2\x80\x04\x03abc\x00\x00", b"\x82\x03abc")
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    qr = ";".join(
        [
            "V0",
            "K9",
            "Kassenbeleg-V1",
            "abc",
            "7",
            "5",
            "2019-11-22T11:29:48.000Z",
            "2019-11-22T11:29:49.000Z",
            "ecdsa-plain-SHA256",
            "utcTime",
            base64.b64encode(_sign(key, qr_dtbs)).decode(),
            base64.b64encode(spki).decode(),
        ]
    )
    ok, parsed = verify_qr(qr)
    assert ok and parsed.client_id == "K9"


def test_garbage_is_a_format_error():
    for data in (b"", b"\x30\x05\x02\x01\x02", b"\x04\x00", bytes.fromhex("3003020103")):
        with pytest.raises((FormatError, IndexError)):
            LogMessage(data)
