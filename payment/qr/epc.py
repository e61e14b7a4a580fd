"""The EPC QR code ("GiroCode") for a SEPA credit transfer (device code, no I/O): what the
customer screen shows when the customer pays by bank transfer from the phone.

    text = girocode("Mustermann Feinkost GmbH", "DE02100500000054540402", 1234, "Bon 42")
    read_girocode(text)    # {"name", "iban", "bic", "amount", "text"}; ProtocolError if broken

EPC069-12 version 002: lines ``BCD``, ``002``, the character set (1 = UTF-8), ``SCT``, the BIC
(optional in 002), the beneficiary's name (at most 70), the IBAN (at most 34, checked mod 97),
``EUR`` and the amount (0.01 to 999999999.99), the purpose code, a structured reference *or* a
text (at most 140), and a note to the payer. The code is printed at error correction level M.
The code confirms nothing: the money shows only on the merchant's account (an instant transfer
within seconds), so a sale paid this way is recorded as awaiting the transfer, not as paid.
"""

from core.errors import ProtocolError


def iban_ok(iban):
    """The IBAN's check digits hold (ISO 13616: the number mod 97 is 1)."""
    iban = iban.replace(" ", "").upper()
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    n = 0
    for c in iban[4:] + iban[:4]:
        if c.isdigit():
            n = (n * 10 + ord(c) - 48) % 97
        elif "A" <= c <= "Z":
            n = (n * 100 + ord(c) - 55) % 97
        else:
            return False
    return n == 1


def girocode(name, iban, cents, text, bic=""):
    if not iban_ok(iban):
        raise ValueError("not a valid IBAN: %r" % iban)
    if not 1 <= cents <= 99999999999:
        raise ValueError("an EPC transfer is 0.01 to 999999999.99 EUR")
    lines = ["BCD", "002", "1", "SCT", bic, name[:70], iban.replace(" ", "").upper()]
    lines += ["EUR%d.%02d" % (cents // 100, cents % 100), "", "", text[:140]]
    return "\n".join(lines)


def read_girocode(text):
    lines = text.split("\n")
    if len(lines) < 7 or lines[0] != "BCD" or lines[3] != "SCT":
        raise ProtocolError("not an EPC QR code (BCD ... SCT)")
    if lines[1] not in ("001", "002"):
        raise ProtocolError("EPC QR code version %r" % lines[1])
    if not iban_ok(lines[6]):
        raise ProtocolError("EPC QR code: the IBAN's check digits are wrong")
    amount = lines[7] if len(lines) > 7 else ""
    cents = None
    if amount:
        euros, _, frac = amount[3:].partition(".")
        if not amount.startswith("EUR") or not euros.isdigit() or not (frac.isdigit() or not frac):
            raise ProtocolError("EPC QR code amount %r" % amount)
        cents = int(euros) * 100 + int((frac + "00")[:2])
    return {
        "name": lines[5],
        "iban": lines[6],
        "bic": lines[4],
        "amount": cents,
        "text": lines[10] if len(lines) > 10 else "",
    }
