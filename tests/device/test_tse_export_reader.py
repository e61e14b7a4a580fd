"""Reading the TSE's own TAR export on the terminal (tse_sd/export.py), on both runtimes: a
FinishTransaction log made by the card emulator, a TAR stream cut into any pieces, and the
card's garbage refused with the member named. (tests/host/test_tse_export_asn1.py checks
the same parser against asn1crypto on whole exports.)"""

import binascii

from support import raises

from tse_sd.errors import TseProtocolError
from tse_sd.export import BLOCK, ExportReader, parse_log

# Unixt_1796153730_Sig-11_Log-Tra_No-1_Finish_Client-K-1.log, as the emulator signed it.
FINISH = binascii.unhexlify(
    "3081fd020102060904007f000703070101801146696e6973685472616e73616374696f6e81034b2d318227"
    "42656c65675e312e31395f302e30305f302e30305f302e30305f302e30305e312e31393a426172830e4b61"
    "7373656e62656c65672d56318501010420e8021f347407488b5017a82d1f09129acf141de07e10335ff425"
    "0e8af0ad11cf300c060a04007f0007010104010402010b02046b0f2182046087aeef4d5cfaa1c374bafa55"
    "d679230b64484ef1282a1616cb3a2e61dfbaea601ebe173411667d6e0a71fb3b84e0b4e484e1de29719a66"
    "56a2d7e6ce5d626ba483fbea7e1c33e3b8bb2775d056d1e52820fcd625ace631a870ce55248f844570"
)
NAME = "Unixt_1796153730_Sig-11_Log-Tra_No-1_Finish_Client-K-1.log"


def test_a_finish_log_is_read_field_by_field():
    log = parse_log(FINISH)
    assert log.operation == "FinishTransaction" and log.client_id == "K-1"
    assert log.process_data == b"Beleg^1.19_0.00_0.00_0.00_0.00^1.19:Bar"
    assert log.process_type == "Kassenbeleg-V1" and log.number == 1
    assert log.counter == 11 and log.log_time == 1796153730
    assert len(log.serial) == 32 and len(log.signature) == 96


def _member(name, data):
    header = bytearray(BLOCK)
    header[0 : len(name)] = name.encode()
    header[100:108] = b"0000444\0"
    header[124:136] = ("%011o\0" % len(data)).encode()
    header[136:148] = b"00000000000\0"
    header[156] = 0x30
    header[257:263] = b"ustar\0"
    header[148:156] = b" " * 8
    header[148:156] = ("%06o\0 " % sum(header)).encode()
    return bytes(header) + data + bytes(-len(data) % BLOCK)


def _archive():
    return (
        _member("info.csv", b'"description:","x"')
        + _member(NAME, FINISH)
        + _member("Unixt_1796153731_Sig-12_Log-Sys_selfTest.log", b"\x30\x00")
        + _member(NAME.replace("Sig-11", "Sig-13"), FINISH)
        + bytes(2 * BLOCK)
    )


def test_the_archive_in_any_pieces_gives_the_same_logs():
    whole = _archive()
    for size in (1, 7, 503, 512, 4096, len(whole)):
        got = []
        reader = ExportReader(lambda log, name, got=got: got.append((name, log.number, log.counter)))
        for i in range(0, len(whole), size):
            reader.feed(whole[i : i + size])
        reader.close()
        assert got == [(NAME, 1, 11), (NAME.replace("Sig-11", "Sig-13"), 1, 11)], (size, got)


def test_garbage_from_the_card_is_refused_naming_the_member():
    reader = ExportReader(lambda log, name: None)
    reader.feed(_archive()[: BLOCK * 3])
    e = raises(TseProtocolError, reader.close)
    assert "cut short" in str(e)
    e = raises(TseProtocolError, parse_log, FINISH[:-1], NAME)
    assert NAME in str(e) and str(e).startswith("peer: "), str(e)
    e = raises(TseProtocolError, ExportReader(lambda log, name: None).feed, b"x" * BLOCK)
    assert "not a TAR header" in str(e)
    indefinite = b"\x30\x80" + FINISH[3:]
    e = raises(TseProtocolError, parse_log, indefinite, NAME)
    assert "not DER" in str(e)
