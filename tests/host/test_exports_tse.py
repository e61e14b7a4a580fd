"""TSE exports on the emulated card: incremental exports without gaps, the structural check
before deleteStoredData, a broken export deleting nothing; the Kassen-Nachschau hand-over;
the ELSTER notification and its check."""

import asyncio
import os
import sys

import pytest

from core.errors import ExportError
from firmware.config import DEFAULTS
from firmware.exports.dsfinvk import DsfinvkExport
from firmware.exports.elster import aufzeichnung_146a, notification, system_fields
from firmware.exports.nachschau import kassen_nachschau
from firmware.exports.tse_export import TseExports, check_tar
from firmware.journal import Journal
from firmware.log import Logger
from firmware.till import Till
from hal.clock import SystemClock
from tools import upy
from tools.audit.dsfinvk import check_dsfinvk, read_export
from tools.audit.elster import check_elster
from tools.audit.tse import verify_tar
from tools.sim.tse.image import ImageBlocks
from tools.sim.tse.server import open_card
from tse_sd.client import TseClient
from tse_sd.service import TseService
from tse_sd.transport import BlockTransport

sys.path.insert(0, str(upy.ROOT / "tests" / "device"))
from support import demo_master  # noqa: E402

ADMIN = "12345"


@pytest.fixture
def shop(tmp_path):
    card, image = open_card(str(tmp_path / "card"))
    clock = SystemClock()
    client = TseClient(lambda: BlockTransport(ImageBlocks(image)), clock)
    master = demo_master()
    asyncio.run(client.setup("123456", ADMIN, "54321", master.register["serial"], clock.now()))
    journal = Journal(str(tmp_path / "journal"), clock)
    till = Till(master, journal, client, clock, Logger(ring=100))
    asyncio.run(till.recover())
    exports = TseExports(client, journal, str(tmp_path / "tse-exports"), clock)
    yield till, exports, tmp_path, card
    journal.close()
    image.close()
    card.close()


async def sell(till, n):
    for _ in range(n):
        till.open_bon()
        await till.ring("add_plu", "1001")
        till.pay("Bar", 1000)
        await till.finish()


def test_incremental_exports_follow_each_other_without_a_gap(shop):
    till, exports, _tmp, _card = shop
    asyncio.run(sell(till, 3))
    first = asyncio.run(exports.export())
    asyncio.run(sell(till, 2))
    second = asyncio.run(exports.export())
    assert first["first"] == 1 and second["first"] == first["last"] + 1
    assert second["last"] == till.tse.info().created_signatures
    for record in (first, second):
        report = verify_tar(record["file"])
        assert report.ok, report.problems
        assert report.counters() == list(range(record["first"], record["last"] + 1))
    kinds = [r["data"]["kind"] for r in till.journal.records(kind="tse_export")]
    assert kinds == ["incremental", "incremental"]


def test_delete_stored_data_only_after_a_checked_export(shop):
    till, exports, _tmp, _card = shop
    asyncio.run(sell(till, 4))
    before = till.tse.info().tar_export_size
    record = asyncio.run(exports.delete_stored_data(ADMIN))
    assert verify_tar(record["file"]).ok
    assert till.tse.info().tar_export_size < before  # the store was freed
    [deleted] = [r["data"] for r in till.journal.records(kind="tse_delete")]
    assert deleted["up_to"] == record["last"]
    asyncio.run(sell(till, 1))  # signing goes on; the next export starts where the last ended
    nxt = asyncio.run(exports.export())
    assert nxt["first"] == record["last"] + 1 and verify_tar(nxt["file"]).ok


