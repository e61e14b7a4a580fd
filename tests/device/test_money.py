from support import raises

from core.money import div_half_up, format_cents, format_plain, parse_cents, vat_split

RATES = (1900, 700, 1070, 550, 0)


def _vat_reference(gross, rate):
    # Independent of the implementation: floor(x + 1/2) on doubled integers, mirrored for
    # negative amounts (half away from zero).
    if gross < 0:
        return -_vat_reference(-gross, rate)
    d = 10000 + rate
    return (2 * gross * rate + d) // (2 * d)


def test_vat_split_known_values():
    assert vat_split(1190, 1900) == (1000, 190)
    assert vat_split(100, 1900) == (84, 16)  # 15,97 ct VAT rounds up
    assert vat_split(107, 700) == (100, 7)
    assert vat_split(1000, 700) == (935, 65)  # 65,42 ct rounds down
    assert vat_split(1107, 1070) == (1000, 107)
    assert vat_split(1055, 550) == (1000, 55)
    assert vat_split(999, 0) == (999, 0)
    assert vat_split(0, 1900) == (0, 0)


def test_vat_split_matches_reference_and_loses_no_cent():
    for rate in RATES:
        for gross in range(-3000, 3001, 7):
            net, vat = vat_split(gross, rate)
            assert vat == _vat_reference(gross, rate), (gross, rate)
            assert net + vat == gross


def test_vat_split_is_symmetric_for_storno():
    for rate in RATES:
        for gross in range(0, 5000, 13):
            net, vat = vat_split(gross, rate)
            assert vat_split(-gross, rate) == (-net, -vat)


def test_half_rounds_away_from_zero():
    assert div_half_up(5, 10) == 1
    assert div_half_up(15, 10) == 2
    assert div_half_up(25, 10) == 3  # not banker's rounding
    assert div_half_up(4, 10) == 0
    assert div_half_up(-5, 10) == -1
    assert div_half_up(-4, 10) == 0
    # a 100 % rate halves the amount: the half cent goes to the VAT
    assert vat_split(1, 10000) == (0, 1)
    assert vat_split(-1, 10000) == (0, -1)


def test_vat_split_rejects_non_cents():
    assert "integer cents" in str(raises(ValueError, vat_split, 1.5, 1900))
    raises(ValueError, vat_split, True, 1900)
    raises(ValueError, vat_split, "100", 1900)
    raises(ValueError, vat_split, 100, -1)
    raises(ValueError, vat_split, 100, 10001)
    raises(ValueError, vat_split, 100, 19.0)
    raises(ValueError, div_half_up, 1, 0)


def test_format_cents_german():
    assert format_cents(0) == "0,00"
    assert format_cents(5) == "0,05"
    assert format_cents(-5) == "-0,05"
    assert format_cents(100) == "1,00"
    assert format_cents(99999) == "999,99"
    assert format_cents(123456) == "1.234,56"
    assert format_cents(-123456) == "-1.234,56"
    assert format_cents(100000000) == "1.000.000,00"
    raises(ValueError, format_cents, 1.0)


def test_format_plain_for_process_data():
    assert format_plain(0) == "0.00"
    assert format_plain(7) == "0.07"
    assert format_plain(123456) == "1234.56"
    assert format_plain(-10000) == "-100.00"


def test_parse_cents_accepts_german_notation():
    assert parse_cents("12") == 1200
    assert parse_cents("12,5") == 1250
    assert parse_cents("12,50") == 1250
    assert parse_cents("0,07") == 7
    assert parse_cents(" 1.234,56 ") == 123456
    assert parse_cents("-3,00") == -300
    assert parse_cents("1.000.000") == 100000000


def test_parse_cents_round_trips_format():
    for cents in (0, 1, 99, 100, 1001, 123456, -98765, 100000000):
        assert parse_cents(format_cents(cents)) == cents


def test_parse_cents_rejects_typos():
    for bad in (
        "",
        "-",
        "abc",
        "12,",
        "12,345",
        "1,2,3",
        "1.23",
        "12.34,5",
        "1..234",
        "1.2345,00",
        "12a",
        "+5",
        ",50",
        "1 234",
    ):
        e = raises(ValueError, parse_cents, bad)
        assert repr(bad) in str(e) or "amount" in str(e), bad
    raises(ValueError, parse_cents, 12)
