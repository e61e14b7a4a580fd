"""Export building blocks on both runtimes: DSFinV-K number and text fields, the per-line VAT
that adds up to the receipt's, the stored ZIP, the TAR check, ELSTER dates."""

import binascii
import struct

from support import TempDir, raises

from firmware.exports.archive import zip_folder
from firmware.exports.dsfinvk import cert_columns, cert_parts, line_vat, n2, n3, n5, q
from firmware.exports.elster import german_date
from firmware.exports.tse_export import check_tar
from firmware.register.vat import vat_table


def test_number_fields():
    assert [n2(c) for c in (0, 5, -5, 100, -1234, 123456)] == [
        "0,00",
        "0,05",
        "-0,05",
        "1,00",
        "-12,34",
        "1234,56",
    ]
    assert [n3(m) for m in (1000, 350, -2000, 1234)] == ["1,000", "0,350", "-2,000", "1,234"]
    assert n5(-119) == "-1,19000"


def test_text_fields_are_encapsulated():
    assert q("Kaffee") == '"Kaffee"'
    assert q('Eis "Himbeere"') == '"Eis ""Himbeere"""'
    assert q(42) == '"42"'


def test_certificate_parts():
    cert = "A" * 2500
    assert [len(p) for p in cert_parts(cert, 3)] == [1000, 1000, 500]
    assert "".join(cert_parts(cert, 3)) == cert
    assert cert_columns(4) == [
        "TSE_ZERTIFIKAT_I",
        "TSE_ZERTIFIKAT_II",
        "TSE_ZERTIFIKAT_III",
        "TSE_ZERTIFIKAT_IV",
    ]


def _bon(amounts):
    lines = [{"vat_key": k, "amount": a} for k, a in amounts]
    gross = {}
    for k, a in amounts:
        gross[k] = gross.get(k, 0) + a
    return {"lines": lines, "vat": [list(r) for r in vat_table({k: v for k, v in gross.items() if v})]}


def test_line_vat_adds_up_to_the_receipt_vat():
    for amounts in (
        [(1, 1), (1, 1), (1, 1), (1, 1), (1, 1), (1, 1)],  # six 1-cent lines: each 0, the receipt 1
        [(1, 549), (2, 119), (2, 119), (2, -119), (5, 150)],
        [(1, 333), (1, -333)],  # a void: the key sums to zero
        [(2, 1999), (2, 7), (1, 5), (1, 5), (1, 5)],
    ):
        bon = _bon(amounts)
        vats = line_vat(bon)
        want = {row[0]: row[4] for row in bon["vat"]}
        got = {}
        for (key, _a), v in zip(amounts, vats):
            got[key] = got.get(key, 0) + v
        for key in set(got) | set(want):
            assert got.get(key, 0) == want.get(key, 0)


def test_zip_folder_stores_files_a_reader_can_check():
    d = TempDir()
    try:
        d.write("a.csv", "x;y\r\n")
        d.write("b.csv", "ä" * 3000)
        zip_folder(d.path, d.path + "/out.zip", ["a.csv", "b.csv"], 1795318720)
        with open(d.path + "/out.zip", "rb") as f:
            data = f.read()
        offset = 0
        for name, body in (("a.csv", b"x;y\r\n"), ("b.csv", ("ä" * 3000).encode())):
            assert data[offset : offset + 4] == b"PK\x03\x04"
            fields = struct.unpack("<HHHHHIIIHH", data[offset + 4 : offset + 30])
            assert fields[5] == binascii.crc32(body) & 0xFFFFFFFF and fields[6] == fields[7] == len(body)
            start = offset + 30 + fields[8]
            assert data[offset + 30 : start] == name.encode() and data[start : start + len(body)] == body
            offset = start + len(body)
        assert data[offset : offset + 4] == b"PK\x01\x02"
        end = data[-22:]
        assert end[:4] == b"PK\x05\x06" and struct.unpack("<H", end[10:12])[0] == 2
    finally:
        d.cleanup()


def _member(name, body):
    header = bytearray(512)
    header[0 : len(name)] = name.encode()
    header[124:136] = ("%011o\0" % len(body)).encode()
    header[148:156] = b" " * 8
    header[156] = ord("0")
    header[257:262] = b"ustar"
    header[148:156] = ("%06o\0 " % sum(header)).encode()
    return bytes(header) + body + bytes((512 - len(body) % 512) % 512)


def test_check_tar_counts_and_gaps():
    d = TempDir()
    try:
        members = [_member("info.csv", b'"description:","x"'), _member("AB_X509.der", b"\x30\x00")]
        for counter in (1, 2, 4):
            members.append(_member("Unixt_1_Sig-%d_Log-Sys_selfTest.log" % counter, b"\x30\x00"))
        path = d.path + "/t.tar"
        with open(path, "wb") as f:
            f.write(b"".join(members) + bytes(1024))
        check = check_tar(path)
        assert (check.logs, check.first, check.last, check.certificates, check.info) == (3, 1, 4, 1, True)
        assert check.problems == ["signature counters jump from 2 to 4"]
        with open(path, "wb") as f:
            f.write(b"".join(members[:2]))
        assert check_tar(path).problems == ["the archive ends without its two zero blocks (cut short?)"]
        with open(path, "wb") as f:
            f.write(b"garbage!" * 64 + bytes(1024))
        assert check_tar(path).problems == ["not a TAR header at byte 0"]
    finally:
        d.cleanup()


def test_elster_dates():
    assert german_date("2026-01-15") == "15.01.2026"
    raises(ValueError, german_date, "15.01.2026")
    raises(ValueError, german_date, "2026-13-01")
    raises(ValueError, german_date, "2026-1-1")
