"""The Linux camera scanner (hal/linux/camera.py) on real frames: video files written with
OpenCV's encoder and PNG image sequences, read back through the same OpenCV capture the
driver uses for a V4L2 camera, decoded with zxing-cpp; and the CPython firmware ringing up
what the camera sees in the simulator."""

import asyncio
import time

import cv2
import numpy
import PIL.Image
import pytest
import zxingcpp

from core.errors import ConfigError, DeviceError
from hal.board import Board
from hal.linux.camera import CameraScanner, VideoSource, decode, scanner_text, zxing_formats
from hal.scanner import Symbol
from tools.sim.launch import Simulator

EAN = "4006381333931"  # article 1001 in data/demo-master.json
QR = "V0;SMARTECR-SIM-0001;Kassenbeleg-V1;Beleg^7.29_0.00_0.00_0.00_0.00^7.29:Bar;2;17"
F = zxingcpp.BarcodeFormat


def frame(code=None, fmt=None, seed=0):
    """A 640x480 grey frame: paper-grey noise, with ``code`` in the middle."""
    rnd = numpy.random.default_rng(seed)
    image = numpy.clip(rnd.normal(200, 12, (480, 640)), 0, 255).astype(numpy.uint8)
    if code is not None:
        symbol = zxingcpp.create_barcode(code, fmt).to_image(scale=3 if fmt == F.QRCode else 2)
        symbol = numpy.asarray(PIL.Image.fromarray(symbol).convert("L"))
        h, w = symbol.shape
        y, x = (480 - h) // 2, (640 - w) // 2
        image[y : y + h, x : x + w] = symbol
    return image


def write_video(path, frames):
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 480), False)
    assert out.isOpened()
    for f in frames:
        out.write(f)
    out.release()
    return path


def scan_all(scanner, quiet=2.0):
    """Every item the scanner reports until the source has nothing more."""

    async def run():
        items = []
        while True:
            try:
                items.append(await asyncio.wait_for(scanner.read(), quiet))
            except TimeoutError:
                return items

    try:
        return asyncio.run(run())
    finally:
        scanner.close()


def camera(path, formats=("EAN13", "EAN8", "QR"), hold=10):
    return CameraScanner(lambda: VideoSource(path), zxing_formats(formats), hold)


def as_pairs(items):
    return [(i.symbology, i.text) if isinstance(i, Symbol) else "error: %s" % i for i in items]


def test_each_presentation_rings_up_once(tmp_path):
    blank = [frame(seed=i) for i in range(4)]
    ean = [frame(EAN, F.EAN13, seed=10 + i) for i in range(15)]  # held under the camera for 0.5 s
    qr = [frame(QR, F.QRCode, seed=30 + i) for i in range(6)]
    frames = blank + ean + blank[:3] + ean[:5]  # a short drop-out: the same presentation
    frames += blank * 3 + ean[:4]  # away for 12 frames, then shown again: a second article
    frames += blank + qr + blank
    path = write_video(str(tmp_path / "till.avi"), frames)
    scanner = camera(path)
    assert as_pairs(scan_all(scanner)) == [("EAN13", EAN), ("EAN13", EAN), ("QR", QR)]
    assert scanner.frame_no == len(frames) and scanner.source is False  # played out, not replayed


def test_formats_and_rejected_codes_from_an_image_sequence(tmp_path):
    codes = [("ABC-123", F.Code128), ("96385074", F.EAN8), ("Zeile 1\nZeile 2", F.QRCode)]
    for n, (code, fmt) in enumerate(codes):
        PIL.Image.fromarray(frame(code, fmt, seed=n)).save(str(tmp_path / ("f_%03d.png" % n)))
    pattern = str(tmp_path / "f_%03d.png")
    got = as_pairs(scan_all(camera(pattern)))  # Code 128 not enabled: not even looked for
    assert got[0] == ("EAN8", "96385074") and len(got) == 2
    assert got[1].startswith("error: scan has control byte 0x0A")  # the till never sees it
    got = as_pairs(scan_all(camera(pattern, ("CODE128",))))
    assert got == [("CODE128", "ABC-123")]


def test_decode_checks_like_a_scan_engine():
    formats = zxing_formats(("EAN13", "QR"))
    assert as_pairs(decode(frame(EAN, F.EAN13), formats)) == [("EAN13", EAN)]
    assert decode(frame(seed=5), formats) == []
    assert scanner_text(Symbol("EAN13", EAN)) == "]E0" + EAN
    assert scanner_text(Symbol("QR", "x")) == "]Q1x"
    with pytest.raises(ConfigError, match="unknown format PDF417"):
        zxing_formats(("EAN13", "PDF417"))


def test_a_lost_camera_raises_and_is_opened_again(tmp_path):
    path = write_video(str(tmp_path / "cam.avi"), [frame(EAN, F.EAN13, seed=i) for i in range(3)])
    opened = []

    def open_camera():  # a "camera" that gives three frames, then is unplugged
        source = VideoSource(path)
        source.live = True
        opened.append(source)
        return source

    scanner = CameraScanner(open_camera, zxing_formats(("EAN13",)), hold=100)

    async def run():
        first = await scanner.read()
        with pytest.raises(OSError, match="unplugged"):
            await scanner.read()
        return first, await scanner.read()  # plugged in again: reopened, reads on

    try:
        first, again = asyncio.run(run())
    finally:
        scanner.close()
    assert (first.text, again.text) == (EAN, EAN) and len(opened) == 2


def test_board_driver(tmp_path):
    path = write_video(str(tmp_path / "one.avi"), [frame(EAN, F.EAN13)])

    def board(**entry):
        entry.setdefault("driver", "camera-scanner")
        return Board({"devices": {"scanner": entry}}, "test")

    assert as_pairs(scan_all(board(device=path, formats="EAN13, QR").get("scanner"))) == [("EAN13", EAN)]
    with pytest.raises(ConfigError, match="devices.scanner.formats: unknown format EAN14"):
        board(device=path, formats="EAN14").get("scanner")
    with pytest.raises(ConfigError, match="devices.scanner.width"):
        board(device=path, width=10).get("scanner")
    missing = board(device=str(tmp_path / "none.avi")).get("scanner")  # opened on first read
    with pytest.raises(DeviceError, match="no such device or file"):
        asyncio.run(missing.read())


def test_the_firmware_rings_up_what_the_camera_sees(tmp_path):
    blank = [frame(seed=i) for i in range(20)]
    ean = [frame(EAN, F.EAN13, seed=40 + i) for i in range(8)]
    video = write_video(str(tmp_path / "counter.avi"), blank * 2 + ean + blank + ean + blank)
    sim = Simulator(str(tmp_path / "sim"), "cpython", camera=video).start()
    try:
        assert sim.endpoints["scanner"] == "camera " + video
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            bon = sim.operator(op="state")["state"]["bon"]
            if bon is not None and len(bon["lines"]) == 2:
                break
            time.sleep(0.2)
        time.sleep(1)  # nothing more comes: the file has played out
        bon = sim.operator(op="state")["state"]["bon"]
        assert [line[1] for line in bon["lines"]] == ["Kaffee Crema 250 g"] * 2, bon
        assert sim.operator(op="cash")["ok"]
    finally:
        sim.stop()
