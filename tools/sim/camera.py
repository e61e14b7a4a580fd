"""The camera scanner in the simulator: an image file (a photo of a code, a screenshot) decoded
on the host with the Linux camera driver's decoder (``hal.linux.camera``, zxing-cpp), each code
then sent to emupos' serial scanner the way a scan engine sends it (``scanner_text``).

    decode_file("qr.png")     # [Symbol("QR", "V0;...")], or a ScanError for a code the till rejects
"""

import PIL.Image

from hal.linux.camera import DEFAULT_FORMATS, decode, zxing_formats

ENABLED = zxing_formats(DEFAULT_FORMATS)


def decode_file(path):
    with PIL.Image.open(path) as image:
        return decode(image.convert("L"), ENABLED)
