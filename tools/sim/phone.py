"""The customer's phone in the simulator (host code): the codes a wallet app shows the terminal's
camera, and the app that scans the code on the terminal's customer screen and pays it.

    phone = Phone(wallet_port)
    text = phone.cpm("wallet")             # an EMVCo consumer-presented code: chip data, a real ARQC
    token = phone.token()                  # a Bluecode-style wallet token (declined=True: refused)
    text = phone.read(panel)               # what the customer screen's QR code says (zxing-cpp)
    phone.pay(text)                        # pays a merchant-presented code through the wallet host

The consumer-presented code is made the way the EMVCo CPM specification lays it out (85 CPV01,
61 with the application's data and its 63 template) from a card profile of ``data/cards``; its
cryptogram is pyemv's over the profile's issuer key, so the acquirer simulator checks it as it
checks a card's (the amount is unknown when the code is made: the cryptogram covers 0, DE 4
carries the sale's). The merchant-presented code is read apart from the terminal's own parser:
its CRC with crcmod's catalogue (CRC-16/CCITT-FALSE), its objects with a parser of its own.
"""

import base64
import json
import secrets
import time
import urllib.request

import crcmod.predefined
import zxingcpp

from tools import upy
from tools.sim.card import tlv
from tools.sim.emv_card import AC_TAGS, CVNS, cryptogram, quiet

CCITT = crcmod.predefined.mkCrcFun("crc-ccitt-false")


def _profile(name):
    with open(upy.ROOT / "data" / "cards" / (name + ".json")) as f:
        return json.load(f)


def _objects(text):
    out, i = {}, 0
    while i < len(text):
        tag, n = text[i : i + 2], int(text[i + 2 : i + 4])
        out[tag] = text[i + 4 : i + 4 + n]
        i += 4 + n
    return out


class Phone:
    def __init__(self, wallet_port):
        self.wallet_port = wallet_port
        self.atc = 100

    def cpm(self, profile="wallet"):
        p = _profile(profile)
        self.atc += 1
        mk = bytes.fromhex(p["mk_ac"])
        gen = quiet(CVNS[p["cvn"]], mk, mk, mk, p["pan"], p.get("psn", "00"))
        values = {
            0x9F02: bytes(6),
            0x9F03: bytes(6),
            0x9F1A: bytes.fromhex("0276"),
            0x95: bytes(5),
            0x5F2A: bytes.fromhex("0978"),
            0x9A: bytes.fromhex(time.strftime("%y%m%d")),
            0x9C: b"\x00",
            0x9F37: secrets.token_bytes(4),
        }
        aip, atc = bytes.fromhex(p["aip"]), self.atc.to_bytes(2, "big")
        cvr = bytes((0x03, 0xA0, 0x00, 0x00))  # ARQC asked for
        ac = cryptogram(gen, values, aip, atc, cvr)
        data = b"".join(tlv(t, values[t]) for t in AC_TAGS)
        data += tlv(0x9F26, ac) + tlv(0x9F27, b"\x80") + tlv(0x9F10, b"\x06\x01\x0a" + cvr)
        data += tlv(0x9F36, atc) + tlv(0x82, aip)
        pan = p["pan"] + ("F" if len(p["pan"]) % 2 else "")
        app = tlv(0x4F, bytes.fromhex(p["aid"])) + tlv(0x50, p["label"].encode())
        app += tlv(0x5A, bytes.fromhex(pan)) + tlv(0x5F24, bytes.fromhex(p["expiry"]))
        app += tlv(0x5F34, bytes.fromhex(p.get("psn", "00"))) + tlv(0x63, data)
        raw = tlv(0x85, b"CPV01") + tlv(0x61, app)
        return base64.b64encode(raw).decode()

    def token(self, declined=False):
        digits = "".join(str(secrets.randbelow(10)) for _ in range(15))
        if declined:
            digits = digits[:11] + "0000"
        return "98802" + digits

    def read(self, panel):
        """The QR code on the panel, or None."""
        codes = zxingcpp.read_barcodes(panel.image(), formats=zxingcpp.BarcodeFormat.QRCode)
        return codes[0].text if codes else None

    def pay(self, text, amount=None):
        """Pay the merchant-presented code ``text`` (``amount``: what the app sends, default the
        code's). The wallet host's answer."""
        if CCITT(text[:-4].encode()) != int(text[-4:], 16):
            raise ValueError("the code's CRC does not hold")
        objects = _objects(text)
        reference = _objects(objects["62"])["05"]
        cents = round(float(objects["54"]) * 100) if amount is None else amount
        body = json.dumps({"amount": cents, "wallet": "simulated phone"}).encode()
        url = "http://127.0.0.1:%d/v1/intents/%s/pay" % (self.wallet_port, reference)
        req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())
