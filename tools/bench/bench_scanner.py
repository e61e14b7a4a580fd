"""Camera scanner decode rate: 640x480 grey frames, EAN-13, EAN-8 and QR enabled (the
Linux camera driver's decoder, hal/linux/camera.py, zxing-cpp). Frames: an EAN-13, a receipt QR code
(rotated, noisy, slightly blurred, as a phone screen or paper under a camera) and an empty
noisy frame, in turn; every frame with a code must decode to it. Goal: >= 60 frames/s.

A second row measures the whole driver as the till runs it: ``CameraScanner`` on an MJPG
video of the same frames (OpenCV grabs and decodes each frame, makes it grey, zxing-cpp reads
it, the hold logic picks what came into view), so the camera's own cost is counted too.
"""

import os
import random
import tempfile
import time

import cv2
import numpy
import PIL.Image
import PIL.ImageFilter
import zxingcpp

from hal.linux.camera import DEFAULT_FORMATS, CameraScanner, VideoSource, decode, zxing_formats

QR = "V0;SMARTECR-SIM-0001;Kassenbeleg-V1;Beleg^7.29_0.00_0.00_0.00_0.00^7.29:Bar;2;17;" + "A" * 120
EAN = "4006381333931"
SECONDS = 3.0


def _frame(code=None, fmt=None, angle=0, seed=1):
    rnd = random.Random(seed)
    frame = PIL.Image.new("L", (640, 480), 200)
    if code is not None:
        scale = 3 if fmt == zxingcpp.BarcodeFormat.QRCode else 2
        symbol = PIL.Image.fromarray(zxingcpp.create_barcode(code, fmt).to_image(scale=scale))
        symbol = symbol.convert("L").rotate(angle, expand=True, fillcolor=255)
        frame.paste(symbol, ((640 - symbol.width) // 2, (480 - symbol.height) // 2))
    noise = PIL.Image.frombytes("L", frame.size, bytes(rnd.randrange(0, 40) for _ in range(640 * 480)))
    frame = PIL.Image.blend(frame, noise, 0.15).filter(PIL.ImageFilter.GaussianBlur(0.8))
    return frame


def frames():
    return [
        (_frame(EAN, zxingcpp.BarcodeFormat.EAN13, 0, 1), [("EAN13", EAN)]),
        (_frame(QR, zxingcpp.BarcodeFormat.QRCode, 7, 2), [("QR", QR)]),
        (_frame(seed=3), []),
    ]


FORMATS = zxing_formats(DEFAULT_FORMATS)


def decode_frame(image):
    return [(s.symbology, s.text) for s in decode(image, FORMATS)]


def run():
    cases = frames()
    for image, want in cases:  # correctness first: a fast decoder that misreads is no use
        got = decode_frame(image)
        if got != want:
            raise AssertionError("decoded %r, expected %r" % (got, want))
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < SECONDS:
        decode_frame(cases[count % len(cases)][0])
        count += 1
    rate = count / (time.perf_counter() - t0)
    return [row("scanner decode, 640x480 frames, EAN-13/EAN-8/QR enabled", rate), camera(cases)]


def row(name, rate):
    return {
        "benchmark": name,
        "runtime": "cpython",
        "value": rate,
        "unit": "frames/s",
        "goal": ">= 60",
        "ok": rate >= 60,
    }


def camera(cases, repeat=60):
    """The driver on a video: each case held for 3 frames, ``repeat`` times over."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "frames.avi")
        out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 480), False)
        for _ in range(repeat):
            for image, _want in cases:
                for _ in range(3):
                    out.write(numpy.asarray(image))
        out.release()
        scanner = CameraScanner(lambda: VideoSource(path), FORMATS, hold=1)

        got, t0 = [], time.perf_counter()
        while scanner.source is not False:  # until the video has played out
            got.extend(scanner.next_frame())
        rate = scanner.frame_no / (time.perf_counter() - t0)
    want = [(s, t) for _ in range(repeat) for _image, codes in cases for s, t in codes]
    if [(s.symbology, s.text) for s in got] != want:  # each code once per presentation
        raise AssertionError("the camera scanner reported %d codes, expected %d" % (len(got), len(want)))
    return row("camera scanner pipeline (OpenCV MJPG 640x480, grey, zxing-cpp, hold)", rate)
