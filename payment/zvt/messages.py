"""ZVT's commands and messages (PA00P015 rev. 13.08): what each APDU's data holds, device code.

    data = registration("000000", config=0xBA)         # ECR -> PT, control REGISTRATION
    data = authorization(314)                          # 3,14 EUR
    status = status_information(data)                  # PT -> ECR 04 0F, as the payment record
    code, minutes, texts = intermediate(data)          # 04 FF: what the customer is to do
    attribute, line = print_line(data)                 # 06 D1
    copy, lines = print_block(data)                    # 06 D3
    result_text(0x6C)                                  # "Abbruch (Zeit oder Abbruchtaste)"

Amounts are cents (6 BCD bytes), the currency is EUR (``09 78``; a PT assumes EUR when none is
sent). The 3-byte password is six BCD digits. Texts are CP437. A PAN is only ever masked here
(``E`` digits on the wire, ``*`` in the record): a PT does not send more, and ours sends no more.
"""

import binascii

from core.errors import ProtocolError
from payment.emv import tlv
from payment.zvt import codec
from payment.zvt.codec import bcd, bmp, unbcd

# ECR -> PT
REGISTRATION, AUTHORIZATION, LOG_OFF = 0x0600, 0x0601, 0x0602
REPEAT_RECEIPT, REVERSAL, REFUND = 0x0620, 0x0630, 0x0631
END_OF_DAY, DIAGNOSIS, ABORT, STATUS_ENQUIRY = 0x0650, 0x0670, 0x06B0, 0x0501
# PT -> ECR
COMPLETION, ABORTED, STATUS_INFO, INTERMEDIATE = 0x060F, 0x061E, 0x040F, 0x04FF
PRINT_LINE, PRINT_BLOCK, SET_TIME = 0x06D1, 0x06D3, 0x0401
# answers
ACK = 0x8000
NEGATIVE = 0x84

NAMES = {
    REGISTRATION: "Registration",
    AUTHORIZATION: "Authorization",
    LOG_OFF: "Log-Off",
    REPEAT_RECEIPT: "Repeat Receipt",
    REVERSAL: "Reversal",
    REFUND: "Refund",
    END_OF_DAY: "End-of-Day",
    DIAGNOSIS: "Diagnosis",
    ABORT: "Abort",
    STATUS_ENQUIRY: "Status Enquiry",
    COMPLETION: "Completion",
    ABORTED: "Abort (PT)",
    STATUS_INFO: "Status Information",
    INTERMEDIATE: "Intermediate Status",
    PRINT_LINE: "Print Line",
    PRINT_BLOCK: "Print Text Block",
    SET_TIME: "Set Date and Time",
}

# Registration's config byte (PA00P015 §2.1)
PRINTS_PAYMENT, PRINTS_ADMIN, WANTS_STATUS = 0x02, 0x04, 0x08
CONTROLS_PAYMENT, CONTROLS_ADMIN, FORMATTED_LINES = 0x10, 0x20, 0x80
CONFIG = 0xBA  # ECR prints payment receipts from the PT's lines, wants status, controls both
AFTER_LOG_OFF = 0x86

EUR = 978
OK = 0x00
TIMEOUT_OR_ABORT, WRONG_CURRENCY, NOT_POSSIBLE = 0x6C, 0x6F, 0x83
COMMUNICATION, PROTOCOL, NO_CONNECTION = 0x7D, 0x9A, 0xA3
ALREADY_REVERSED, NO_REVERSAL, PRINTER_NOT_READY, SYSTEM = 0xB4, 0xB5, 0xCC, 0xFF

RESULTS = {
    0x00: "ok",
    0x64: "Karte nicht lesbar",
    0x65: "Kartendaten fehlen",
    0x66: "Verarbeitungsfehler",
    0x6B: "Funktion deaktiviert (nicht angemeldet)",
    0x6C: "Abbruch (Zeit oder Abbruchtaste)",
    0x6F: "falsche Währung",
    0x78: "Karte verfallen",
    0x7A: "Karte unbekannt",
    0x7D: "Kommunikationsfehler",
    0x83: "Funktion nicht möglich",
    0x9A: "ZVT-Protokollfehler",
    0x9C: "bitte warten",
    0xA0: "Empfänger nicht bereit",
    0xA3: "keine Verbindung",
    0xB4: "bereits storniert",
    0xB5: "Storno nicht möglich",
    0xC2: "Diagnose erforderlich",
    0xCC: "Drucker nicht bereit",
    0xDC: "Karte steckt",
    0xE4: "Aktivierung erforderlich",
    0xF0: "Kassenschnitt offen",
    0xFF: "Systemfehler",
}

