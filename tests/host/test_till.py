"""The sale workflow against the emulated TSE: the start is immediate, bad input changes
nothing, and recovery after a power cut at each step leaves journal and TSE in agreement."""

import asyncio
import sys

import pytest

from firmware.journal import Journal, receipts
from firmware.log import Logger
from firmware.receipts import receipt, to_text
from firmware.register.bon import TRAINING
from firmware.till import Till
from hal.clock import SystemClock
from tools import upy
from tools.audit.tse import verify_tar
from tools.sim.tse.image import ImageBlocks
from tools.sim.tse.server import open_card
from tools.sim.tse.tar import export
from tse_sd.client import TseClient
from tse_sd.service import TseService
from tse_sd.transport import BlockTransport

sys.path.insert(0, str(upy.ROOT / "tests" / "device"))
from support import demo_master  # noqa: E402

CLIENT = "SMARTECR-SIM-0001"


class PowerCut(BaseException):
    """The firmware stops here, as if the power went."""


@pytest.fixture
def shop(tmp_path):
    card, image = open_card(str(tmp_path / "card"))
    clock = SystemClock()
    client = TseClient(lambda: BlockTransport(ImageBlocks(image)), clock)
    asyncio.run(client.setup("123456", "12345", "54321", CLIENT, clock.now()))

    journals = []

    def till():
        journals.append(Journal(str(tmp_path / "journal"), clock))
        return Till(demo_master(), journals[-1], client, clock, Logger(ring=100))

    yield card, client, till
    for journal in journals:
        journal.close()
    image.close()
    card.close()


def run(coro):
    return asyncio.run(coro)


def belege(till):
    return list(receipts(till.journal.records()))


def agree(card, journal):
    """Every TSE transaction of the register is in the journal, with the processData signed."""
    report = verify_tar(export(card)[0])
    assert report.ok, report.problems
    assert not card.open
    signed = {}
    for r in journal.records():
        if r["type"] == "beleg" and "tse" in r["data"]:
            signed[r["data"]["tse"]["number"]] = r["data"]["tse"]["process_data"]
        elif r["type"] == "tse_late":
            signed[r["data"]["number"]] = r["data"]["tse"]["process_data"]
    finishes = {m.number: m.fields[2].decode() for _, m in report.logs if m.text(0) == "FinishTransaction"}
    assert finishes == signed
    bons = list(receipts(journal.records()))
    for bon in bons:
        assert "tse" in bon or bon.get("tse_failure"), bon["bon_nr"]
    numbers = [b["bon_nr"] for b in bons]
    assert numbers == list(range(1, len(numbers) + 1))  # continuous, none twice


def test_the_first_entry_starts_the_tse_transaction_at_once(shop):
    card, client, make = shop
    till = make()
    till.open_bon()
    assert not card.open
    run(till.ring("add_plu", "1003"))
    assert len(card.open) == 1
    run(till.ring("add_plu", "1002"))
    assert len(card.open) == 1  # one transaction per receipt
    assert [r["type"] for r in till.journal.records()] == ["tse_start"]


def test_bad_input_changes_nothing(shop):
    card, client, make = shop
    till = make()
    till.open_bon()
    run(till.ring("add_plu", "1001"))
    seq = till.journal.seq
    with pytest.raises(ValueError):
        run(till.ring("add_plu", "no-such-plu"))
    with pytest.raises(ValueError):
        run(till.finish())  # nothing paid
    till.pay("Bar", 200)
    with pytest.raises(ValueError):
        run(till.finish())  # not enough
    assert till.journal.seq == seq and till.sale()["total"] == 549 and len(card.open) == 1
    with pytest.raises(ValueError):
        till.open_bon()  # one receipt at a time
    with pytest.raises(ValueError):
        run(till.storno(99))
    till.pay("Bar", 400)
    assert run(till.finish())["change"] == 51
    agree(card, till.journal)


def test_abort_training_and_storno(shop):
    card, client, make = shop
    till = make()
    till.open_bon()
    assert run(till.abort()) is None  # nothing entered: nothing to abort
    till.open_bon()
    run(till.ring("add_plu", "1006"))
    aborted = run(till.abort())
    assert aborted["bon_typ"] == "AVBelegabbruch" and aborted["tse"]["process_data"].startswith(
        "AVBelegabbruch^"
    )
    till.open_bon(TRAINING)
    run(till.ring("add_plu", "1006"))
    till.pay("Bar", 179)
    assert run(till.finish())["tse"]["process_data"] == "AVTraining^1.79_0.00_0.00_0.00_0.00^1.79:Bar"
    till.open_bon()
    run(till.ring("add_plu", "1001"))
    till.pay("ECKarte", 549)
    sold = run(till.finish())
    with pytest.raises(ValueError):
        run(till.storno(aborted["bon_nr"]))  # only a Beleg can be cancelled
    copy = till.reprint(sold["bon_nr"])
    assert copy == sold and list(till.journal.records())[-1]["type"] == "reprint"
    assert "*** KOPIE ***" in to_text(receipt(copy, till.master, 42, reprint=True))
    with pytest.raises(ValueError):
        till.reprint(999)
    storno = run(till.storno(sold["bon_nr"]))
    assert storno["total"] == -549 and storno["references"][0]["ref_bon_id"] == sold["bon_id"]
    assert storno["tse"]["process_data"] == "Beleg^0.00_-5.49_0.00_0.00_0.00^-5.49:Unbar"
    agree(card, till.journal)


