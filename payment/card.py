"""Reading a payment card: the EMV application selection steps every terminal does first.

    info = await read_card(reader) # {"aid": "A0000000041010", "label": "MASTERCARD",
                                   #  "pan": "************0434", "expiry": "2912"}

Steps (EMV Book 1, 11-12): power on; SELECT the PPSE "2PAY.SYS.DDF01" and take the first
application's AID (tag 4F) from its FCI; SELECT that AID; GET PROCESSING OPTIONS with an
empty PDOL; READ RECORD SFI 1 record 1 for the PAN (5A) and expiry (5F24). The PAN leaves
this module masked (last four digits only): the full number is never stored or logged.
A card answer that is not BER-TLV, lacks a tag or has an error status is ``ProtocolError``;
a card pulled in between is the reader's ``CardRemoved``.
"""

import binascii

from core.errors import ProtocolError

PPSE = b"2PAY.SYS.DDF01"


def tlv_items(data):
    """(tag, value) pairs of one BER-TLV level; constructed values are left to the caller."""
    i, n = 0, len(data)
    out = []
    while i < n:
        if data[i] in (0x00, 0xFF):  # padding between objects
            i += 1
            continue
        tag = data[i]
        i += 1
        if tag & 0x1F == 0x1F:
            if i >= n:
                raise ProtocolError("TLV tag cut off")
            tag = (tag << 8) | data[i]
            i += 1
        if i >= n:
            raise ProtocolError("TLV length missing")
        length = data[i]
        i += 1
        if length & 0x80:
            count = length & 0x7F
            if count not in (1, 2) or i + count > n:
                raise ProtocolError("TLV length form not supported")
            length = int.from_bytes(data[i : i + count], "big")
            i += count
        if i + length > n:
            raise ProtocolError("TLV value runs past the data (tag %X)" % tag)
        out.append((tag, data[i : i + length]))
        i += length
    return out


def find(data, path):
    """The value at ``path`` (tags, outermost first) or ``None``."""
    for tag, value in tlv_items(data):
        if tag == path[0]:
            return value if len(path) == 1 else find(value, path[1:])
    return None


async def _apdu(reader, apdu, what):
    rapdu = await reader.transmit(apdu)
    sw = rapdu[-2:]
    if sw != b"\x90\x00":
        raise ProtocolError("card refused %s: SW %s" % (what, binascii.hexlify(sw).decode()))
    return rapdu[:-2]


def select(name):
    return b"\x00\xa4\x04\x00" + bytes((len(name),)) + name + b"\x00"


def mask_pan(pan):
    return "*" * (len(pan) - 4) + pan[-4:]


async def read_card(reader):
    await reader.power_on()
    try:
        fci = await _apdu(reader, select(PPSE), "SELECT PPSE")
        aid = find(fci, (0x6F, 0xA5, 0xBF0C, 0x61, 0x4F))
        if not aid:
            raise ProtocolError("PPSE lists no application")
        fci = await _apdu(reader, select(aid), "SELECT AID")
        label = find(fci, (0x6F, 0xA5, 0x50)) or b""
        await _apdu(reader, b"\x80\xa8\x00\x00\x02\x83\x00\x00", "GET PROCESSING OPTIONS")
        record = await _apdu(reader, b"\x00\xb2\x01\x0c\x00", "READ RECORD")
        pan = find(record, (0x70, 0x5A))
        expiry = find(record, (0x70, 0x5F24))
        if not pan or not expiry:
            raise ProtocolError("card record has no PAN or expiry")
        digits = binascii.hexlify(pan).decode().upper().rstrip("F")
        if not digits.isdigit() or not 12 <= len(digits) <= 19:
            raise ProtocolError("card PAN is not 12..19 digits")
        return {
            "aid": binascii.hexlify(aid).decode().upper(),
            "label": label.decode(),
            "pan": mask_pan(digits),
            "expiry": binascii.hexlify(expiry).decode()[:4],
        }
    finally:
        await reader.power_off()
