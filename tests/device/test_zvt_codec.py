"""ZVT's codec on both runtimes, byte for byte against the specification's and published
traces' frames (../shared/reference/PAYMENTS.md §5): serial CRC frames, DLE stuffing, extended
lengths, BMP and TLV parsing, the annotated Status Information, the intermediate status of a
real terminal, CP437; and refusals that name what is wrong. (The CRC against crcmod and CP437
against CPython's codec: tests/host/test_zvt.py.)"""

from support import raises

from core.errors import ProtocolError
from payment.zvt import codec, serial
from payment.zvt import messages as m


def H(text):
    return bytes.fromhex(text.replace(" ", ""))


def test_serial_frames_of_the_reference():
    assert serial.frame(H("060006000000BA0978")) == H("1002060006000000BA09781003D0D8")
    assert serial.frame(H("060008000000BA09780300")).endswith(H("10039EB6"))
    assert serial.frame(H("800000")) == H("10028000001003F51F")
    # 10.00 EUR: the amount's 10 is doubled on the line, the CRC is over the unstuffed APDU
    assert serial.frame(H("06010704000000001000")) == H("1002060107040000000010100010036291")
    # ecrterm's test frame: a completion with a software version
    raw = H("1002060F0BF0F0F7322E31342E3135001003B111")
    assert serial.Deframer().feed(raw) == [(serial.FRAME, H("060F0BF0F0F7322E31342E313500"))]


def test_the_deframer_acks_naks_and_refuses_a_bad_crc():
    d = serial.Deframer()
    assert d.feed(b"\x06\x15") == [serial.ACK, serial.NAK]
    bad = H("1002800000100300 00")
    got = d.feed(bad)
    assert got[0][0] == serial.BAD and "CRC" in got[0][1]
    stuffed = serial.frame(H("06D1031010FF"))  # 10s in the data, doubled and undone
    assert d.feed(b"\x00" + stuffed) == [(serial.FRAME, H("06D1031010FF"))]  # noise before is dropped
    parts = [d.feed(stuffed[i : i + 1]) for i in range(len(stuffed))]  # one byte at a time
    assert [p for p in parts if p] == [[(serial.FRAME, H("06D1031010FF"))]]


