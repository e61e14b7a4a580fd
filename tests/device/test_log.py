from firmware.log import DEBUG, ERROR, INFO, WARNING, Logger, redact
from hal.clock import ManualClock


class _Stream:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s


class _Explodes:
    def __str__(self):
        raise AssertionError("formatted although below the level")

    __repr__ = __str__


def test_levels_filter_and_format_lazily():
    log = Logger(level=WARNING, ring=16)
    log.debug("d %s", _Explodes())
    log.info("i %s", _Explodes())
    log.warning("w %d", 1)
    log.error("e %s", "x")
    assert log.tail() == ["W ecr: w 1", "E ecr: e x"]


def test_level_constants_are_ordered():
    assert DEBUG < INFO < WARNING < ERROR


def test_ring_keeps_the_last_lines_oldest_first():
    log = Logger(ring=16)
    for i in range(40):
        log.info("line %d", i)
    tail = log.tail(100)
    assert len(tail) == 16
    assert tail[0] == "I ecr: line 24" and tail[-1] == "I ecr: line 39"
    assert log.tail(3) == ["I ecr: line 37", "I ecr: line 38", "I ecr: line 39"]


def test_children_share_ring_and_secrets():
    log = Logger(ring=16)
    tse = log.child("tse")
    log.add_secret("S3cr3tPUK")
    tse.info("puk is S3cr3tPUK")
    log.info("root")
    assert log.tail() == ["I tse: puk is ***", "I ecr: root"]


def test_lines_carry_clock_time_and_go_to_the_stream_redacted():
    stream = _Stream()
    log = Logger(ring=16, stream=stream, clock=ManualClock(utc_seconds=1767225600))
    log.info("login pin=%s", "12345")
    assert stream.text == "1767225600 I ecr: login pin=***\n"
    assert "12345" not in stream.text


def test_bad_format_arguments_do_not_raise():
    log = Logger(ring=16)
    log.info("needs two %s %s", "one")
    assert log.tail() == ["I ecr: needs two %s %s 'one'"]


def test_redact_secret_keys():
    assert redact("login admin pin=12345 ok") == "login admin pin=*** ok"
    assert redact("PUK: 123456, next") == "PUK: ***, next"
    assert redact("admin_pin = 54321") == "admin_pin = ***"
    assert redact("api-key:abc123 token=xyz") == "api-key:*** token=***"
    assert redact('{"password": "hunter2"}') == '{"password": "***"}'
    # a word that merely contains a key name is not a secret key
    assert redact("spinning=3 keyboard=de") == "spinning=3 keyboard=de"


def test_redact_card_numbers_keeps_last_four():
    assert redact("PAN 4111111111111111 approved") == "PAN ************1111 approved"
    assert redact("card 4111 1111 1111 1111.") == "card ************1111."
    assert redact("5500-0000-0000-0004") == "************0004"
    assert redact("x378282246310005y") == "x***********0005y"  # 15-digit Amex


def test_redact_leaves_other_numbers_alone():
    # Luhn-invalid 16 digits, a 10-digit Unix time, a 12-digit number, an EAN-13 that
    # fails the Luhn check: all stay readable for diagnostics
    for text in ("ref 4111111111111112", "t=1767225600", "id 123456789012", "EAN 4006381333931"):
        assert redact(text) == text, text


def test_registered_secret_bytes():
    log = Logger(ring=16)
    log.add_secret(b"98765")
    log.info("code 98765 entered")
    assert log.tail() == ["I ecr: code *** entered"]
