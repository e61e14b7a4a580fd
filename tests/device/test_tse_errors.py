from tse_sd.errors import (
    AuthenticationFailed,
    CardError,
    NoTimeSet,
    SelfTestFailed,
    StoreFull,
    TseError,
    TseProtocolError,
    TseUnavailable,
    card_error,
    status_name,
)


def test_card_status_codes_map_to_named_exceptions():
    for status, cls in (
        (0x1002, NoTimeSet),
        (0x1017, StoreFull),
        (0x1100, AuthenticationFailed),
        (0x1300, SelfTestFailed),
        (0x1310, SelfTestFailed),
        (0x1320, SelfTestFailed),
    ):
        e = card_error(status)
        assert type(e) is cls and e.status == status
        assert isinstance(e, CardError) and isinstance(e, TseError)
    assert str(card_error(0x1002, "command 0x90")) == "TSE error 0x1002 NO_TIME_SET: command 0x90"


def test_unknown_and_unnamed_codes_stay_card_errors():
    e = card_error(0x1234)
    assert type(e) is CardError and e.status == 0x1234 and e.name == "UNKNOWN"
    e = card_error(0x1006)
    assert type(e) is CardError and e.name == "NOT_ENOUGH_DATA_WRITTEN"
    assert status_name(0xF000) == "CMD_NOT_FOUND"


def test_transport_and_protocol_errors():
    assert TseUnavailable("card pulled").code == "tse_unavailable"
    e = TseProtocolError("length 600")
    assert e.by_peer and str(e) == "peer: length 600" and isinstance(e, TseError)
    assert str(TseProtocolError("too long", by_peer=False)) == "local: too long"
