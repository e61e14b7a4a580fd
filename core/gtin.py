"""GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) check digits: for master data, the scanner and the printer.

valid("4006381333931")      # True
check_digit("400638133393") # 1
"""


def check_digit(body):
    """The check digit of the digits ``body`` (weights 3, 1, 3, ... from the right)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def valid(code):
    """True for 8, 12, 13 or 14 digits whose last digit is the right check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    return check_digit(code[:-1]) == int(code[-1])
