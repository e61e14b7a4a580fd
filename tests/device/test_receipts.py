from support import demo_master

from firmware.receipts import CUSTOMER, MERCHANT, receipt, slip, to_escpos, to_text
from firmware.reports import report, totals
from hal.printer import PrinterCaps

M = demo_master()

SIGNED = {
    "bon_nr": 12,
    "bon_id": "12",
    "bon_typ": "Beleg",
    "bon_name": "",
    "z_nr": 1,
    "start": 1779444000,
    "end": 1779444012,
    "operator": {"id": "1", "name": "Anna Kasse"},
    "lines": [
        {
            "pos": 1,
            "gv_typ": "Umsatz",
            "text": "Kaffee Crema 250 g",
            "qty": 2000,
            "price": 549,
            "amount": 1098,
            "vat_key": 2,
            "storno": False,
        },
        {
            "pos": 2,
            "gv_typ": "Umsatz",
            "text": "Äpfel Elstar (kg)",
            "qty": 1234,
            "price": 299,
            "amount": 369,
            "vat_key": 2,
            "storno": False,
            "unit": "kg",
        },
        {
            "pos": 3,
            "gv_typ": "Umsatz",
            "text": "Spülmittel",
            "qty": 1000,
            "price": 179,
            "amount": 179,
            "vat_key": 1,
            "storno": False,
        },
        {
            "pos": 4,
            "gv_typ": "Umsatz",
            "text": "Spülmittel",
            "qty": -1000,
            "price": 179,
            "amount": -179,
            "vat_key": 1,
            "storno": True,
            "ref_pos": 3,
        },
    ],
    "payments": [
        {"typ": "Bar", "name": "Bargeld", "amount": 467},
        {"typ": "ECKarte", "name": "EC-Karte", "amount": 1000},
    ],
    "given": 2000,
    "change": 1533,
    "total": 1467,
    "vat": [[2, 700, 1467, 1371, 96]],
    "references": [],
    "tse": {
        "number": 227,
        "start": 1779444001,
        "end": 1779444011,
        "counter": 671,
        "signature": "AAAA" * 32,
        "serial": "ab" * 32,
        "client_id": "SMARTECR-SIM-0001",
        "process_type": "Kassenbeleg-V1",
        "process_data": "Beleg^0.00_14.67_0.00_0.00_0.00^4.67:Bar_10.00:Unbar",
        "qr": "V0;SMARTECR-SIM-0001;x",
    },
}


def _text(record, **kw):
    return to_text(receipt(record, M, 42, **kw))


def test_every_field_of_section_6_kassensichv():
    text = _text(SIGNED)
    for field in (
        "Mustermann Feinkost GmbH",
        "Hauptstraße 12",
        "10115 Berlin",  # seller, address
        "St.-Nr. 27/123/45678",
        "USt-IdNr. DE123456789",  # tax numbers
        "22.05.2026 12:00:12",  # date and time (local, summer time)
        "TSE-Start         2026-05-22T10:00:01.000Z",
        "TSE-Stop          2026-05-22T10:00:11.000Z",
        "Kaffee Crema 250 g",
        "2 x 5,49",
        "1,234 kg x 2,99 EUR/kg",  # quantity and kind
        "SUMME EUR       14,67",
        "B 7,00 %          13,71     0,96     14,67",  # totals, VAT per rate
        "Bargeld                              20,00",
        "EC-Karte                             10,00",
        "Rückgeld                             15,33",  # per payment type, change
        "TSE-Transaktion                        227",
        "TSE-Signaturzähler                     671",
        "Kassen-Seriennummer      SMARTECR-SIM-0001",
        "ab" * 21,  # register and TSE serials
        "AAAA" * 10,
        "[QR] V0;SMARTECR-SIM-0001;x",  # signature and QR code
        "STORNO Spülmittel                  -1,79 A",  # a voided line stays visible
    ):
        assert field in text, field
    for line in text.splitlines():
        assert len(line) <= 42 or line.startswith("[QR]"), line


def test_banners_stand_out():
    training = dict(SIGNED, bon_typ="AVTraining")
    assert _text(training).count("*** TRAININGSBELEG ***") == 2  # top and bottom
    failed = dict(SIGNED, tse_failure="TSE card I/O failed: card pulled")
    del failed["tse"]
    text = _text(failed)
    assert text.count("*** TSE AUSGEFALLEN ***") == 2
    assert "TSE card I/O failed: card pulled" in text and "[QR]" not in text
    assert "Start                  22.05.2026 12:00:00" in text  # the register's own times
    assert "Ende                   22.05.2026 12:00:12" in text
    assert "*** KOPIE ***" in _text(SIGNED, reprint=True) and "KOPIE" not in _text(SIGNED)


