"""QR payment codes on both runtimes: the EMVCo specification's sample (CRC A13A, lengths that
count characters, CJK text in template 64), our dynamic merchant-presented code read back with
every check, a consumer-presented code's chip data, the EPC GiroCode of the reference, wallet
tokens told from articles; and the refusals: wrong CRC, truncated, wrong currency, an amount on
a static code, a bad IBAN, a CPM without its cryptogram. (The CRC against crcmod, the GiroCode
against segno: tests/host/test_qr_pay.py.)"""

import binascii

from support import raises

from core.errors import ProtocolError
from payment.emv import tlv
from payment.qr import emvco, epc, wallet

SAMPLE = (
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN"
    "5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***"
    "0708A60086670902ME91320016A0112233449988770708123456786304A13A"
)
ACCOUNT = ("de.smartecr.pay", "SMARTECR-SIM-0001")


def test_the_emvco_sample_and_its_crc():
    assert "%04X" % emvco.crc16(SAMPLE[:-4].encode()) == "A13A"
    got = emvco.parse(SAMPLE)
    assert got["64"] == {"00": "ZH", "01": "最佳运输", "02": "北京"}  # lengths count characters
    assert got["54"] == "23.72" and got["29"]["00"] == "D15600000000"
    e = raises(ProtocolError, emvco.read_merchant_presented, SAMPLE)
    assert "not EUR" in str(e)  # currency 156


def test_our_merchant_presented_code_reads_back():
    text = emvco.merchant_presented(
        1250, "Mustermann Feinkost GmbH", "Berlin", "SMARTECR-SIM-0001-000042", ACCOUNT
    )
    assert text.startswith("000201010212") and text[-8:-4] == "6304"
    assert emvco.read_merchant_presented(text) == {
        "amount": 1250,
        "currency": 978,
        "name": "Mustermann Feinkost GmbH",
        "city": "Berlin",
        "reference": "SMARTECR-SIM-0001-000042",
        "account": ACCOUNT,
        "dynamic": True,
    }


def test_broken_merchant_codes_are_refused_with_what_is_wrong():
    good = emvco.merchant_presented(500, "Laden", "Berlin", "R1", ACCOUNT)
    assert "CRC" in str(raises(ProtocolError, emvco.parse, good[:-1] + ("0" if good[-1] != "0" else "1")))
    assert "6304" in str(raises(ProtocolError, emvco.parse, good[:30]))  # truncated
    altered = good.replace("5.00", "1.00")  # the amount changed, the CRC not
    assert "CRC" in str(raises(ProtocolError, emvco.parse, altered))
    static = emvco.encode(
        [
            ("00", "01"),
            ("01", "11"),
            ("52", "5411"),
            ("53", "978"),
            ("54", "5.00"),
            ("58", "DE"),
            ("59", "X"),
            ("60", "Y"),
        ]
    )
    assert "static" in str(raises(ProtocolError, emvco.read_merchant_presented, static))
    no_city = emvco.encode([("00", "01"), ("52", "5411"), ("53", "978"), ("58", "DE"), ("59", "X")])
    assert "city" in str(raises(ProtocolError, emvco.read_merchant_presented, no_city))
    bad_amount = emvco.encode(
        [
            ("00", "01"),
            ("01", "12"),
            ("52", "5411"),
            ("53", "978"),
            ("54", "5,00"),
            ("58", "DE"),
            ("59", "X"),
            ("60", "Y"),
        ]
    )
    assert "amount" in str(raises(ProtocolError, emvco.read_merchant_presented, bad_amount))
    assert emvco.parse("0002016304" + "%04X" % emvco.crc16(b"0002016304")) == {"00": "01"}


def _cpm(with_cryptogram=True):
    data = tlv.encode(0x9F36, b"\x00\x07") + tlv.encode(0x9F10, b"\x06\x01\x0a\x03\xa0\x00\x00")
    if with_cryptogram:
        data += tlv.encode(0x9F26, bytes(range(8)))
    app = [
        (0x4F, binascii.unhexlify("A0000000041010")),
        (0x50, b"MASTERCARD"),
        (0x5A, binascii.unhexlify("5413330089020011")),
        (0x5F24, b"\x29\x12\x31"),
        (0x5F34, b"\x00"),
        (0x63, data),
    ]
    raw = tlv.encode(0x85, b"CPV01") + tlv.encode(0x61, app)
    return binascii.b2a_base64(raw).decode().strip()


def test_a_consumer_presented_code_is_chip_data():
    text = _cpm()
    assert text.startswith(emvco.CPM_PREFIX) and wallet.kind(text) == "cpm"
    code = emvco.read_consumer_presented(text)
    assert code["pan"] == "5413330089020011" and code["expiry"] == "2912" and code["psn"] == 0
    assert code["aid"] == "A0000000041010" and code["label"] == "MASTERCARD" and code["atc"] == 7
    assert tlv.decode(code["icc"])[0x9F26] == bytes(range(8))  # DE 55: the 63 template's objects
    e = raises(ProtocolError, emvco.read_consumer_presented, _cpm(with_cryptogram=False))
    assert "cryptogram" in str(e)
    assert raises(ProtocolError, emvco.read_consumer_presented, text[:20])
    assert raises(ProtocolError, emvco.read_consumer_presented, "hQVDUFYwM!!!")


def test_the_girocode_of_the_reference():
    text = epc.girocode("Beispiel AG", "DE02100500000054540402", 1234, "Rechnung 4711")
    assert text == "BCD\n002\n1\nSCT\n\nBeispiel AG\nDE02100500000054540402\nEUR12.34\n\n\nRechnung 4711"
    assert epc.read_girocode(text)["amount"] == 1234
    assert epc.iban_ok("DE02 1005 0000 0054 5404 02") and not epc.iban_ok("DE03100500000054540402")
    assert raises(ValueError, epc.girocode, "X", "DE03100500000054540402", 100, "")
    assert raises(ProtocolError, epc.read_girocode, text.replace("DE02", "DE03"))


def test_wallet_tokens_are_told_from_articles():
    assert (
        wallet.kind("98802123456789012345") == "wallet" and wallet.brand("98802123456789012345") == "Bluecode"
    )
    assert wallet.kind("281234567890123456") == "wallet"  # Alipay-style: 18 digits, 25..30
    assert wallet.kind("4006381333931") is None  # an EAN-13 stays an article
    assert wallet.kind("12345678901234567890") is None and wallet.kind("https://example.org") is None
