from support import ROOT, demo_master, raises

from core.errors import ConfigError
from firmware.register import bon as b
from firmware.register.master import MasterData
from firmware.register.vat import slots, vat_table

M = demo_master()


def test_master_data_lookups():
    assert M.article("1001").price == 549 and M.article("1001").vat_key == 2
    assert M.by_gtin("4006381333931").plu == "1001"
    assert M.article("3001").open_price
    assert M.operator("1").check("1111") and not M.operator("1").check("1112")
    raises(ValueError, M.article, "9999")
    raises(ValueError, M.by_gtin, "4006381333932")


def test_master_data_validation_names_the_entry():
    import json

    with open(ROOT + "/data/demo-master.json") as f:
        good = json.load(f)

    def broken(path, value):
        data = json.loads(json.dumps(good))
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return raises(ConfigError, MasterData.from_dict, data)

    assert broken(("articles", 0, "vat_key"), 9).path == "articles[0].vat_key"
    assert broken(("articles", 0, "gtin"), "4006381333932").path == "articles[0].gtin"
    assert broken(("articles", 0, "price"), -1).path == "articles[0].price"
    assert broken(("articles", 0, "group"), "nope").path == "articles[0].group"
    assert broken(("articles", 1, "plu"), "1001").path == "articles[1].plu"
    assert broken(("register", "serial"), "KASSE/1").path == "register.serial"
    data = json.loads(json.dumps(good))
    data["business"]["stnr"] = data["business"]["ustid"] = ""
    assert "Steuernummer" in str(raises(ConfigError, MasterData.from_dict, data))


def test_vat_on_receipt_level_and_slots():
    assert vat_table({1: 1190, 2: 107, 5: 500}) == [
        (1, 1900, 1190, 1000, 190),
        (2, 700, 107, 100, 7),
        (5, 0, 500, 500, 0),
    ]
    assert slots({1: 1190, 5: 500, 6: 100, 3: 10, 4: 20}) == (1190, 0, 10, 20, 600)
    raises(ValueError, slots, {8: 1})


def test_a_simple_sale_with_change():
    bon = b.Bon(M)
    bon.add_plu("1001")  # 5,49 @ 7 %
    bon.add_plu("1006", qty=2000)  # 2 x 1,79 @ 19 %
    assert bon.total == 549 + 358
    bon.pay("Bar", 1000)
    payments, given, change = bon.settle()
    assert (given, change) == (1000, 93)
    assert payments == [{"typ": "Bar", "name": "Bargeld", "amount": 907}]
    assert bon.process_data(payments=payments) == "Beleg^3.58_5.49_0.00_0.00_0.00^9.07:Bar"
    rec = bon.record(payments, given, change)
    assert rec["vat"] == [[1, 1900, 358, 301, 57], [2, 700, 549, 513, 36]]


def test_weighed_open_price_and_barcode():
    bon = b.Bon(M)
    line = bon.add_weighed("2001", grams=1234)  # 2,99 per kg
    assert (line["qty"], line["amount"], line["unit"]) == (1234, 369, "kg")  # 368,966 -> 369
    raises(ValueError, bon.add_plu, "2001")
    raises(ValueError, bon.add_weighed, "1001", 100)
    raises(ValueError, bon.add_plu, "3001")  # open price needs a price
    assert bon.add_plu("3001", price=1500)["amount"] == 1500
    assert bon.add_barcode("4006381333931")["plu"] == "1001"
    assert bon.add_open("misc", 1, 999, "Geschenkpapier")["amount"] == 999
    raises(ValueError, bon.add_open, "nope", 1, 100)
    raises(ValueError, bon.add_plu, "1001", qty=0)


def test_deposit_follows_its_article_and_voids_with_it():
    bon = b.Bon(M)
    water = bon.add_plu("1004", qty=6000)  # six bottles, each with 0,25 Einweg deposit
    assert [ln["gv_typ"] for ln in bon.lines] == ["Umsatz", "Pfand"]
    assert bon.lines[1]["amount"] == 150 and bon.lines[1]["ref_pos"] == water["pos"]
    assert bon.total == 6 * 89 + 150
    bon.void(water["pos"])
    assert bon.total == 0
    assert [(ln["gv_typ"], ln["storno"]) for ln in bon.lines[2:]] == [("Umsatz", True), ("Pfand", True)]
    raises(ValueError, bon.void, water["pos"])  # already voided
    refund = bon.pfand_refund("9002", units=4)
    assert refund["gv_typ"] == "PfandRueckzahlung" and refund["amount"] == -60


