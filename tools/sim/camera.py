"""The camera scanner in the simulator: frames (image files) decoded with zxing-cpp on the host,
the result sent on as a scan engine would, with its AIM symbology identifier.

    decode_file("qr.png")          # [("QR", "V0;...")]
    decode_frame(pil_image)        # the same for a frame in memory (640x480 grey in the benchmark)
    to_scanner(("EAN13", "4006381333931"))   # "]E04006381333931", what the serial line carries

Only the formats a till needs are enabled (EAN-13, EAN-8, QR code): each extra format costs
decode time on every frame.
"""

import PIL.Image
import zxingcpp

FORMATS = {
    zxingcpp.BarcodeFormat.EAN13: ("EAN13", "]E0"),
    zxingcpp.BarcodeFormat.EAN8: ("EAN8", "]E4"),
    zxingcpp.BarcodeFormat.QRCode: ("QR", "]Q1"),
}
ENABLED = tuple(FORMATS)
AIM = {name: prefix for name, prefix in FORMATS.values()}


def decode_frame(image):
    """``[(symbology, text)]`` of every enabled code in ``image`` (PIL image or array)."""
    return [(FORMATS[r.format][0], r.text) for r in zxingcpp.read_barcodes(image, formats=ENABLED)]


def decode_file(path):
    with PIL.Image.open(path) as image:
        return decode_frame(image.convert("L"))


def to_scanner(symbol):
    name, text = symbol
    return AIM[name] + text