# Intermediate status (04 FF), PA00P015 §3.7: what the PT asks of the customer
STATUS = {
    0x00: "Betrag bestätigen",
    0x01: "Bitte PIN-Pad beachten",
    0x02: "Bitte PIN-Pad beachten",
    0x03: "Vorgang nicht möglich",
    0x04: "Warte auf Antwort",
    0x05: "Automatischer Storno",
    0x06: "Nachbuchungen laufen",
    0x07: "Karte nicht zugelassen",
    0x08: "Karte unbekannt",
    0x09: "Karte verfallen",
    0x0A: "Karte einstecken",
    0x0B: "Bitte Karte entnehmen",
    0x0C: "Karte nicht lesbar",
    0x0D: "Vorgang abgebrochen",
    0x0E: "Bitte warten",
    0x0F: "Automatischer Kassenschnitt",
    0x10: "Karte ungültig",
    0x11: "Guthabenanzeige",
    0x12: "Systemfehler",
    0x13: "Zahlung nicht möglich",
    0x14: "Guthaben nicht ausreichend",
    0x15: "PIN falsch",
    0x16: "Limit nicht ausreichend",
    0x17: "Bitte warten",
    0x18: "PIN-Versuche überschritten",
    0x19: "Kartendaten fehlerhaft",
    0x1A: "Servicemodus",
    0x1B: "Genehmigt. Bitte tanken",
    0x1C: "Zahlung erfolgt",
    0x1D: "Abgelehnt",
}
INSERT_CARD, REMOVE_CARD, PLEASE_WAIT, PIN_PAD, APPROVED, DECLINED = 0x0A, 0x0B, 0x0E, 0x01, 0x1C, 0x1D

# ZVT card types (BMP 8A) and how a payment with each is booked (DSFinV-K ZAHLART_TYP)
CARDS = {
    0x05: ("girocard", "ECKarte"),
    0x06: ("Mastercard", "Kreditkarte"),
    0x08: ("American Express", "Kreditkarte"),
    0x0A: ("Visa", "Kreditkarte"),
    0x0B: ("Visa Electron", "Kreditkarte"),
    0x0D: ("V PAY", "ECKarte"),
    0x0E: ("JCB", "Kreditkarte"),
    0x2E: ("Maestro", "ECKarte"),
    0x61: ("Alipay", "ElZahlungsdienstleister"),
    0x6F: ("Instant Payment", "Unbar"),
}
# our kernel's schemes as ZVT card types (our PT side says which card paid)
SCHEME_CARD = {
    "girocard": 0x05,
    "mastercard": 0x06,
    "amex": 0x08,
    "visa": 0x0A,
    "vpay": 0x0D,
    "maestro": 0x2E,
}

# TLV 1F10 cardholder authentication -> the record's ``cvm``
CVMS = {
    0x00: "none",
    0x01: "signature",
    0x02: "online PIN",
    0x03: "offline enciphered PIN",
    0x04: "offline plaintext PIN",
    0x05: "offline enciphered PIN and signature",
    0x06: "offline plaintext PIN and signature",
    0x07: "online PIN and signature",
    0xFF: "unknown",
}
TECHNOLOGY = {0x00: "magstripe", 0x01: "chip", 0x02: "contactless"}


def result_text(code):
    if 0x01 <= code <= 0x63:
        return "vom Autorisierungssystem abgelehnt (%d)" % code
    return RESULTS.get(code, "Fehler %02X" % code)


def status_text(code):
    """The customer's prompt for intermediate status ``code`` (41.. = the same, remove card)."""
    if code >= 0x41 and code - 0x40 in STATUS:
        return STATUS[code - 0x40] + ", Karte entnehmen"
    return STATUS.get(code, "")


def password(digits):
    """Six digits as the 3-byte BCD password; anything else is a ``ValueError``."""
    if len(digits) != 6 or not digits.isdigit():
        raise ValueError("a ZVT password is six digits")
    return bcd(int(digits), 3)


def amount(cents):
    return bmp(0x04, bcd(cents, 6))


def _currency(code):
    return bcd(code, 2)


# --- ECR -> PT ---------------------------------------------------------------------------------


