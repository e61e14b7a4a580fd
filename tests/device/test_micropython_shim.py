from micropython import const

_ANSWER = const(42)
_MASK = const(0x2000 | 0x00FF)


def test_const_is_its_value_on_both_runtimes():
    assert _ANSWER == 42
    assert _MASK == 0x20FF
