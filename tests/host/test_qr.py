"""The device's QR encoder (core/qr.py) against python-qrcode, module for module, at every level,
version and mask; the same matrices on MicroPython; and codes drawn on a panel that zxing-cpp
reads back."""

import json
import random
import subprocess
import sys

import PIL.Image
import qrcode
import zxingcpp
from qrcode.util import MODE_8BIT_BYTE, QRData

from core import qr
from tools import upy

PROBE = str(upy.ROOT / "tests" / "device" / "qr_probe.py")
LEVELS = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M}
LEVELS.update(Q=qrcode.constants.ERROR_CORRECT_Q, H=qrcode.constants.ERROR_CORRECT_H)
TSE_QR = (
    "V0;SMARTECR-SIM-0001;Kassenbeleg-V1;Beleg^0.00_14.67_0.00_0.00_0.00^4.67:Bar_10.00:Unbar;227;671;"
    "2026-12-02T10:15:01.000Z;2026-12-02T10:15:11.000Z;ecdsa-plain-SHA384;unixTime;"
    + "A" * 128
    + ";"
    + "B" * 130
)


def _ours(code):
    return [[1 if code.dark(x, y) else 0 for x in range(code.size)] for y in range(code.size)]


def _theirs(data, ecl, version, mask):
    q = qrcode.QRCode(version=version, error_correction=LEVELS[ecl], border=0, mask_pattern=mask)
    q.add_data(QRData(data, mode=MODE_8BIT_BYTE, check_data=False), optimize=0)
    q.make(fit=False)
    return [[1 if b else 0 for b in row] for row in q.get_matrix()]


def test_module_for_module_what_python_qrcode_makes():
    """Every version once at a random level and mask (twice for the small ones, where the
    8/16-bit count and the version information change), with as much data as fits or less."""
    rng = random.Random(18004)
    for version in list(range(1, 41)) + list(range(1, 12)):
        ecl, mask = rng.choice("LMQH"), rng.randint(0, 7)
        room = qr._data_codewords(version, qr._ECL[ecl][0]) - (2 if version <= 9 else 3)
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, room)))
        code = qr.encode(data, ecl, version, mask)
        assert _ours(code) == _theirs(data, ecl, version, mask), (ecl, version, mask, len(data))


def test_the_smallest_version_and_a_mask_that_scanners_read():
    for text in ("https://bon.example/r/7f3a#k=Zm9vYmFy", "Rückgeld 5,33 € — Grüße", TSE_QR):
        code = qr.encode(text.encode(), "M")
        assert code.version == _minimum(text.encode(), "M")
        assert _read(_ours(code)) == [text]
    try:
        qr.encode(bytes(2400), "H")
    except ValueError as e:
        assert "do not fit" in str(e)
    else:
        raise AssertionError("2400 bytes at level H fit no QR code")


def _minimum(data, ecl):
    q = qrcode.QRCode(error_correction=LEVELS[ecl], border=0)
    q.add_data(QRData(data, mode=MODE_8BIT_BYTE, check_data=False), optimize=0)
    q.make(fit=True)
    return q.version


def _read(matrix, scale=4):
    n = len(matrix) + 8
    image = PIL.Image.new("L", (n * scale, n * scale), 255)
    for y, row in enumerate(matrix):
        for x, v in enumerate(row):
            if v:
                image.paste(0, ((x + 4) * scale, (y + 4) * scale, (x + 5) * scale, (y + 5) * scale))
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def _probe(runtime, folder, what, text, *args):
    path = folder / "text"
    path.write_bytes(text.encode())
    args = (what, str(path)) + args
    argv = upy.command([PROBE, *args]) if runtime == "micropython" else [sys.executable, PROBE, *args]
    proc = subprocess.run(
        argv,
        cwd=upy.ROOT,
        env=upy.env({"PYTHONPATH": str(upy.ROOT)}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_micropython_makes_the_same_codes_and_the_panel_draws_a_readable_one(tmp_path):
    for text, ecl in (("Vielen Dank!", "L"), (TSE_QR, "M"), ("€ß", "H")):
        ours = qr.encode(text.encode(), ecl)
        got = _probe("micropython", tmp_path, "matrix", text, ecl)
        assert (got["version"], got["mask"]) == (ours.version, ours.mask)
        assert got["rows"] == ["".join(map(str, row)) for row in _ours(ours)]
    text = "https://bon.example/r/7f3a#k=Zm9vYmFy"
    for runtime in ("cpython", "micropython"):
        got = _probe(runtime, tmp_path, "panel", text)
        raw = bytes.fromhex(got["buf"])
        image = PIL.Image.frombytes("1", (got["width"], got["height"]), raw).convert("L")
        image = PIL.Image.eval(image, lambda v: 255 - v)  # 1 is a dark module on this panel
        codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert [c.text for c in codes] == [text], runtime