def registration(pwd, config=CONFIG, currency=EUR, service=None, objects=None):
    """06 00: password, config byte, currency (no BMP number), service byte, TLV container
    (``objects``: ``[]`` sends the empty container that enables TLV)."""
    data = password(pwd) + bytes((config,)) + _currency(currency)
    if service is not None:
        data += bmp(0x03, bytes((service,)))
    if objects is not None:
        data += bmp(0x06, codec.container(objects))
    return data


def authorization(cents, currency=None, payment_type=None, timeout_s=None, max_infos=None):
    """06 01: the amount; the PT's waiting time for goods issue (BMP 01) and the number of
    status-information repeats (02) when given."""
    data = amount(cents)
    if currency is not None:
        data += bmp(0x49, _currency(currency))
    if payment_type is not None:
        data += bmp(0x19, bytes((payment_type,)))
    if timeout_s is not None:
        data += bmp(0x01, bytes((timeout_s,)))
    if max_infos is not None:
        data += bmp(0x02, bytes((max_infos,)))
    return data


def reversal(pwd, receipt_no, cents=None):
    """06 30: the payment with ``receipt_no`` (the PT's receipt number, BMP 87) goes back."""
    data = password(pwd) + bmp(0x87, bcd(receipt_no, 2))
    return data if cents is None else data + amount(cents)


def refund(pwd, cents, currency=None):
    data = password(pwd) + amount(cents)
    return data if currency is None else data + bmp(0x49, _currency(currency))


def with_password(pwd):
    """End-of-Day (06 50), Repeat Receipt (06 20): the password alone."""
    return password(pwd)


def status_enquiry(pwd=None, service=None):
    if pwd is None:
        return b""
    data = password(pwd)
    return data if service is None else data + bmp(0x03, bytes((service,)))


# --- the data of an APDU as a dict -------------------------------------------------------------


def fields(data, i=0):
    """``{bmp: value}`` of BMPs (the first of each number), the TLV container decoded one level
    deep as ``{tag: value}`` under ``"tlv"``."""
    out = {}
    for number, value in codec.bmps(data, i):
        if number not in out:
            out[number] = value
    if 0x06 in out:
        out["tlv"] = _objects(out[0x06])
    return out


def _objects(data):
    """A TLV container's objects, one level: ``{tag: value}`` (a constructed value as bytes)."""
    out = {}
    for tag, value in tlv.items(data):
        if tag not in out:
            out[tag] = value
    return out


def _ascii(value):
    return codec.text(value.split(b"\x00")[0]).strip()


def command(control, data):
    """What an ECR's command asks, as a dict for the PT side: ``password`` (text), ``config``,
    ``currency``, ``service``, ``amount``, ``receipt_no``, ``payment_type``, ``tlv``, ``timeout_s``,
    ``max_infos``; a command that does not parse is a ``ProtocolError``."""
    out = {}
    i = 0
    if control in (REGISTRATION, REVERSAL, REFUND, END_OF_DAY, REPEAT_RECEIPT) or (
        control == STATUS_ENQUIRY and len(data) >= 3
    ):
        if len(data) < 3:
            raise ProtocolError("%s without its password" % NAMES.get(control, "command"))
        out["password"] = "%06d" % unbcd(data[:3], "password")
        i = 3
    if control == REGISTRATION:
        if len(data) < 4:
            raise ProtocolError("Registration without its config byte")
        out["config"] = data[3]
        i = 4
        if len(data) >= 6 and data[4] not in (0x03, 0x06):
            out["currency"] = unbcd(data[4:6], "currency")
            i = 6
    f = fields(data, i)
    if 0x04 in f:
        out["amount"] = unbcd(f[0x04], "amount")
    if 0x49 in f:
        out["currency"] = unbcd(f[0x49], "currency")
    if 0x87 in f:
        out["receipt_no"] = unbcd(f[0x87], "receipt number")
    for number, name in ((0x03, "service"), (0x19, "payment_type"), (0x01, "timeout_s"), (0x02, "max_infos")):
        if number in f:
            out[name] = f[number][0]
    if "tlv" in f:
        out["tlv"] = f["tlv"]
    return out


def intermediate(data):
    """04 FF: ``(status code, new T4 in minutes or None, [display texts])``."""
    if not data:
        raise ProtocolError("Intermediate Status without its status byte")
    code = data[0]
    minutes = unbcd(data[1:2], "T4 timeout") if len(data) >= 2 else None
    texts = []
    if len(data) > 2:
        f = fields(data, 2)
        block = f.get("tlv", {}).get(0x24)
        if block is not None:
            texts = [codec.text(v) for t, v in tlv.items(block) if t == 0x07]
    return code, minutes, texts


