"""The acquirer link's ISO 8583 codec on both runtimes: the bitmap of the reference's example,
binary PIN block and ICC data, LL/LLL prefixes, the secondary bitmap, framing, and refusals
that name the field. (Byte for byte against pyiso8583: tests/host/test_emv_peers.py.)"""

from support import raises

from core.errors import ProtocolError
from payment import iso8583

H = bytes.fromhex


def _request():
    return {
        2: "5413330089010434",
        3: "000000",
        4: "000000001250",
        11: "000001",
        12: "143012",
        14: "2912",
        22: "071",
        23: "000",
        41: "SECR0001",
        42: "SMARTECR-SIM-01",
        49: "978",
        55: H("9F2608A1A2A3A4A5A6A7A8"),
    }


def test_an_authorisation_request_round_trips():
    data = iso8583.encode("0100", _request())
    assert data[:12] == b"0100" + H("7034060000C08200")  # DE 2,3,4,11,12,14,22,23,41,42,49,55
    assert data[12:30] == b"165413330089010434"  # LLVAR PAN
    assert data.endswith(b"011" + H("9F2608A1A2A3A4A5A6A7A8"))  # LLLVAR, binary
    assert iso8583.decode(data) == ("0100", _request())
    assert iso8583.frame(data)[:2] == bytes((0, len(data)))


def test_the_secondary_bitmap_and_binary_fields():
    fields = {3: "000000", 52: H("0412AC89ABCDEF01"), 90: "0" * 42, 128: bytes(8)}
    data = iso8583.encode("0420", fields)
    assert data[4] & 0x80 and len(data) == 4 + 16 + 6 + 8 + 42 + 8
    assert iso8583.decode(data) == ("0420", fields)


def test_bad_values_and_bad_messages_are_refused_by_field():
    for fields, why in (
        ({41: "TOO-LONG-TID"}, "field 41 has 12 bytes, not 8"),
        ({4: "12,50"}, "field 4"),
        ({2: "5" * 20}, "field 2 has 20 bytes, at most 19"),
        ({9: "12345678"}, "field 9 is not in"),
        ({43: "Caf\u00e9" + " " * 36}, "printable ASCII"),
    ):
        e = raises(ValueError, iso8583.encode, "0100", fields)
        assert why in str(e), (why, str(e))
    raises(ValueError, iso8583.encode, "01X0", {3: "000000"})
    good = iso8583.encode("0110", {39: "00", 38: "A1B2C3"})
    for bad, why in (
        (good[:-1], "cut off"),
        (good + b"x", "after its last field"),
        (b"01X0" + good[4:], "MTI"),
        (good[:4] + H("0000000000000080") + b"x", "field 57"),  # DE 57: not in the table
        (b"0100" + H("4000000000000000") + b"2x1234", "length prefix"),
        (b"0100", "too short"),
    ):
        e = raises(ProtocolError, iso8583.decode, bad)
        assert why in str(e), (why, str(e))