def test_line_and_receipt_discounts():
    bon = b.Bon(M)
    coffee = bon.add_plu("1001", qty=2000)  # 10,98 @ 7 %
    bon.add_plu("1006")  # 1,79 @ 19 %
    d = bon.line_discount(coffee["pos"], percent=1000)
    assert d["gv_typ"] == "Rabatt" and d["amount"] == -110 and d["vat_key"] == 2
    raises(ValueError, bon.line_discount, coffee["pos"], percent=1000, amount=5)
    raises(ValueError, bon.line_discount, coffee["pos"], amount=5000)
    before = bon.total
    cuts = bon.receipt_discount(amount=100)
    assert sum(ln["amount"] for ln in cuts) == -100 and bon.total == before - 100
    assert {ln["vat_key"] for ln in cuts} == {1, 2}
    by_key = bon.gross_by_key()
    assert by_key == {
        2: 1098 - 110 + sum(ln["amount"] for ln in cuts if ln["vat_key"] == 2),
        1: 179 + sum(ln["amount"] for ln in cuts if ln["vat_key"] == 1),
    }


def test_returns_vouchers_and_tips():
    bon = b.Bon(M)
    bon.add_return("1006")
    assert bon.total == -179
    raises(ValueError, bon.pay, "Bar", 100)  # nothing positive is due
    bon.pay("Bar", -179)
    payments, _, change = bon.settle()
    assert payments[0]["amount"] == -179 and change == 0
    bon = b.Bon(M)
    bon.sell_voucher(2000, "G-0001")
    bon.add_tip(150)
    assert bon.gross_by_key() == {5: 2150}
    bon2 = b.Bon(M)
    bon2.add_plu("1008")
    bon2.redeem_voucher(250, "G-0001")
    assert bon2.total == 0 and bon2.gross_by_key() == {2: 250, 5: -250}
    assert bon2.settle() == ([], 0, 0)
    assert bon2.process_data(payments=[]) == "Beleg^0.00_2.50_0.00_0.00_-2.50^"


def test_split_payment_and_card_limits():
    bon = b.Bon(M)
    bon.add_plu("1005", qty=3000)  # 3 x (2,29 + 0,15 deposit)
    assert bon.total == 732
    raises(ValueError, bon.pay, "ECKarte", 800)  # a card cannot pay more than is due
    bon.pay("ECKarte", 500)
    raises(ValueError, bon.settle)
    bon.pay("Bar", 500)
    payments, given, change = bon.settle()
    assert (given, change) == (500, 268)
    assert payments == [
        {"typ": "Bar", "name": "Bargeld", "amount": 232},
        {"typ": "ECKarte", "name": "EC-Karte", "amount": 500},
    ]
    assert bon.process_data(payments=payments) == "Beleg^7.32_0.00_0.00_0.00_0.00^2.32:Bar_5.00:Unbar"
    raises(ValueError, bon.pay, "Scheck", 1)


def test_cash_movements_and_training():
    float_bon = b.cash_movement(M, "Anfangsbestand", 15000)
    payments, _, _ = float_bon.settle()
    assert float_bon.process_data(payments=payments) == "Beleg^0.00_0.00_0.00_0.00_150.00^150.00:Bar"
    out = b.cash_movement(M, "Privatentnahme", -5000)
    assert out.process_data(payments=out.settle()[0]) == "Beleg^0.00_0.00_0.00_0.00_-50.00^-50.00:Bar"
    raises(ValueError, b.cash_movement, M, "Lohn", 100)
    raises(ValueError, b.cash_movement, M, "Einzahlung", 0)
    training = b.Bon(M, b.TRAINING)
    training.add_plu("1003")
    training.pay("Bar", 45)
    assert training.process_data(payments=training.settle()[0]).startswith("AVTraining^")
    raises(ValueError, b.Bon, M, "AVSonstige")


def test_storno_negates_everything_and_references_the_original():
    bon = b.Bon(M)
    bon.add_plu("1004", qty=2000)
    bon.pay("Bar", 500)
    payments, given, change = bon.settle()
    original = bon.record(payments, given, change)
    original.update(bon_nr=7, bon_id="7", z_nr=1, end=1767225600)
    storno = b.storno_of(M, original)
    assert storno.total == -original["total"]
    assert [ln["amount"] for ln in storno.lines] == [-ln["amount"] for ln in original["lines"]]
    assert storno.settle()[0] == [{"typ": "Bar", "name": "Bargeld", "amount": -original["total"]}]
    assert storno.references == [
        {
            "ref_typ": "Transaktion",
            "ref_name": "Storno",
            "ref_z_nr": 1,
            "ref_bon_id": "7",
            "ref_datum": 1767225600,
        }
    ]
    assert storno.name == "Storno zu Bon 7"