class _Sized:
    """Data of ``n`` bytes without the bytes (a 64 KiB buffer is too much for a small heap)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def test_apdu_lengths_short_and_extended():
    assert codec.encode(0x8000) == H("800000")
    long = bytes(654)
    raw = codec.encode(m.PRINT_BLOCK, long)
    assert raw[:5] == H("06D3FF8E02")  # 0x028E = 654, low byte first
    assert codec.decode(raw) == (m.PRINT_BLOCK, long)
    assert codec.encode(0x0601, bytes(254))[2] == 254
    assert codec.encode(0x0601, bytes(255))[2:5] == H("FFFF00")
    assert raises(ProtocolError, codec.encode, 0x0601, _Sized(65536))


def test_the_stream_takes_any_segmentation():
    raw = codec.encode(0x8000) + codec.encode(m.STATUS_INFO, b"\x27\x00") + codec.encode(0x06D3, bytes(300))
    for size in (1, 2, 3, 7, 100, len(raw)):
        stream, got = codec.Stream(), []
        for i in range(0, len(raw), size):
            got += stream.feed(raw[i : i + size])
        assert got == [(0x8000, b""), (m.STATUS_INFO, b"\x27\x00"), (0x06D3, bytes(300))], size
        assert stream.buf == b""


# The annotated Status Information of a real terminal (Portalum's StatusInformationParserTest)
STATUS = (
    "040F77"
    "2700"
    "04000000002040"
    "0B000470"
    "0C223953"
    "0D1006"
    "0E2512"
    "170001"
    "1970"
    "22F0F8EEEEEEEEEEEE4771"
    "2928004869"
    "2A" + "313030343631373633202020202020"
    "3B" + "3631313830340000"
    "3CF0F1F4" + "47454E2E4E522E3A363131383034"
    "490978"
    "870470"
    "88000470"
    "8A2E"
    "8BF1F7" + "4465626974204D61737465726361726400"
)


def test_the_annotated_status_information():
    control, data = codec.decode(H(STATUS))
    assert control == m.STATUS_INFO and len(data) == 0x77
    rec = m.status_information(data)
    assert rec["result"] == 0 and rec["amount"] == 2040
    assert rec["trace"] == "000470" and rec["receipt_no"] == 470 and rec["turnover_no"] == 470
    assert (rec["time"], rec["date"], rec["expiry"], rec["psn"]) == ("223953", "1006", "2512", 1)
    assert rec["payment_type"] == 0x70  # PIN
    assert rec["pan"] == "************4771"
    assert rec["tid"] == "28004869" and rec["vu"] == "100461763"
    assert rec["auth_code"] == "611804" and rec["text"] == "GEN.NR.:611804"
    assert rec["currency"] == 978 and rec["card_type"] == 0x2E and rec["card_name"] == "Debit Mastercard"


def test_our_status_information_reads_back():
    rec = m.status_information(H(STATUS)[3:])
    again = m.status_information(m.status_information_data(rec))
    assert again == rec


def test_a_real_intermediate_status_with_display_text():
    text = b"Karte vorhalten\neinstecken/durchziehen"
    raw = H("04FF2E0A01062A242807") + bytes((len(text),)) + text
    control, data = codec.decode(raw)
    assert control == m.INTERMEDIATE
    assert m.intermediate(data) == (m.INSERT_CARD, 1, [text.decode()])
    assert m.intermediate(H("0E")) == (m.PLEASE_WAIT, None, [])
    assert m.intermediate_data(m.INSERT_CARD, 1, [text.decode()]) == data


def test_commands_of_the_reference():
    assert codec.encode(m.REGISTRATION, m.registration("000000", 0xBA)) == H("060006000000BA0978")
    assert m.registration("000000", 0xBA, service=0) == H("000000BA09780300")
    assert codec.encode(m.AUTHORIZATION, m.authorization(314)) == H("06010704000000000314")
    assert m.reversal("123456", 470) == H("123456870470")
    assert m.command(m.REGISTRATION, H("000000BA0978030006 00")) == {
        "password": "000000",
        "config": 0xBA,
        "currency": 978,
        "service": 0,
        "tlv": {},
    }
    assert m.command(m.AUTHORIZATION, m.authorization(314, 978, None, 30, 3)) == {
        "amount": 314,
        "currency": 978,
        "timeout_s": 30,
        "max_infos": 3,
    }


def test_print_text_block_and_lines():
    data = m.print_block_data(2, ["KUNDENBELEG", "Betrag EUR 3,14", "Grüße"])
    assert m.print_block(data) == (2, ["KUNDENBELEG", "Betrag EUR 3,14", "Grüße"])
    assert m.print_line(m.print_line_data(0x81, "Zahlung erfolgt")) == (0x81, "Zahlung erfolgt")
    assert m.is_last_line(0x81) and not m.is_last_line(0x80) and not m.is_last_line(0xFF)


def test_abort_and_completions():
    assert m.aborted(H("6C")) == (0x6C, "Abbruch (Zeit oder Abbruchtaste)")
    assert m.aborted(m.aborted_data(0x7D, "Host nicht erreichbar")) == (0x7D, "Host nicht erreichbar")
    assert m.completion(m.completion_data("29001234", 978, 0)) == {
        "result": 0,
        "status": 0,
        "tid": "29001234",
        "currency": 978,
    }
    assert m.enquiry_completion(m.enquiry_completion_data("smartECR 1.0")) == {
        "version": "smartECR 1.0",
        "status": 0,
    }
    assert m.enquiry_completion(H("00")) == {"version": "", "status": 0}


def test_cp437_text():
    assert codec.text(H("849481E1")) == "äöüß"
    assert codec.cp437("Grüße €") == H("4772 81 E1 65 20 3F")
    assert codec.text(codec.cp437("ÄÖÜ äöü ß")) == "ÄÖÜ äöü ß"


def test_bcd_and_pans():
    assert codec.bcd(314, 6) == H("000000000314")
    assert codec.unbcd(H("0978")) == 978
    assert raises(ValueError, codec.bcd, 100, 1)
    assert raises(ProtocolError, codec.unbcd, H("0A"))
    assert codec.digits(H("EEEE4771")) == "****4771"
    assert codec.digits(H("12345F")) == "12345"


def test_bad_bmps_are_named():
    e = raises(ProtocolError, codec.bmps, H("2700 5501"))
    assert "unknown BMP 55" in str(e)
    e = raises(ProtocolError, codec.bmps, H("0400000003"))
    assert "BMP 04" in str(e)
    e = raises(ProtocolError, codec.bmps, H("22F1"))
    assert "BMP 22" in str(e)
    e = raises(ProtocolError, codec.bmps, H("22A1A2"))
    assert "not Fx" in str(e)
    e = raises(ProtocolError, codec.bmps, H("060501"))
    assert "BMP 06" in str(e)
    assert raises(ProtocolError, m.status_information, H("2700 0B0A0000"))  # BCD nibble A
    assert raises(ProtocolError, codec.decode, H("0601050400"))
    # a TLV container's unknown data objects are skipped, not refused
    rec = m.status_information(H("2700 0609 DF7F024142 1F1001 02"))
    assert rec["cvm"] == "online PIN"