def _sale(till, bon_steps=(("add_plu", "1004"),), pay=200):
    till.open_bon()
    for name, *args in bon_steps:
        run(till.ring(name, *args))
    till.pay("Bar", pay)
    return till.sale()


def test_power_cut_before_the_finish_reached_the_tse(shop, monkeypatch):
    card, client, make = shop
    till = make()
    _sale(till)

    async def cut(*args):
        raise PowerCut()

    monkeypatch.setattr(client, "finish_transaction", cut)
    with pytest.raises(PowerCut):
        run(till.finish())
    monkeypatch.undo()
    till.journal.close()
    assert len(card.open) == 1
    again = make()
    assert run(again.recover()) == [("completed", 1)]
    (bon,) = belege(again)
    assert bon["recovered"] and bon["tse"]["process_data"] == "Beleg^1.14_0.00_0.00_0.00_0.00^1.14:Bar"
    agree(card, again.journal)


def test_power_cut_after_the_tse_finished(shop, monkeypatch):
    card, client, make = shop
    till = make()
    _sale(till)
    real = client.finish_transaction

    async def finished_then_cut(*args):
        await real(*args)
        raise PowerCut()

    monkeypatch.setattr(client, "finish_transaction", finished_then_cut)
    with pytest.raises(PowerCut):
        run(till.finish())
    monkeypatch.undo()
    till.journal.close()
    assert not card.open
    again = make()
    assert run(again.recover()) == [("completed", 1)]  # from the TSE's last answer
    agree(card, again.journal)


def test_power_cut_after_the_start_leaves_an_orphan_that_is_aborted(shop):
    card, client, make = shop
    till = make()
    till.open_bon()
    run(till.ring("add_plu", "1001"))  # started; the cart is lost with the power
    till.journal.close()
    again = make()
    done = run(again.recover())
    assert done == [("aborted", 1)]
    (bon,) = belege(again)
    assert bon["bon_typ"] == "AVBelegabbruch" and bon["recovered"]
    assert run(again.recover()) == []  # nothing left to do
    agree(card, again.journal)


def test_a_failed_finish_is_signed_late_when_the_tse_is_back(shop):
    card, client, make = shop
    till = make()
    _sale(till)
    card.faults.update({"removed": True})
    failed = run(till.finish())
    assert failed["tse_failure"] and failed["tse_number"] == 1 and "tse" not in failed
    card.faults.update({"removed": False})
    card.power_on()
    service = TseService(client, SystemClock(), Logger(ring=20), CLIENT, "54321")
    assert run(service.boot()) == "ready"
    assert run(till.recover()) == [("signed late", failed["bon_nr"])]
    agree(card, till.journal)


def test_a_card_put_back_signs_the_next_sale_and_closes_what_was_left_open(shop):
    card, client, make = shop
    log = Logger(ring=100)
    service = TseService(client, SystemClock(), log, CLIENT, "54321")
    assert run(service.boot()) == "ready"
    till = make()
    till.service = service
    _sale(till)
    card.faults.update({"removed": True})  # pulled between the start and the finish
    failed = run(till.finish())
    assert failed["tse_failure"] == "TSE-Karte entnommen" and "I/O" in failed["tse_detail"]
    assert service.status()["can"] == "failed: the card was removed or cannot be read"
    assert len(card.open) == 1
    card.faults.update({"removed": False})
    card.power_on()  # back in: no time, no self-test
    assert service.refresh() == "not_ready" and service.can() == "needs time"
    sold = _sale(till, pay=300)
    record = run(till.finish())
    assert "tse" in record and record["bon_nr"] == failed["bon_nr"] + 1  # signed, not NO_TIME_SET
    assert service.state == "ready" and not card.open  # the failed one was signed late
    (late,) = [r["data"] for r in till.journal.records() if r["type"] == "tse_late"]
    assert late["bon_nr"] == failed["bon_nr"] and sold is not None
    agree(card, till.journal)


def test_a_card_that_lost_its_time_is_set_before_the_sale_fails(shop):
    card, client, make = shop
    service = TseService(client, SystemClock(), Logger(ring=20), CLIENT, "54321")
    till = make()
    till.service = service
    card.power_on()  # power-up: the card forgot its time and its self-test
    _sale(till)
    assert "tse" in run(till.finish())
    assert not [r for r in till.journal.records() if r["type"] == "beleg" and "tse_failure" in r["data"]]
    agree(card, till.journal)
