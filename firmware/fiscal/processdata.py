"""processData of the ``Kassenbeleg-V1`` process type (DSFinV-K Anhang I).

    kassenbeleg_v1("Beleg", (1190, 107, 0, 0, 0), [(1000, "Bar"), (297, "Unbar")])
    -> 'Beleg^11.90_1.07_0.00_0.00_0.00^10.00:Bar_2.97:Unbar'

``<Vorgangstyp>^<gross per VAT slot>^<payments>``: five gross amounts in the fixed slot order
19 % / 7 % / 10,7 % (§ 24 Abs. 1 Nr. 3 UStG) / 5,5 % (§ 24 Abs. 1 Nr. 1 UStG) / 0 %, joined
with ``_``; payments ``<amount>:<Bar|Unbar>[:<currency>]`` summed per (type, currency), cash
before non-cash, euro before foreign currencies in alphabetical order, joined with ``_``.
Amounts have a decimal point, two decimals, no grouping, a leading ``-`` when negative.
The result is ASCII and exactly what the TSE signs: nothing may round or reformat it later.
"""

from core.money import format_plain

PROCESS_TYPE = "Kassenbeleg-V1"
VORGANGSTYPEN = (
    "Beleg",
    "AVTransfer",
    "AVBestellung",
    "AVTraining",
    "AVBelegstorno",
    "AVBelegabbruch",
    "AVSachbezug",
    "AVSonstige",
    "AVRechnung",
)
# The VAT slots of the second field, as rates in hundredths of a percent.
SLOT_RATES = (1900, 700, 1070, 550, 0)


def kassenbeleg_v1(vorgangstyp, gross_by_slot, payments):
    """Build the processData; ``payments`` are ``(cents, "Bar"|"Unbar"[, "CHF"])`` tuples."""
    if vorgangstyp not in VORGANGSTYPEN:
        raise ValueError("unknown Vorgangstyp %r" % (vorgangstyp,))
    if len(gross_by_slot) != 5:
        raise ValueError("gross amounts for exactly five VAT slots are needed")
    totals = {}
    for pay in payments:
        cents, kind = pay[0], pay[1]
        currency = pay[2] if len(pay) > 2 and pay[2] != "EUR" else ""
        if kind not in ("Bar", "Unbar"):
            raise ValueError("payment type must be Bar or Unbar, got %r" % (kind,))
        if currency and (len(currency) != 3 or not currency.isupper()):
            raise ValueError("currency must be an ISO 4217 code, got %r" % (currency,))
        key = (0 if kind == "Bar" else 1, currency)
        totals[key] = totals.get(key, 0) + cents
    parts = []
    for kind, currency in sorted(totals):
        text = format_plain(totals[(kind, currency)]) + (":Bar" if kind == 0 else ":Unbar")
        parts.append(text + (":" + currency if currency else ""))
    return "%s^%s^%s" % (vorgangstyp, "_".join(format_plain(g) for g in gross_by_slot), "_".join(parts))
