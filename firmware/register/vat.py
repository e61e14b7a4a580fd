"""DSFinV-K USt-Schlüssel (Stamm_USt, DSFinV-K 2.4 Tz. 3.2.6) and VAT per receipt.

    rate(1)                          -> 1900 (19,00 %)
    vat_table({1: 1190, 2: 107})     -> [(1, 1900, 1190, 1000, 190), (2, 700, 107, 100, 7)]
    slots({1: 1190, 5: 500})         -> (1190, 0, 0, 0, 500): the processData order

VAT is computed on receipt level: the gross amounts of one key are summed, then split once
with ``core.money.vat_split`` (half-up). Keys 5, 6 and 7 all carry 0 % and share the
last processData slot (DSFinV-K Anhang I: "0 % / nicht steuerbar").
"""

from core.money import vat_split

VAT_KEYS = {
    1: (1900, "Regelsteuersatz"),
    2: (700, "Ermäßigter Steuersatz"),
    3: (1070, "Durchschnittsatz (§ 24 Abs. 1 Nr. 3 UStG) übrige Fälle"),
    4: (550, "Durchschnittsatz (§ 24 Abs. 1 Nr. 1 UStG)"),
    5: (0, "Nicht Steuerbar"),
    6: (0, "Umsatzsteuerfrei"),
    7: (0, "UmsatzsteuerNichtErmittelbar"),
}
_SLOT = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 4}


def rate(key):
    """The rate of a key in hundredths of a percent; ``ValueError`` for an unknown key."""
    entry = VAT_KEYS.get(key)
    if entry is None:
        raise ValueError("unknown USt-Schlüssel %r (known: 1-7)" % (key,))
    return entry[0]


def vat_table(gross_by_key):
    """``[(key, rate, gross, net, vat)]`` sorted by key, skipping keys with nothing on them."""
    out = []
    for key in sorted(gross_by_key):
        gross = gross_by_key[key]
        net, vat = vat_split(gross, rate(key))
        out.append((key, rate(key), gross, net, vat))
    return out


def slots(gross_by_key):
    """The five gross amounts of processData ``Kassenbeleg-V1``: 19 / 7 / 10,7 / 5,5 / 0 %."""
    out = [0, 0, 0, 0, 0]
    for key, gross in gross_by_key.items():
        rate(key)
        out[_SLOT[key]] += gross
    return tuple(out)