def status_information(data):
    """04 0F as the payment record: ``result`` (int), ``amount`` (cents), ``trace``,
    ``receipt_no``, ``turnover_no``, ``tid``, ``vu``, ``time``, ``date``, ``expiry``, ``psn``,
    ``payment_type``, ``pan`` (masked), ``auth_code``, ``text``, ``card_type``, ``card_name``,
    ``aid`` (EMV AID, hex), ``cvm`` (cardholder authentication), ``technology`` — whatever the PT
    sent; ``totals`` (end of day: cents) too."""
    f = fields(data)
    out = {"result": f[0x27][0] if 0x27 in f else OK}
    bcds = (
        (0x04, "amount", 0),
        (0x0B, "trace", 6),
        (0x37, "original_trace", 6),
        (0x87, "receipt_no", 0),
        (0x88, "turnover_no", 0),
        (0x29, "tid", 8),
        (0x0C, "time", 6),
        (0x0D, "date", 4),
        (0x0E, "expiry", 4),
        (0x17, "psn", 0),
        (0x49, "currency", 0),
    )
    for number, name, width in bcds:
        if number in f:
            n = unbcd(f[number], name)
            out[name] = "%0*d" % (width, n) if width else n
    if 0x19 in f:
        out["payment_type"] = f[0x19][0]
    if 0x22 in f:
        out["pan"] = codec.digits(f[0x22])
    if 0x2A in f:
        out["vu"] = _ascii(f[0x2A])
    if 0x3B in f:
        out["auth_code"] = _ascii(f[0x3B])
    if 0x3C in f:
        out["text"] = codec.text(f[0x3C])
    if 0x8A in f:
        out["card_type"] = f[0x8A][0]
    if 0x8B in f:
        out["card_name"] = _ascii(f[0x8B])
    if 0xA0 in f:
        out["result_as"] = f[0xA0][0]
    objects = f.get("tlv", {})
    if 0x43 in objects:
        out["aid"] = binascii.hexlify(objects[0x43]).decode().upper()
    if 0x1F10 in objects and objects[0x1F10]:
        out["cvm"] = CVMS.get(objects[0x1F10][0], "unknown")
    if 0x1F12 in objects and objects[0x1F12]:
        out["technology"] = TECHNOLOGY.get(objects[0x1F12][0], "unknown")
    return out


def completion(data):
    """06 0F after most commands: ``{"result", "status", "tid", "currency", "date"}`` as sent."""
    f = fields(data)
    out = {"result": f[0x27][0] if 0x27 in f else OK}
    if 0x19 in f:
        out["status"] = f[0x19][0]
    if 0x29 in f:
        out["tid"] = "%08d" % unbcd(f[0x29], "tid")
    if 0x49 in f:
        out["currency"] = unbcd(f[0x49], "currency")
    return out


def enquiry_completion(data):
    """06 0F after Status Enquiry: ``{"version", "status"}`` (the SW version is an LLLVAR without
    a BMP number, absent when the ECR asked for none)."""
    out = {"version": ""}
    i = 0
    if len(data) >= 4 and data[0] >> 4 == 0x0F:
        length, i = codec.var_length(data, 0, 3, 0)
        if i + length > len(data):
            raise ProtocolError("Status Enquiry: the SW version runs past the data")
        out["version"] = codec.text(data[i : i + length])
        i += length
    if i >= len(data):
        raise ProtocolError("Status Enquiry completion without the terminal status")
    out["status"] = data[i]
    return out


def aborted(data):
    """06 1E: ``(result code, text)``: the extended error text (TLV 1F17) when there is one."""
    if not data:
        raise ProtocolError("Abort without its result code")
    text = ""
    if len(data) > 1:
        objects = fields(data, 1).get("tlv", {})
        if 0x1F17 in objects:
            text = codec.text(objects[0x1F17])
    return data[0], text or result_text(data[0])


def print_line(data):
    """06 D1: ``(attribute, text)``; the attribute 0x80|x (x != 0) ends a receipt."""
    if not data:
        raise ProtocolError("Print Line without its attribute")
    return data[0], codec.text(data[1:])


def print_block(data):
    """06 D3: ``(receipt type, [lines])``: type 1 merchant, 2 cardholder (TLV 1F07), the text
    lines (tag 07) of the print texts (tag 25)."""
    objects = fields(data).get("tlv", {})
    kind = objects.get(0x1F07, b"\x00")
    lines = []
    block = objects.get(0x25)
    if block is not None:
        lines = [codec.text(v) for t, v in tlv.items(block) if t == 0x07]
    return (kind[0] if kind else 0), lines


