from support import raises

from firmware.fiscal.processdata import kassenbeleg_v1


def test_canonical_example_of_dsfinvk():
    # DSFinV-K Anhang I: Beleg^75.33_7.99_0.00_0.00_0.00^10.00:Bar_5.00:Bar:CHF_5.00:Bar:USD_64.30:Unbar
    data = kassenbeleg_v1(
        "Beleg",
        (7533, 799, 0, 0, 0),
        [(6430, "Unbar"), (500, "Bar", "USD"), (1000, "Bar"), (500, "Bar", "CHF")],
    )
    assert data == "Beleg^75.33_7.99_0.00_0.00_0.00^10.00:Bar_5.00:Bar:CHF_5.00:Bar:USD_64.30:Unbar"


def test_payments_are_summed_per_type_and_currency():
    data = kassenbeleg_v1("Beleg", (1000, 0, 0, 0, 0), [(300, "Bar"), (200, "Unbar"), (500, "Bar", "EUR")])
    assert data == "Beleg^10.00_0.00_0.00_0.00_0.00^8.00:Bar_2.00:Unbar"


def test_negative_amounts_keep_their_sign():
    data = kassenbeleg_v1("Beleg", (0, 0, 0, 0, -10000), [(-10000, "Bar")])
    assert data == "Beleg^0.00_0.00_0.00_0.00_-100.00^-100.00:Bar"


def test_abort_without_payment_has_an_empty_payment_part():
    assert kassenbeleg_v1("AVBelegabbruch", (0, 0, 0, 0, 0), []) == "AVBelegabbruch^0.00_0.00_0.00_0.00_0.00^"


def test_bad_input_is_refused():
    raises(ValueError, kassenbeleg_v1, "Rechnung", (0, 0, 0, 0, 0), [])
    raises(ValueError, kassenbeleg_v1, "Beleg", (0, 0, 0, 0), [])
    raises(ValueError, kassenbeleg_v1, "Beleg", (100, 0, 0, 0, 0), [(100, "Karte")])
    raises(ValueError, kassenbeleg_v1, "Beleg", (100, 0, 0, 0, 0), [(100, "Bar", "chf")])
    raises(ValueError, kassenbeleg_v1, "Beleg", (1.5, 0, 0, 0, 0), [])
