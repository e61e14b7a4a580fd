"""Mailbox frames byte for byte, built by hand from the layout in reference/TSE.md §4.1."""

import struct

from support import raises

from tse_sd import protocol as p
from tse_sd.errors import TseProtocolError

ZERO = bytes(512)


def _request(code, params=b""):
    return bytes(p.encode_request(bytearray(512), code, params))


def _block(head):
    return head + ZERO[len(head) :]


def test_request_blocks_are_exact():
    assert _request(p.CMD_LOGIN, p.login_params(p.USER_ADMIN, "12345")) == _block(
        bytes.fromhex("0009 2000 01 05 3132333435")
    )
    assert _request(p.CMD_UPDATE_TIME, p.u64(1574422188)) == _block(
        bytes.fromhex("000A 8000 000000005DD7C6AC")
    )
    assert _request(p.CMD_REGISTER_CLIENT, p.lv(p.client_id("K1"))) == _block(
        bytes.fromhex("0005 4100 02 4B31")
    )
    assert _request(p.CMD_LIST_CLIENTS, p.u32(16)) == _block(bytes.fromhex("0006 4300 00000010"))
    assert _request(p.CMD_FETCH_MORE) == _block(bytes.fromhex("0002 8300"))
    assert _request(p.CMD_CLOSE_TRANSACTION) == _block(bytes.fromhex("0002 9500"))
    assert _request(p.CMD_CHANGE_PUK, p.change_puk_params("111111", "222222")) == _block(
        bytes.fromhex("0010 2300 06 313131313131 06 323232323232")
    )


def test_open_transaction_block():
    params = p.open_transaction_params(p.EVENT_FINISH, "K1", 227, 40, "Kassenbeleg-V1")
    expected = bytes.fromhex("02 02 4B31") + struct.pack(">QQQ", 227, 40, 14) + b"Kassenbeleg-V1" + bytes(8)
    assert params == expected
    block = _request(p.CMD_OPEN_TRANSACTION, params)
    assert block[:4] == bytes((0, 2 + len(expected), 0x90, 0)) and block[4 : 4 + len(expected)] == expected


def test_request_reuses_its_buffer_and_clears_old_bytes():
    buf = bytearray(b"\xff" * 512)
    p.encode_request(buf, p.CMD_FETCH_MORE)
    assert bytes(buf) == _block(bytes.fromhex("0002 8300"))


def test_over_long_requests_are_our_bug():
    e = raises(TseProtocolError, p.encode_request, bytearray(512), p.CMD_LOGIN, bytes(509))
    assert not e.by_peer
    raises(ValueError, p.client_id, "")
    raises(ValueError, p.client_id, "x" * 31)
    raises(ValueError, p.client_id, "KASSE\n1")
    raises(ValueError, p.open_transaction_params, p.EVENT_START, "K1", 0, 0, "x" * 101)


def test_decode_request_is_the_card_side():
    assert p.decode_request(_block(bytes.fromhex("0005 4100 02 4B31"))) == (0x41, bytes.fromhex("02 4B31"))
    raises(TseProtocolError, p.decode_request, _block(bytes.fromhex("0001 41")))
    raises(TseProtocolError, p.decode_request, _block(bytes.fromhex("0300 4100")))


def test_done_answer_with_data_and_status():
    ex = p.Exchange(4)
    assert ex.feed(_block(bytes.fromhex("00000005 FF 0004 4142 0000"))) == p.DONE
    assert (ex.data, ex.status, ex.counter) == (b"AB", 0, 5)
    ex = p.Exchange(5)
    assert ex.feed(_block(bytes.fromhex("00000006 FF 0003 02 1100"))) == p.DONE
    assert (ex.data, ex.status) == (b"\x02", 0x1100)


def test_busy_and_stale_blocks_mean_wait():
    ex = p.Exchange(9)
    assert ex.feed(_block(bytes.fromhex("0000000A F3"))) == p.WAIT
    assert ex.feed(_block(bytes.fromhex("00000009 FF 0002 0000"))) == p.WAIT  # the previous answer
    assert ex.feed(_block(bytes.fromhex("0000000A FF 0002 0000"))) == p.DONE


def test_multi_part_answers_are_joined_in_order():
    ex = p.Exchange(1)
    assert ex.feed(_block(bytes.fromhex("00000002 FD 0003 78797A"))) == p.FETCH
    assert ex.feed(_block(bytes.fromhex("00000002 FD 0003 78797A"))) == p.WAIT  # not fetched yet
    assert ex.feed(_block(bytes.fromhex("00000003 FD 0001 31"))) == p.FETCH
    assert ex.feed(_block(bytes.fromhex("00000004 FF 0003 77 0000"))) == p.DONE
    assert ex.data == b"xyz1w"