def is_last_line(attribute):
    return attribute & 0x80 and attribute != 0x80 and attribute != 0xFF


# --- PT -> ECR (our PT side) -------------------------------------------------------------------


def status_information_data(rec):
    """04 0F's data from a payment record (the keys ``status_information`` gives)."""
    data = bmp(0x27, bytes((rec.get("result", OK),)))
    if "amount" in rec:
        data += amount(rec["amount"])
    for number, name, size in (
        (0x0B, "trace", 3),
        (0x37, "original_trace", 3),
        (0x0C, "time", 3),
        (0x0D, "date", 2),
        (0x0E, "expiry", 2),
        (0x17, "psn", 2),
    ):
        if rec.get(name) not in (None, ""):
            data += bmp(number, bcd(int(rec[name]), size))
    if rec.get("payment_type") is not None:
        data += bmp(0x19, bytes((rec["payment_type"],)))
    if rec.get("pan"):
        data += bmp(0x22, _masked(rec["pan"]))
    if rec.get("tid"):
        data += bmp(0x29, bcd(int(rec["tid"]), 4))
    if rec.get("vu") is not None:
        data += bmp(0x2A, (codec.cp437(rec["vu"]) + b" " * 15)[:15])
    if rec.get("auth_code"):
        data += bmp(0x3B, (codec.cp437(rec["auth_code"]) + bytes(8))[:8])
    if rec.get("text"):
        data += bmp(0x3C, codec.cp437(rec["text"]))
    data += bmp(0x49, _currency(rec.get("currency", EUR)))
    if rec.get("receipt_no") is not None:
        data += bmp(0x87, bcd(rec["receipt_no"], 2))
    if rec.get("turnover_no") is not None:
        data += bmp(0x88, bcd(rec["turnover_no"], 3))
    if rec.get("card_type") is not None:
        data += bmp(0x8A, bytes((rec["card_type"],)))
    if rec.get("card_name"):
        data += bmp(0x8B, codec.cp437(rec["card_name"]) + b"\x00")
    objects = []
    if rec.get("aid"):
        objects.append((0x43, binascii.unhexlify(rec["aid"])))
    if rec.get("cvm") is not None:
        objects.append((0x1F10, bytes((_key(CVMS, rec["cvm"], 0xFF),))))
    if rec.get("technology") is not None:
        objects.append((0x1F12, bytes((_key(TECHNOLOGY, rec["technology"], 0x01),))))
    if objects and rec.get("tlv", True):
        data += bmp(0x06, codec.container(objects))
    return data


def _key(table, value, default):
    for k, v in table.items():
        if v == value:
            return k
    return default


def _masked(pan):
    """A masked PAN (``*`` digits) as BMP 22's BCD: ``*`` is E, an odd length padded with F."""
    nibbles = [0x0E if c == "*" else int(c) for c in pan]
    if len(nibbles) % 2:
        nibbles.append(0x0F)
    return bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, len(nibbles), 2))


def intermediate_data(code, minutes=None, texts=None):
    """04 FF's data; a T4 in minutes must precede display texts."""
    data = bytes((code,))
    if minutes is not None or texts:
        data += bcd(3 if minutes is None else minutes, 1)
    if texts:
        data += bmp(0x06, codec.container([(0x24, [(0x07, codec.cp437(t)) for t in texts])]))
    return data


def print_line_data(attribute, line):
    return bytes((attribute,)) + codec.cp437(line)


def print_block_data(kind, lines):
    """06 D3's data: receipt type ``kind`` (1 merchant, 2 cardholder) and its text lines."""
    texts = [(0x07, codec.cp437(t)) for t in lines]
    return bmp(0x06, codec.container([(0x1F07, bytes((kind,))), (0x25, texts)]))


def completion_data(tid=None, currency=None, status=None):
    data = b""
    if status is not None:
        data += bmp(0x19, bytes((status,)))
    if tid is not None:
        data += bmp(0x29, bcd(int(tid), 4))
    if currency is not None:
        data += bmp(0x49, _currency(currency))
    return data


def enquiry_completion_data(version, status=0x00):
    raw = codec.cp437(version)
    return codec.var_prefix(len(raw), 3) + raw + bytes((status,))


def aborted_data(code, text=None):
    data = bytes((code,))
    if text:
        data += bmp(0x06, codec.container([(0x1F16, bytes((code,))), (0x1F17, codec.cp437(text))]))
    return data
