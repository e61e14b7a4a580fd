from support import raises

from core.errors import ProtocolError
from hal.printer import PrinterStatus, decode_status


def test_status_bytes_as_epson_documents_them():
    # the answers emupos gives for each fault (checked against the running emulator)
    assert decode_status(0x12, 0x12, 0x12).ready
    paper_out = decode_status(0x1A, 0x32, 0x7E)
    assert paper_out.paper_out and not paper_out.online and paper_out.paper_near_end and not paper_out.ready
    cover = decode_status(0x1A, 0x16, 0x12)
    assert cover.cover_open and not cover.paper_out and not cover.ready
    offline = decode_status(0x1A, 0x12, 0x12)
    assert not offline.online and not offline.cover_open
    near = decode_status(0x12, 0x12, 0x1E)
    assert near.ready and near.paper_near_end and near.problems() == ["Papier geht zu Ende"]
    assert decode_status(0x16, 0x12, 0x12).drawer_level


def test_a_byte_that_is_no_status_is_refused():
    for bad in ((0x00, 0x12, 0x12), (0x12, 0x92, 0x12), (0x12, 0x12, 0x13)):
        raises(ProtocolError, decode_status, *bad)


def test_problems_in_plain_words():
    st = PrinterStatus(online=False, cover_open=True, paper_out=True)
    assert st.problems() == ["Drucker offline", "Druckerdeckel offen", "Papier leer"]
    assert PrinterStatus().problems() == []
