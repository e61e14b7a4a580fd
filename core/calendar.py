"""Calendar arithmetic on Unix seconds, the same on every runtime and epoch (device code).

    utc_fields(1796153526)       # (2026, 12, 1, 19, 32, 6)
    iso8601(1796153526)          # '2026-12-01T19:32:06.000Z': the receipt QR code's form
    local_text(1796153526)       # '01.12.2026 20:32:06': German local time, as printed
    parse_date("2026-02-31")     # ValueError: a date is checked, never normalised

No ``datetime`` (MicroPython has none): proleptic Gregorian dates from days since 1970, and the
EU summer time rule for Germany.
"""


def utc_fields(seconds):
    """``(year, month, day, hour, minute, second)`` in UTC of Unix ``seconds``."""
    days, rest = divmod(seconds, 86400)
    # Civil date from days since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day, rest // 3600, rest // 60 % 60, rest % 60


def iso8601(seconds):
    """``YYYY-MM-DDThh:mm:ss.000Z``: the time format of the receipt QR code (DSFinV-K Anhang I)."""
    return "%04d-%02d-%02dT%02d:%02d:%02d.000Z" % utc_fields(seconds)


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (inverse of ``utc_fields``)."""
    y = year - (1 if month <= 2 else 0)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


FIRST_YEAR = 2000  # the years a terminal's dates may have (a clock before 2000 was never set)
LAST_YEAR = 2099


def days_in_month(year, month):
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_date(text):
    """``(year, month, day)`` of ``YYYY-MM-DD``, a real day from 2000 to 2099; ``ValueError``
    saying what is wrong otherwise (a date is checked, never normalised: 02-31 is no 03-03)."""
    if not isinstance(text, str) or len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError("a date is YYYY-MM-DD, got %r" % (text,))
    parts = (text[0:4], text[5:7], text[8:10])
    if not all(p.isdigit() for p in parts):
        raise ValueError("a date is YYYY-MM-DD in digits, got %r" % text)
    year, month, day = int(parts[0]), int(parts[1]), int(parts[2])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError("the year must be %d to %d, got %r" % (FIRST_YEAR, LAST_YEAR, text))
    if not 1 <= month <= 12 or not 1 <= day <= days_in_month(year, month):
        raise ValueError("there is no day %r" % text)
    return year, month, day


def _last_sunday(year, month):
    """Unix seconds of 01:00 UTC on the last Sunday of ``month`` (the EU's summer time switch)."""
    last = days_from_civil(year + (month == 12), month % 12 + 1, 1) - 1
    return (last - (last + 4) % 7) * 86400 + 3600  # 1970-01-01 was a Thursday: +4 makes Sunday 0


_SUMMER = {}  # year -> (start, end) of summer time in Unix seconds, computed once per year


def berlin_offset(seconds):
    """Seconds to add to UTC for Germany: CEST (+2 h) from the last Sunday of March, 01:00 UTC,
    to the last Sunday of October, 01:00 UTC; CET (+1 h) otherwise (EU directive 2000/84/EC)."""
    year = utc_fields(seconds)[0]
    bounds = _SUMMER.get(year)
    if bounds is None:
        bounds = _SUMMER[year] = (_last_sunday(year, 3), _last_sunday(year, 10))
    return 7200 if bounds[0] <= seconds < bounds[1] else 3600


def local_fields(seconds):
    """``(year, month, day, hour, minute, second)`` in German local time."""
    return utc_fields(seconds + berlin_offset(seconds))


def local_text(seconds):
    """``22.11.2026 14:03:12``: German local time, as printed on a receipt."""
    y, mo, d, h, mi, s = local_fields(seconds)
    return "%02d.%02d.%04d %02d:%02d:%02d" % (d, mo, y, h, mi, s)


def local_iso(seconds):
    """``2026-11-22T14:03:12``: German local time in ISO 8601 without a zone (DSFinV-K times)."""
    return "%04d-%02d-%02dT%02d:%02d:%02d" % local_fields(seconds)
