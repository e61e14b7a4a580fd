"""The digital receipt as a picture for people (host code): the receipt as printed (the
document's ``druck``), set in DejaVu Sans Mono on a paper-white strip, its QR code drawn as a
code (``qrcode``), saved as PNG or PDF (Pillow).

    doc = fetch("http://127.0.0.1:8085/r/<id>#<key>")   # the URL as the customer screen showed it
    image = render(doc)                                  # a PIL image
    save(doc, "bon.pdf")                                 # or bon.png
"""

import base64
import hashlib
import hmac
import json
import urllib.request

import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
import qrcode
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
SIZE, MARGIN = 18, 24


def open_sealed(key, blob):
    """The document of a sealed receipt (the format of firmware/digital/envelope.py)."""
    okm = HKDF(hashes.SHA256(), 64, None, b"smartECR receipt v1").derive(key)
    body, tag = blob[:-32], blob[-32:]
    if blob[:1] != b"\x01" or not hmac.compare_digest(hmac.new(okm[32:], body, hashlib.sha256).digest(), tag):
        raise ValueError("not a sealed receipt, or it was altered")
    dec = Cipher(algorithms.AES(okm[:32]), modes.CBC(body[1:17])).decryptor()
    unpad = padding.PKCS7(128).unpadder()
    return json.loads(unpad.update(dec.update(body[17:]) + dec.finalize()) + unpad.finalize())


def fetch(url):
    base, _, fragment = url.partition("#")
    if not fragment or "/r/" not in base:
        raise ValueError("a receipt URL is <server>/r/<id>#<key>")
    server, rid = base.split("/r/", 1)
    with urllib.request.urlopen("%s/api/receipts/%s" % (server, rid), timeout=10) as r:
        blob = r.read()
    key = base64.urlsafe_b64decode(fragment + "=" * (-len(fragment) % 4))
    return open_sealed(key, blob)


def render(doc):
    font = PIL.ImageFont.truetype(FONT, SIZE)
    lines = [ln for ln in doc["druck"].rstrip("\n").split("\n") if not ln.startswith("[QR] ")]
    advance = font.getbbox("M")[2]
    width = MARGIN * 2 + advance * max(42, max(len(ln) for ln in lines))
    line_h = SIZE + 6
    code = None
    if doc.get("qr"):
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=3, border=4)
        qr.add_data(doc["qr"])
        code = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    height = MARGIN * 2 + line_h * len(lines) + (code.height + MARGIN if code else 0)
    image = PIL.Image.new("RGB", (width, height), "white")
    draw = PIL.ImageDraw.Draw(image)
    for i, text in enumerate(lines):
        draw.text((MARGIN, MARGIN + i * line_h), text, fill="black", font=font)
    if code is not None:
        image.paste(code, ((width - code.width) // 2, MARGIN + line_h * len(lines)))
    return image


def save(doc, path):
    image = render(doc)
    if path.lower().endswith(".pdf"):
        image.save(path, "PDF", resolution=150)
    else:
        image.save(path, "PNG")
    return path
