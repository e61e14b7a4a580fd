"""Money: integer euro cents everywhere, text only at the edges.

Amounts are ``int`` cents (``1999`` is 19,99 EUR). VAT rates are ``int`` hundredths of a
percent, so every German rate is exact: 19 % = ``1900``, 7 % = ``700``, 10,7 % = ``1070``,
5,5 % = ``550``, 0 % = ``0``.

    >>> format_cents(123456)
    '1.234,56'
    >>> vat_split(1190, 1900)      # gross 11,90 at 19 % -> net 10,00 + VAT 1,90
    (1000, 190)

Rounding rule (one function, used for every VAT amount in the firmware): the VAT contained
in a gross amount is ``gross * rate / (10000 + rate)`` rounded half-up to whole cents, where
"half-up" is commercial rounding: a remainder of exactly half a cent rounds away from zero.
Rounding symmetrically about zero makes the VAT of a negated amount the exact negation
(a Storno or a return cancels its original to the cent). The net amount is gross minus
VAT, so net + VAT == gross always holds and no cent is created or lost.
VAT is computed per rate on receipt level (sum of the gross amounts of a rate, then split),
not per line, as DSFinV-K and § 14 UStG expect.
"""


def whole(value):
    """Is ``value`` a whole number (an ``int``, and not ``True``/``False``, which are ints too)?"""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(value, name):
    if not whole(value):
        raise ValueError("%s must be integer cents, got %r" % (name, value))


def div_half_up(numerator, denominator):
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero."""
    _check_int(numerator, "numerator")
    if not isinstance(denominator, int) or denominator <= 0:
        raise ValueError("denominator must be a positive integer")
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return -q if numerator < 0 else q


def vat_split(gross, rate):
    """Split ``gross`` cents at ``rate`` (hundredths of a percent) into ``(net, vat)``."""
    _check_int(gross, "gross")
    if not whole(rate) or rate < 0 or rate > 10000:
        raise ValueError("rate must be hundredths of a percent in 0..10000, got %r" % (rate,))
    vat = div_half_up(gross * rate, 10000 + rate)
    return gross - vat, vat


def _digits(cents):
    """``(sign, euros, cents)`` parts of an amount as strings, cents always two digits."""
    _check_int(cents, "amount")
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return sign, str(euros), ("0" if rest < 10 else "") + str(rest)


def format_cents(cents):
    """German display format: ``-1.234,56``. For receipts, displays and the console."""
    _check_int(cents, "amount")
    euros, rest = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    if euros < 1000:  # nearly every amount: one format, no grouping
        return "%s%d,%02d" % (sign, euros, rest)
    text = str(euros)
    head = len(text) % 3 or 3
    groups = [text[:head]] + [text[i : i + 3] for i in range(head, len(text), 3)]
    return "%s%s,%02d" % (sign, ".".join(groups), rest)


def format_plain(cents):
    """Machine format with a decimal point and no grouping: ``-1234.56``.

    This is the amount format of the TSE processData (DSFinV-K Anhang I) and of
    the ELSTER and export interfaces that want a point.
    """
    sign, euros, rest = _digits(cents)
    return sign + euros + "." + rest


def parse_cents(text):
    """Parse an amount typed by a person in German notation into cents.

    Accepts ``12``, ``12,5``, ``12,50``, ``1.234,56``, ``-3,00``; thousands points are
    optional but, when given, must group exactly three digits. Anything else raises
    ``ValueError`` naming the problem, so a typo never becomes a price.
    """
    if not isinstance(text, str):
        raise ValueError("amount must be text")
    s = text.strip()
    negative = s.startswith("-")
    if negative:
        s = s[1:]
    if "," in s:
        whole, frac = s.split(",", 1)
        if not frac or len(frac) > 2 or not frac.isdigit():
            raise ValueError("amount %r: one or two digits must follow the comma" % text)
    else:
        whole, frac = s, ""
    if "." in whole:
        groups = whole.split(".")
        if not (1 <= len(groups[0]) <= 3) or any(len(g) != 3 for g in groups[1:]):
            raise ValueError("amount %r: thousands points must separate groups of three digits" % text)
        whole = "".join(groups)
    if not whole or not whole.isdigit():
        raise ValueError("amount %r is not a number like 1.234,56" % text)
    cents = int(whole) * 100 + (int(frac) * (10 if len(frac) == 1 else 1) if frac else 0)
    return -cents if negative else cents