class Tamper:
    """The TSE client with an export stream that loses one chunk on the way (a bad cable)."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, name):
        return getattr(self.client, name)

    async def export_tar(self, sink, *args):
        chunks = []
        await self.client.export_tar(chunks.append, *args)
        data = b"".join(chunks)
        sink(data[:2048] + data[2560:])  # one 512-byte block gone


def test_a_broken_export_deletes_nothing(shop):
    till, exports, tmp, _card = shop
    asyncio.run(sell(till, 3))
    before = till.tse.info().tar_export_size
    broken = TseExports(Tamper(till.tse), till.journal, exports.folder, till.clock)
    with pytest.raises(ExportError, match="failed its check"):
        asyncio.run(broken.delete_stored_data(ADMIN))
    assert till.tse.info().tar_export_size >= before
    assert list(till.journal.records(kind="tse_delete")) == []
    assert os.listdir(exports.folder) == []  # the partial file is gone, nothing else written
    good = asyncio.run(exports.delete_stored_data(ADMIN))  # a sound export then frees the card
    assert verify_tar(good["file"]).ok


def test_check_tar_finds_gaps_cuts_and_missing_parts(shop):
    till, exports, tmp, _card = shop
    asyncio.run(sell(till, 2))
    record = asyncio.run(exports.export())
    with open(record["file"], "rb") as f:
        data = f.read()
    assert check_tar(record["file"]).ok
    cut = tmp / "cut.tar"
    cut.write_bytes(data[: len(data) // 2])
    assert any("cut short" in p or "zero blocks" in p for p in check_tar(str(cut)).problems)
    bad = bytearray(data)
    bad[0] ^= 0x01  # the first header's name: its checksum no longer matches
    (tmp / "bad.tar").write_bytes(bytes(bad))
    assert any("checksum" in p for p in check_tar(str(tmp / "bad.tar")).problems)
    assert "starts at signature counter 1, expected 5" in check_tar(record["file"], expect_first=5).problems


def test_kassen_nachschau_hands_over_everything_and_keeps_the_card(shop):
    till, exports, tmp, _card = shop
    asyncio.run(sell(till, 3))
    asyncio.run(till.close_day(counted=3000))
    asyncio.run(sell(till, 1))
    usb = tmp / "usb"
    usb.mkdir()
    done = asyncio.run(kassen_nachschau(str(usb), till.journal, till.master, exports, till.clock))
    folder = done["folder"]
    assert os.path.dirname(folder) == str(usb) and done["closings"] == [1]
    assert sorted(os.listdir(folder)) == ["dsfinvk.zip", os.path.basename(done["tse"])]
    report = check_dsfinvk(os.path.join(folder, "dsfinvk.zip"))
    assert report.ok, report.problems
    assert verify_tar(done["tse"]).ok
    # the hand-over copy is not the register's own stored export: the next export starts at 1
    assert exports.last_exported(next(till.journal.records(kind="tse"))["data"]["serial"]) == 0
    assert [r["data"]["folder"] for r in till.journal.records(kind="nachschau")] == [folder]


def test_a_late_signature_is_a_second_tse_row_of_its_receipt(shop):
    till, _exports, tmp, card = shop
    till.open_bon()
    asyncio.run(till.ring("add_plu", "1001"))
    till.pay("Bar", 1000)
    card.faults.update({"removed": True})  # the card is pulled before the Finish
    failed = asyncio.run(till.finish())
    card.faults.update({"removed": False})
    card.power_on()
    assert asyncio.run(TseService(till.tse, till.clock, till.log, till.client_id, "54321").boot()) == "ready"
    assert asyncio.run(till.recover()) == [("signed late", failed["bon_nr"])]
    asyncio.run(till.close_day(counted=1000))
    export = DsfinvkExport(till.journal, till.master)
    export.write_zip(str(tmp / "late.zip"), export.select(), str(tmp / "w"))
    report = check_dsfinvk(str(tmp / "late.zip"))
    assert report.ok, report.problems
    rows = [
        r for r in read_export(str(tmp / "late.zip"))["transactions_tse.csv"].decode().split("\r\n")[1:] if r
    ]
    mine = [r.split(";") for r in rows if r.split(";")[3] == '"%s"' % failed["bon_id"]]
    assert len(mine) == 2
    assert mine[0][11].startswith('"TSE ausgefallen: ') and mine[0][10] == '""'  # the failure, unsigned
    assert mine[1][11] == '""' and mine[1][10] != '""'  # then its late signature


def test_elster_notification(shop):
    till, _exports, tmp, _card = shop
    tse = next(till.journal.records(kind="tse"))
    first = next(till.journal.records())["t"]
    xml = aufzeichnung_146a(till.master, tse["data"], tse["t"], DEFAULTS["elster"], "0.1.0", first)
    path = tmp / "elster.xml"
    path.write_text(xml)
    assert check_elster(str(path)) == []
    assert "<SeriennummerTSE>%s</SeriennummerTSE>" % tse["data"]["serial"] in xml
    assert "<AnschaffungAS>15.01.2026</AnschaffungAS>" in xml and "<ArtTSE>1</ArtTSE>" in xml
    settings = dict(DEFAULTS["elster"], acquired="15.01.2026")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        aufzeichnung_146a(till.master, tse["data"], tse["t"], settings, "0.1.0", first)
    settings = dict(DEFAULTS["elster"], decommissioned="2026-12-31")
    with pytest.raises(ValueError, match="reason"):
        aufzeichnung_146a(till.master, tse["data"], tse["t"], settings, "0.1.0", first)
    settings = dict(DEFAULTS["elster"], bsi_id="BSI-K-TR-12")
    with pytest.raises(ValueError, match="BSI id"):
        aufzeichnung_146a(till.master, tse["data"], tse["t"], settings, "0.1.0", first)
    retired = xml.replace(
        "</InbetriebnahmeAS>", "</InbetriebnahmeAS><AusserbetriebnahmeAS>01.01.2020</AusserbetriebnahmeAS>"
    )
    path.write_text(retired.replace("<BSIID>BSI-K-TR-0000-0000", "<BSIID>BSI-0000"))
    problems = check_elster(str(path))
    assert any("BSIID" in p for p in problems)
    assert any("out of order" in p for p in problems)
    assert any("without GrundAusserbetriebnahme" in p for p in problems)


def test_a_stores_notification_of_registers_sharing_one_tse(shop):
    till, _exports, tmp, _card = shop
    tse = next(till.journal.records(kind="tse"))
    first = next(till.journal.records())["t"]
    systems, own = [], till.master.register["serial"]
    try:
        for serial in ("SMARTECR-0001", "SMARTECR-0002"):
            till.master.register["serial"] = serial
            fields = system_fields(till.master, tse["data"], tse["t"], DEFAULTS["elster"], "0.1.0", first)
            systems.append(fields)
    finally:
        till.master.register["serial"] = own
    path = tmp / "store.xml"
    path.write_text(notification(systems))
    assert check_elster(str(path)) == []
    text = path.read_text()
    assert text.count("<AngabenAufzeichnungssystem>") == 2 and text.count(tse["data"]["serial"]) == 2
    # the same TSE said to be another kind by one register, and a register listed twice
    path.write_text(notification(systems + [systems[1]]).replace("<ArtTSE>1<", "<ArtTSE>3<", 1))
    problems = check_elster(str(path))
    assert any(
        "system 2: TSE %s... is described otherwise than in system 1" % tse["data"]["serial"][:16] in p
        for p in problems
    ), problems
    assert any("system 3: register SMARTECR-0002 is listed already (system 2)" in p for p in problems)
