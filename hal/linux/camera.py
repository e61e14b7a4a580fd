"""The camera scanner on an embedded-Linux terminal (CPython): frames from a V4L2 camera through
OpenCV, decoded with zxing-cpp, handed on as the same ``Symbol``/``ScanError`` a scan engine's
serial line gives.

    scanner = CameraScanner(VideoSource("/dev/video0", 640, 480), formats=("EAN13", "EAN8", "QR"))
    item = await scanner.read()       # Symbol("EAN13", "4006381333931"), once per presentation
    decode(frame, ("QR",))            # [Symbol(...) or ScanError(...)] of one grey frame

A code held under the camera is in many frames in a row: it is reported when it comes into
view and again only after it was out of view for ``hold`` frames (about 0.3 s at 30 frames/s
with the default 10), so one presentation rings up one article and showing it again rings up
another. zxing-cpp's AIM symbology identifier goes through ``hal.scanner.decode_line``, so the
camera and a scan engine apply the same checks (check digits, control bytes, lengths). Only
the configured formats are searched: each extra format costs decode time on every frame.

``VideoSource`` opens ``/dev/videoN`` with OpenCV's V4L2 backend and asks for the frame size;
any other source is a video file or an image sequence (``frames/f_%03d.png``), for tests and
demonstrations. Grabbing and decoding run in a worker thread so the till's event loop never
waits for the camera. A camera that stops giving frames (unplugged) raises ``OSError``; the
terminal retries and the device is opened again. A file that has played out ends the scanner
quietly (no replay, no repeated scans).
"""

import asyncio
import os
import threading

import zxingcpp

from core.errors import ConfigError, DeviceError
from hal.scanner import AIM, ScanError, Scanner, decode_line

# our symbology names (hal.scanner.AIM) -> zxing-cpp's format names
FORMATS = {"EAN13": "EAN13", "EAN8": "EAN8", "QR": "QRCode", "CODE128": "Code128", "CODE39": "Code39"}
DEFAULT_FORMATS = ("EAN13", "EAN8", "QR")


def zxing_formats(names, where="formats"):
    """zxing-cpp formats for our symbology names; ``ConfigError`` at ``where`` for an unknown one."""
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        known = ", ".join(FORMATS)
        raise ConfigError(where, "unknown format %s (known: %s)" % (", ".join(unknown) or "(none)", known))
    return tuple(getattr(zxingcpp.BarcodeFormat, FORMATS[n]) for n in names)


def decode(frame, formats):
    """``Symbol`` or ``ScanError`` for each code zxing-cpp finds in ``frame`` (grey array or PIL
    image); ``formats`` from ``zxing_formats``."""
    out = []
    for r in zxingcpp.read_barcodes(frame, formats=formats):
        try:
            out.append(decode_line((r.symbology_identifier + r.text).encode()))
        except ScanError as e:
            out.append(e)
    return out


def scanner_text(symbol):
    """What a scan engine configured for AIM identifiers sends for ``symbol`` (without CR)."""
    for prefix, name in AIM.items():
        if name == symbol.symbology:
            return prefix + symbol.text
    raise ValueError("no AIM identifier for %s" % symbol.symbology)


class VideoSource:
    """Grey frames from OpenCV's ``VideoCapture``: a V4L2 camera or a file."""

    def __init__(self, source, width=640, height=480):
        import cv2  # the board asks for a camera only when it has one

        self.cv2 = cv2
        self.source = source
        self.live = source.startswith("/dev/video")
        if not self.live and "%" not in source and not os.path.isfile(source):
            raise DeviceError("camera: no such device or file %s" % source)
        self.cap = cv2.VideoCapture(source, cv2.CAP_V4L2 if self.live else cv2.CAP_ANY)
        if not self.cap.isOpened():
            self.cap.release()
            raise DeviceError("camera %s cannot be opened" % source)
        if self.live:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)

    def read(self):
        """The next frame as a grey array; ``None`` when there is none (file ended, camera gone)."""
        ok, frame = self.cap.read()
        if not ok:
            return None
        if frame.ndim == 3:  # grey files come back with one channel already
            frame = self.cv2.cvtColor(frame, self.cv2.COLOR_BGR2GRAY)
        return frame

    def close(self):
        self.cap.release()


class CameraScanner(Scanner):
    def __init__(self, open_source, formats, hold=10):
        """``open_source()`` returns a source with ``read()``/``close()``/``live`` (opened on
        the first read, and again after the camera was lost); ``formats`` from ``zxing_formats``."""
        self.open_source = open_source
        self.formats = formats
        self.hold = hold
        self.source = None
        self.frame_no = 0
        self.seen = {}  # what was in view -> the last frame it was in
        self.pending = []
        self.ended = asyncio.Event()  # never set: a played-out file parks the reader here
        self.lock = threading.Lock()  # a cancelled read's thread may still be grabbing

    async def read(self):
        while not self.pending:
            if self.source is False:
                await self.ended.wait()
            self.pending = await asyncio.to_thread(self.next_frame)
        return self.pending.pop(0)

    def next_frame(self):
        """Grab and decode one frame (blocking: run it in a thread); what came into view."""
        with self.lock:
            if self.source is None:
                self.source = self.open_source()
                self.seen = {}  # back after a loss: what is in view now is a new presentation
            frame = self.source.read()
            if frame is None:
                live = self.source.live
                self.source.close()
                self.source = None
                if live:
                    raise OSError("camera gives no frames (unplugged?)")
                self.source = False  # a file: played out
                return []
            self.frame_no += 1
            return self._new(decode(frame, self.formats))

    def _new(self, items):
        """The items that came into view with this frame."""
        out = []
        for item in items:
            key = str(item) if isinstance(item, ScanError) else (item.symbology, item.text)
            last = self.seen.get(key)
            if last is None or self.frame_no - last > self.hold:
                out.append(item)
            self.seen[key] = self.frame_no
        for key in [k for k, n in self.seen.items() if self.frame_no - n > self.hold]:
            del self.seen[key]
        return out

    def close(self):
        with self.lock:
            if self.source:  # (False: a file that played out stays so)
                self.source.close()
                self.source = None


def create(s, board):
    """Board driver ``camera-scanner``: ``device`` (``/dev/video0`` or a file), ``width``,
    ``height``, ``formats`` (comma-separated, of EAN13, EAN8, QR, CODE128, CODE39), ``hold``."""
    device = s.str("device", "/dev/video0")
    width, height = s.int("width", 640, 160, 4096), s.int("height", 480, 120, 4096)
    names = [n.strip() for n in s.str("formats", ",".join(DEFAULT_FORMATS)).split(",") if n.strip()]
    formats = zxing_formats(names, s.path + ".formats")
    return CameraScanner(lambda: VideoSource(device, width, height), formats, s.int("hold", 10, 1, 1000))
