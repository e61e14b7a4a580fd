"""EMVCo QR codes for payments (device code, no I/O): the merchant-presented code our customer
screen shows, and the consumer-presented code the camera reads from the customer's phone.

    text = merchant_presented(1250, "Mustermann Feinkost", "Berlin", "SECR0001-000042", ACCOUNT)
    mpm = read_merchant_presented(text)   # {"amount": 1250, "currency": 978, "reference": ...}
    cpm = read_consumer_presented(text)   # {"pan", "expiry", "psn", "aid", "label", "icc"}: chip data
    crc16(b"...6304")                      # CRC-16/CCITT-FALSE, as the code's tag 63 carries it

Merchant-presented (EMVCo MPM): ASCII TLV, each object a 2-digit id, a 2-digit length that
counts *characters* (not bytes), the value; templates (26..51 merchant account, 62 additional
data, 64 language) nest the same way. ``00`` ("01") is first, ``63`` (the CRC, 4 upper-case hex
digits over the UTF-8 bytes of everything before it *including* "6304") is last. A code we read
must have the CRC right, 00 first and 63 last, lengths that hold, 52 (MCC), 53 (currency: EUR,
978), 58 (country), 59 (name) and 60 (city), and with an amount (54: digits, a point, at most
two decimals) point of initiation 12 (dynamic); anything else is a ``ProtocolError`` that says
what.

Consumer-presented (EMVCo CPM): base64 of BER-TLV — ``85`` payload format "CPV01", then ``61``
application templates (4F AID, 50 label, 5A PAN, 5F24 expiry, 5F34 PSN, 63 the cryptogram's
data: 9F26, 9F27, 9F10, 9F36, 82, 9F37 ...) and ``62`` common data. Every CPM code therefore
begins ``hQVDUFYwM`` (the tenth character carries two bits of "1" and four of the next tag:
``hQVDUFYwMQ`` only when nothing follows). The chip data goes to the acquirer as DE 55, like a
card's.
"""

import binascii

from core.errors import ProtocolError
from payment.emv import tlv

CPM_PREFIX = "hQVDUFYwM"  # base64 of 85 05 "CPV01": the first 54 of its 56 bits
EUR = "978"
_REQUIRED = (("52", "MCC"), ("53", "currency"), ("58", "country"), ("59", "merchant name"), ("60", "city"))
_TEMPLATES = set(["62", "64"] + ["%02d" % n for n in range(26, 52)])


def crc16(data):
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, not reflected, no final XOR."""
    value = 0xFFFF
    for b in data:
        value ^= b << 8
        for _ in range(8):
            value = ((value << 1) ^ 0x1021) & 0xFFFF if value & 0x8000 else (value << 1) & 0xFFFF
    return value


def _object(tag, value):
    if isinstance(value, list):
        value = "".join(_object(t, v) for t, v in value)
    if len(value) > 99:
        raise ValueError("EMVCo QR object %s is %d characters, at most 99" % (tag, len(value)))
    return "%s%02d%s" % (tag, len(value), value)


def encode(objects):
    """The code's text: ``objects`` ``[(id, value or [(id, value)...]), ...]``, then its CRC."""
    body = "".join(_object(t, v) for t, v in objects) + "6304"
    return body + "%04X" % crc16(body.encode())


def _items(text, what="the code"):
    out = []
    i, n = 0, len(text)
    while i < n:
        if i + 4 > n:
            raise ProtocolError("%s is cut off at character %d" % (what, i))
        tag, size = text[i : i + 2], text[i + 2 : i + 4]
        if not (tag.isdigit() and size.isdigit()):
            raise ProtocolError("%s: no id and length at character %d" % (what, i))
        i += 4
        length = int(size)
        if i + length > n:
            raise ProtocolError("%s: object %s runs past the end" % (what, tag))
        out.append((tag, text[i : i + length]))
        i += length
    return out


def parse(text):
    """``{id: value}``, templates as ``{id: value}`` too; the CRC and the order are checked."""
    if len(text) < 12 or text[-8:-4] != "6304":
        raise ProtocolError("no CRC (6304) at the end: not a whole EMVCo code")
    want = "%04X" % crc16(text[:-4].encode())
    if text[-4:].upper() != want:
        raise ProtocolError("EMVCo code CRC %s, computed %s (misread or altered)" % (text[-4:], want))
    objects = _items(text)
    if objects[0] != ("00", "01"):
        raise ProtocolError("EMVCo code does not begin with payload format 01")
    out = {}
    for tag, value in objects[:-1]:
        if tag == "63":
            raise ProtocolError("EMVCo code has its CRC before the end")
        if tag in out:
            raise ProtocolError("EMVCo code has object %s twice" % tag)
        out[tag] = dict(_items(value, "template " + tag)) if tag in _TEMPLATES else value
    return out