def test_sink_gets_parts_at_once_but_never_error_data():
    parts = []
    ex = p.Exchange(0, parts.append)
    ex.feed(_block(bytes.fromhex("00000001 FD 0002 6162")))
    assert parts == [b"ab"]
    ex.feed(_block(bytes.fromhex("00000002 FF 0003 63 0000")))
    assert parts == [b"ab", b"c"] and ex.data == b""
    parts.clear()
    ex = p.Exchange(0, parts.append)
    ex.feed(_block(bytes.fromhex("00000001 FF 0003 02 1100")))
    assert parts == [] and ex.data == b"\x02" and ex.status == 0x1100


def test_broken_answers_are_the_cards_fault():
    for head in ("00000002 FF 0001", "00000002 FF 01FF", "00000002 FD 01FA", "00000002 42 0002 0000"):
        e = raises(TseProtocolError, p.Exchange(1).feed, _block(bytes.fromhex(head)))
        assert e.by_peer, head


def test_encode_response_matches_the_layout():
    buf = bytearray(b"\xee" * 512)
    assert bytes(p.encode_response(buf, 7, p.STATE_DONE, b"AB", 0x1002)) == _block(
        bytes.fromhex("00000007 FF 0004 4142 1002")
    )
    assert bytes(p.encode_response(buf, 8, p.STATE_MORE, b"xyz")) == _block(
        bytes.fromhex("00000008 FD 0003 78797A")
    )
    assert bytes(p.encode_response(buf, 9, p.STATE_BUSY)) == _block(bytes.fromhex("00000009 F3 0000"))
    raises(TseProtocolError, p.encode_response, buf, 1, p.STATE_DONE, bytes(504))


def test_close_answer():
    serial = bytes(range(32))
    sig = bytes(range(96))
    data = struct.pack(">Q", 227) + serial + struct.pack(">QQQ", 1630666144, 671, 96) + sig
    r = p.parse_close(data)
    assert (r.number, r.serial, r.log_time, r.signature_counter, r.signature) == (
        227,
        serial,
        1630666144,
        671,
        sig,
    )
    assert p.encode_close(227, serial, 1630666144, 671, sig) == data
    raises(TseProtocolError, p.parse_close, data[:-1])
    raises(TseProtocolError, p.parse_close, data[:40])


def test_list_pages():
    page = bytes((2,)) + b"K1" + bytes(30) + b"KASSE-2" + bytes(25)
    assert p.parse_client_page(page) == ["K1", "KASSE-2"]
    raises(TseProtocolError, p.parse_client_page, page[:-1])
    started = bytes((3,)) + struct.pack(">QQQ", 5, 6, 900)
    assert p.parse_started_page(started) == [5, 6, 900]
    raises(TseProtocolError, p.parse_started_page, started + b"\0")
    assert p.parse_started_page(b"\0") == []


def _info_block():
    # Offsets written out as in reference/TSE.md §4.1, not taken from the module.
    b = bytearray(512)
    b[0x1C] = 0b011
    b[0x1D] = 1
    b[0x1E] = 1
    b[0x20] = 0b111
    struct.pack_into(">I", b, 0x24, 86000)
    struct.pack_into(">I", b, 0x30, 671)
    struct.pack_into(">I", b, 0x34, 20000000)
    struct.pack_into(">I", b, 0x38, 2)
    struct.pack_into(">I", b, 0x3C, 100)
    struct.pack_into(">Q", b, 0x40, 1893456000)
    struct.pack_into(">Q", b, 0x48, 40960)
    struct.pack_into(">I", b, 0x54, 0x010203)
    b[0x6A] = 97
    b[0x6B : 0x6B + 97] = b"\x04" + bytes(range(96))
    struct.pack_into(">I", b, 0xD0, 1700)
    b[0x100:0x120] = bytes(range(100, 132))
    b[0x120 : 0x120 + 9] = b"SWISSBIT\0"
    return b


def test_info_block_fields():
    info = p.TseInfo(_info_block())
    assert info.has_valid_time and info.has_passed_self_test and not info.ctss_active
    assert info.initialization_state == p.STATE_INITIALIZED
    assert info.transaction_in_progress
    assert info.changed_puk and info.changed_admin_pin and info.changed_time_admin_pin
    assert info.time_until_next_self_test == 86000
    assert (info.created_signatures, info.max_signatures, info.remaining_signatures) == (
        671,
        20000000,
        19999329,
    )
    assert (info.registered_clients, info.max_registered_clients) == (2, 100)
    assert info.certificate_expiration == 1893456000 and info.tar_export_size == 40960
    assert info.software_version == 0x010203
    assert info.public_key == b"\x04" + bytes(range(96))
    assert info.time_until_next_time_sync == 1700
    assert info.serial == bytes(range(100, 132))
    assert info.description == "SWISSBIT"


def test_info_block_rejects_nonsense():
    raises(TseProtocolError, p.TseInfo, bytes(100))
    b = _info_block()
    b[0x1D] = 7
    raises(TseProtocolError, p.TseInfo, b)
    b = _info_block()
    b[0x6A] = 200
    raises(TseProtocolError, p.TseInfo, b)
