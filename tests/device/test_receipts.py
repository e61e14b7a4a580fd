from support import demo_master

from firmware.receipts import receipt, to_escpos, to_text
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