def _cents(text):
    euros, point, cents = text.partition(".")
    if not euros.isdigit() or (point and not (cents.isdigit() and len(cents) <= 2)) or len(euros) > 9:
        raise ProtocolError("EMVCo amount %r is not a decimal amount" % text)
    return int(euros) * 100 + (int((cents + "0")[:2]) if cents else 0)


def amount_text(cents):
    return "%d.%02d" % (cents // 100, cents % 100)


def merchant_presented(cents, name, city, reference, account, mcc="5411", country="DE"):
    """A dynamic code for ``cents``: ``account`` = ``(id, value)`` of our wallet host's merchant
    account template 26 (globally unique id: a reverse domain), ``reference`` in 62/05."""
    return encode(
        [
            ("00", "01"),
            ("01", "12"),
            ("26", [("00", account[0]), ("01", account[1])]),
            ("52", mcc),
            ("53", EUR),
            ("54", amount_text(cents)),
            ("58", country),
            ("59", name[:25]),
            ("60", city[:15]),
            ("62", [("05", reference)]),
        ]
    )


def read_merchant_presented(text):
    """A merchant-presented code as a payment: ``{"amount" (cents or None), "currency", "name",
    "city", "reference", "account": (id, value) or None, "dynamic"}``."""
    got = parse(text)
    for tag, what in _REQUIRED:
        if tag not in got:
            raise ProtocolError("EMVCo code without its %s (%s)" % (what, tag))
    if got["53"] != EUR:
        raise ProtocolError("EMVCo code in currency %s, not EUR (978)" % got["53"])
    dynamic = got.get("01") == "12"
    cents = None
    if "54" in got:
        if not dynamic:
            raise ProtocolError("EMVCo code has an amount but is static (01 is not 12)")
        cents = _cents(got["54"])
    account = None
    for n in range(26, 52):
        t = got.get("%02d" % n)
        if t is not None and "00" in t:
            account = (t["00"], t.get("01", ""))
            break
    return {
        "amount": cents,
        "currency": 978,
        "name": got["59"],
        "city": got["60"],
        "reference": got.get("62", {}).get("05", ""),
        "account": account,
        "dynamic": dynamic,
    }


# --- consumer-presented ----------------------------------------------------------------------------


def read_consumer_presented(text):
    """A consumer-presented code as chip data: ``{"pan", "expiry" (YYMM), "psn", "aid", "label",
    "icc" (DE 55: the 63 template's objects), "atc", "cryptogram"}``; ``ProtocolError`` otherwise."""
    if not text.startswith(CPM_PREFIX):
        raise ProtocolError("not an EMVCo consumer-presented code (no CPV01)")
    try:
        raw = binascii.a2b_base64(text)
    except ValueError:  # binascii.Error on CPython is one
        raise ProtocolError("consumer-presented code is not base64")
    top = tlv.items(raw)
    if not top or top[0] != (0x85, b"CPV01"):
        raise ProtocolError("consumer-presented code without payload format CPV01")
    app = None
    for tag, value in top[1:]:
        if tag == 0x61:
            app = tlv.decode(value)
            break
    if app is None:
        raise ProtocolError("consumer-presented code without an application template (61)")
    for tag, what in ((0x4F, "AID"), (0x5A, "PAN"), (0x5F24, "expiry"), (0x63, "cryptogram data")):
        if tag not in app:
            raise ProtocolError("consumer-presented code without its %s (%X)" % (what, tag))
    data = app[0x63]
    for tag, what in ((0x9F26, "cryptogram"), (0x9F36, "ATC"), (0x9F10, "issuer application data")):
        if tag not in data:
            raise ProtocolError("consumer-presented code without its %s (%X)" % (what, tag))
    pan = binascii.hexlify(app[0x5A]).decode().upper().rstrip("F")
    if not (12 <= len(pan) <= 19 and pan.isdigit()):
        raise ProtocolError("consumer-presented code: the PAN is not 12 to 19 digits")
    icc = b"".join(tlv.encode(t, v) for t, v in tlv.items(_template(raw, 0x61, 0x63)))
    psn = app.get(0x5F34)
    try:
        label = bytes(app.get(0x50, b"")).decode()
    except UnicodeError:
        raise ProtocolError("consumer-presented code: the application label is not text")
    return {
        "pan": pan,
        "expiry": binascii.hexlify(app[0x5F24]).decode()[:4],
        "psn": psn[0] if psn else None,
        "aid": binascii.hexlify(app[0x4F]).decode().upper(),
        "label": label,
        "icc": icc,
        "atc": int.from_bytes(data[0x9F36], "big"),
        "cryptogram": binascii.hexlify(data[0x9F26]).decode().upper(),
    }


def _template(raw, *path):
    value = tlv.find(raw, path)
    if value is None:
        raise ProtocolError("consumer-presented code without template %s" % "/".join("%X" % t for t in path))
    return value
