from support import raises

from hal.clock import Clock, ManualClock, SystemClock

JAN_2024 = 1704067200


def test_system_clock_reads_unix_utc_seconds():
    clock = SystemClock()
    now = clock.now()
    assert isinstance(now, int)
    assert JAN_2024 < now < JAN_2024 + 100 * 365 * 86400


def test_system_clock_ticks_are_monotonic():
    clock = SystemClock()
    a = clock.ticks_ms()
    for _ in range(1000):
        b = clock.ticks_ms()
        assert clock.ticks_diff(b, a) >= 0
        a = b


def test_system_clock_cannot_be_set():
    clock = SystemClock()
    assert not clock.can_set
    raises(OSError, clock.set, JAN_2024)


def test_manual_clock_moves_only_when_told():
    clock = ManualClock(utc_seconds=JAN_2024, ticks_ms=500)
    assert clock.now() == JAN_2024 and clock.ticks_ms() == 500
    clock.advance(1999)
    assert clock.ticks_ms() == 2499
    assert clock.ticks_diff(clock.ticks_ms(), 500) == 1999
    assert clock.now() == JAN_2024 + 1
    clock.advance(1)
    assert clock.now() == JAN_2024 + 2


def test_manual_clock_set_and_bad_input():
    clock = ManualClock(utc_seconds=JAN_2024)
    ticks = clock.ticks_ms()
    clock.set(JAN_2024 + 3600)
    assert clock.now() == JAN_2024 + 3600
    assert clock.ticks_ms() == ticks  # setting the wall clock leaves the monotonic one alone
    raises(ValueError, clock.set, -1)
    raises(ValueError, clock.set, 1.5)
    raises(ValueError, clock.advance, -1)
    assert clock.now() == JAN_2024 + 3600


def test_interface_methods_are_abstract():
    clock = Clock()
    raises(NotImplementedError, clock.now)
    raises(NotImplementedError, clock.ticks_ms)


def test_utc_fields_and_iso8601():
    from core.calendar import iso8601, utc_fields

    assert utc_fields(0) == (1970, 1, 1, 0, 0, 0)
    assert iso8601(1574422188) == "2019-11-22T11:29:48.000Z"  # DSFinV-K Anhang I example
    assert iso8601(951782400) == "2000-02-29T00:00:00.000Z"  # leap day of a century leap year
    assert iso8601(4107542399) == "2100-02-28T23:59:59.000Z"  # 2100 is no leap year
    assert iso8601(4107542400) == "2100-03-01T00:00:00.000Z"
    assert iso8601(1767225599) == "2025-12-31T23:59:59.000Z"


def test_dates_are_checked_not_normalised():
    from support import raises

    from core.calendar import parse_date

    assert parse_date("2024-02-29") == (2024, 2, 29) and parse_date("2099-12-31") == (2099, 12, 31)
    for bad, words in (
        ("2026-02-31", "no day"),
        ("2025-02-29", "no day"),
        ("2026-99-99", "no day"),
        ("2026-04-31", "no day"),
        ("0000-01-01", "year must be"),
        ("-001-01-01", "digits"),
        ("2026-1-01", "YYYY-MM-DD"),
        ("2026-01-0x", "digits"),
        (20260101, "YYYY-MM-DD"),
    ):
        e = raises(ValueError, parse_date, bad)
        assert words in str(e), (bad, str(e))
