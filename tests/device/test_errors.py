from core.errors import ConfigError, DeviceError, EcrError, ProtocolError


def test_every_error_has_a_code_and_is_an_ecr_error():
    for err, code in (
        (EcrError("x"), "error"),
        (ConfigError("a.b", "bad"), "config"),
        (ProtocolError("short frame"), "protocol"),
        (DeviceError("offline"), "device"),
    ):
        assert isinstance(err, EcrError)
        assert err.code == code


def test_code_can_be_given_per_instance():
    e = DeviceError("paper out", code="paper_out")
    assert e.code == "paper_out" and str(e) == "paper out"
    assert DeviceError("x").code == "device"


def test_protocol_error_says_who_broke_it():
    peer = ProtocolError("length 600 > 512")
    ours = ProtocolError("command too long", by_peer=False)
    assert peer.by_peer and str(peer) == "peer: length 600 > 512"
    assert not ours.by_peer and str(ours) == "local: command too long"


def test_config_error_path_and_detail():
    e = ConfigError("log.level", "must be one of debug, info")
    assert (e.path, e.detail) == ("log.level", "must be one of debug, info")
    assert str(e) == "log.level: must be one of debug, info"
    assert str(ConfigError("", "not valid JSON")) == "not valid JSON"
