"""The master data limits (firmware/register/limits.py) are the official DSFinV-K index.xml's:
each column's MaxLength read with lxml from the shipped reference, and master data at each
limit makes an export that passes the checker, one character more is refused."""

import json

import lxml.etree
import pytest

from core.errors import ConfigError
from firmware.register.limits import DSFINVK
from firmware.register.master import MasterData
from tools import upy


def official_lengths():
    tree = lxml.etree.parse(str(upy.ROOT / "data" / "dsfinvk" / "index.xml"))
    lengths = {}
    for variable in tree.iter("VariableColumn", "VariablePrimaryKey"):
        name = variable.findtext("Name")
        length = variable.findtext(".//MaxLength")
        if name and length:
            lengths.setdefault(name, set()).add(int(length))
    return lengths


def test_every_limit_is_the_official_max_length():
    official = official_lengths()
    for column, length in DSFINVK.items():
        assert official[column] == {length}, column


def demo():
    with open(upy.ROOT / "data" / "demo-master.json") as f:
        return json.load(f)


@pytest.mark.parametrize(
    "section, index, key, column",
    [
        ("business", None, "name", "NAME"),
        ("business", None, "city", "ORT"),
        ("business", None, "stnr", "STNR"),
        ("register", None, "model", "KASSE_MODELL"),
        ("groups", 0, "name", "WARENGR"),
        ("articles", 0, "name", "ARTIKELTEXT"),
        ("operators", 0, "name", "BEDIENER_NAME"),
    ],
)
def test_at_the_limit_is_taken_one_more_is_refused(section, index, key, column):
    for n, fits in ((DSFINVK[column], True), (DSFINVK[column] + 1, False)):
        data = demo()
        entry = data[section] if index is None else data[section][index]
        entry[key] = "x" * n
        if fits:
            MasterData.from_dict(data)
        else:
            with pytest.raises(ConfigError) as e:
                MasterData.from_dict(data)
            where = section if index is None else "%s[%d]" % (section, index)
            assert e.value.path == "%s.%s" % (where, key) and column in str(e.value)


def test_master_data_at_every_limit_exports_what_the_checker_passes(tmp_path):
    import asyncio

    from firmware.exports.dsfinvk import DsfinvkExport
    from firmware.journal import Journal
    from firmware.log import Logger
    from firmware.till import Till
    from hal.clock import ManualClock
    from tools.audit.dsfinvk import check_dsfinvk

    def longest(column, start='Ä"ö;'):
        return (start + "x" * DSFINVK[column])[: DSFINVK[column]]

    data = demo()
    b = data["business"]
    for key, column in (("name", "NAME"), ("street", "STRASSE"), ("zip", "PLZ"), ("city", "ORT")):
        b[key] = longest(column)
    b["stnr"], b["ustid"] = "1" * DSFINVK["STNR"], "DE" + "1" * (DSFINVK["USTID"] - 2)
    data["register"].update(serial="A" * 30, brand=longest("KASSE_BRAND"), model=longest("KASSE_MODELL"))
    group, plu, operator = longest("WARENGR_ID", "g"), longest("ART_NR", "p"), longest("BEDIENER_ID", "o")
    data["groups"].append({"id": group, "name": longest("WARENGR")})
    data["articles"].append(
        {"plu": plu, "name": longest("ARTIKELTEXT"), "group": group, "price": 99999999, "vat_key": 1}
    )
    data["operators"].append(dict(data["operators"][0], id=operator, name=longest("BEDIENER_NAME")))
    master = MasterData.from_dict(data)
    clock = ManualClock()
    journal = Journal(str(tmp_path / "journal"), clock)
    try:
        till = Till(master, journal, None, clock, Logger(ring=16), operator=operator)

        async def day():
            till.open_bon()
            await till.ring("add_plu", plu, 3000)
            till.pay("Bar", 3 * 99999999)
            await till.finish()
            await till.close_day(3 * 99999999)

        asyncio.run(day())
        export = DsfinvkExport(journal, master)
        export.write_zip(str(tmp_path / "dsfinvk.zip"), export.select(), str(tmp_path / "work"))
    finally:
        journal.close()
    report = check_dsfinvk(str(tmp_path / "dsfinvk.zip"))
    assert report.problems == [], report.problems