def test_escpos_has_codepage_styles_and_native_qr():
    data = to_escpos(receipt(SIGNED, M, 42))
    assert data.startswith(b"\x1b@\x1bt\x13")  # init, PC858
    assert b"Sp\x81lmittel" in data  # ü in PC858
    assert b"\x1d(k" + bytes((len("V0;SMARTECR-SIM-0001;x") + 3, 0)) + b"1P0V0;SMARTECR-SIM-0001;x" in data
    assert data.endswith(b"\x1bd\x06\x1dV\x00")  # feed and cut


def test_escpos_asks_the_printer_caps_for_qr_and_cutter():
    data = to_escpos(receipt(SIGNED, M, 32), PrinterCaps(columns=32, qr=False, cutter=False))
    assert b"\x1d(k" not in data and b"\x1dV" not in data
    assert b"QR-Code:\nV0;SMARTECR-SIM-0001;x\n" in data  # its content as text, within 32 columns
    assert data.endswith(b"\x1bd\x05")  # paper to tear at


def test_closing_counts_only_belege():
    records = [
        {"type": "beleg", "data": SIGNED},
        {"type": "beleg", "data": dict(SIGNED, bon_typ="AVTraining")},
        {"type": "beleg", "data": dict(SIGNED, bon_typ="AVBelegabbruch", payments=[])},
        {"type": "tse_start", "data": {}},
    ]
    t = totals(records)
    assert (t["belege"], t["training"], t["aborted"]) == (1, 1, 1)
    assert (
        t["vat"] == {2: [1467, 1371, 96]}
        and t["cash"] == 467
        and t["payments"] == {"Bar": 467, "ECKarte": 1000}
    )
    assert t["gv"] == {"Umsatz": 1467}
    text = to_text(report("X", t, M))
    assert "X-Bericht" in text and "Soll-Bestand Bar                      4,67" in text


CARD = {
    "aid": "A0000000041010",
    "label": "MASTERCARD",
    "scheme": "mastercard",
    "pan": "************0434",
    "entry": "contactless",
    "tid": "SECR0001",
    "trace": "000042",
    "auth_code": "000294",
    "arc": "3030",
    "cvm": "1F0002",
    "atc": 7,
    "amount": 1000,
}


def _slip(card, copy):
    return to_text(slip(SIGNED, card, copy, M, 42)).splitlines()


def test_card_slips_carry_what_german_terminals_print():
    customer, merchant = _slip(CARD, CUSTOMER), _slip(CARD, MERCHANT)
    for lines in (customer, merchant):
        text = "\n".join(lines)
        for want in (
            "Mustermann Feinkost GmbH",
            "Kontaktlos",
            "SECR0001",
            "000042",
            "Beleg-Nr.",
            "MASTERCARD",
        ):
            assert want in text, (want, text)
        assert "************0434" in text and "5413330089010434" not in text
        assert (
            "EMV-AID" in text
            and "A0000000041010" in text
            and "Genehmigungs-Nr.                    000294" in text
        )
        assert "Zahlung erfolgt" in text and "SIMULATION\nKEINE ZAHLUNG" in text
        assert any(ln.startswith("EUR") and ln.endswith("10,00") for ln in lines)
    assert "- K U N D E N B E L E G -" in customer and "BITTE BELEG AUFBEWAHREN" in customer
    assert "- H Ä N D L E R B E L E G -" in merchant and "BITTE BELEG AUFBEWAHREN" not in merchant
    assert any("KEIN CVM" in ln for ln in merchant) and not any("KEIN CVM" in ln for ln in customer)


def test_slips_for_pin_signature_offline_and_refund():
    pin = dict(CARD, cvm="410302", entry="chip")
    assert any(ln.endswith("PIN") for ln in _slip(pin, CUSTOMER)) and "Chip" in _slip(pin, CUSTOMER)
    signed = dict(CARD, cvm="1E0302")
    assert any(ln.startswith("Unterschrift: ___") for ln in _slip(signed, MERCHANT))
    assert not any(ln.startswith("Unterschrift: ___") for ln in _slip(signed, CUSTOMER))
    offline = dict(CARD, arc="5931")
    del offline["auth_code"], offline["trace"]
    assert any(ln.endswith("offline (Y1)") for ln in _slip(offline, CUSTOMER))
    refund = dict(CARD, amount=-1000)
    lines = _slip(refund, CUSTOMER)
    assert "Gutschrift erfolgt" in lines and any(ln.endswith(" 10,00") for ln in lines)
    assert not any(ln.endswith("-10,00") for ln in lines)
    phone = dict(CARD, cdcvm=True, cvm="3F0002")
    assert any(ln.endswith("Verifiziert am Gerät") for ln in _slip(phone, CUSTOMER))
