import os

from support import TempDir, raises

from firmware.journal import Journal, JournalCorrupt
from hal.clock import ManualClock


def _fill(folder, n=5):
    j = Journal(folder, ManualClock())
    for i in range(n):
        j.append("beleg", {"bon_nr": i + 1, "text": "Brötchen\t€", "amount": 45 * (i + 1)})
    j.close()


def _segment(folder):
    return folder + "/z000001.log"


def test_append_read_and_verify():
    d = TempDir()
    try:
        _fill(d.path)
        j = Journal(d.path, ManualClock())
        recs = list(j.records())
        assert [r["seq"] for r in recs] == [1, 2, 3, 4, 5]
        assert recs[0]["data"] == {"bon_nr": 1, "text": "Brötchen\t€", "amount": 45}
        assert recs[0]["type"] == "beleg" and recs[0]["t"] == 1767225600
        assert j.verify() == (True, [])
        j.append("x", {})
        assert j.seq == 6
        j.close()
    finally:
        d.cleanup()


def test_segments_continue_the_chain():
    d = TempDir()
    try:
        j = Journal(d.path, ManualClock())
        j.append("beleg", {"n": 1})
        j.append("closing", {"z_nr": 1})
        j.new_segment(1)
        j.append("beleg", {"n": 2})
        j.close()
        assert sorted(os.listdir(d.path)) == ["z000001.log", "z000002.log"]
        j = Journal(d.path, ManualClock())
        assert j.seq == 4 and j.segment == 2
        assert [r["type"] for r in j.records(segment=2)] == ["segment", "beleg"]
        assert j.verify()[0]
        size = sum(os.stat(d.path + "/" + n)[6] for n in os.listdir(d.path))
        assert j.stats() == {"records": 4, "segments": 2, "open_period": 2, "bytes": size}
        result = []
        assert list(j.verify_steps(result, step=2)) == [2, 4] and result == [True, []]
        j.close()
    finally:
        d.cleanup()


def test_a_torn_last_record_is_cut_at_every_byte():
    d = TempDir()
    try:
        _fill(d.path, 3)
        with open(_segment(d.path), "rb") as f:
            whole = f.read()
        last_start = whole.rindex(b"\n", 0, len(whole) - 1) + 1
        for cut in range(last_start, len(whole)):  # every byte of the last record
            with open(_segment(d.path), "wb") as f:
                f.write(whole[:cut])
            j = Journal(d.path, ManualClock())
            recs = list(j.records())
            if cut == last_start:
                assert [r["type"] for r in recs] == ["beleg", "beleg"]  # nothing torn to cut
            else:
                assert [r["type"] for r in recs] == ["beleg", "beleg", "recovery"]
                assert recs[2]["data"]["cut_bytes"] == cut - last_start
            assert j.verify()[0]
            assert recs[1]["data"]["bon_nr"] == 2
            j.close()
    finally:
        d.cleanup()


def test_damage_before_the_last_record_refuses_to_open_and_changes_nothing():
    d = TempDir()
    try:
        _fill(d.path, 4)
        with open(_segment(d.path), "rb") as f:
            whole = f.read()
        damaged = whole.replace(b'"amount": 90', b'"amount": 99', 1)
        assert damaged != whole
        with open(_segment(d.path), "wb") as f:
            f.write(damaged)
        e = raises(JournalCorrupt, Journal, d.path, ManualClock())
        assert "before the last one" in str(e)
        with open(_segment(d.path), "rb") as f:
            assert f.read() == damaged
    finally:
        d.cleanup()


def test_verify_finds_a_changed_record_in_a_closed_segment():
    d = TempDir()
    try:
        j = Journal(d.path, ManualClock())
        j.append("beleg", {"amount": 100})
        j.append("beleg", {"amount": 200})
        j.new_segment(1)
        j.close()
        with open(_segment(d.path), "rb") as f:
            data = f.read()
        with open(_segment(d.path), "wb") as f:
            f.write(data.replace(b'"amount": 100', b'"amount": 900'))
        raises(JournalCorrupt, Journal, d.path, ManualClock())
    finally:
        d.cleanup()


def test_receipts_are_whole_whichever_way_they_were_written():
    from firmware.journal import receipts

    records = [
        {"seq": 1, "type": "beleg", "data": {"bon_nr": 1, "total": 100, "tse_failure": "no TSE"}},
        {"seq": 2, "type": "pending", "data": {"number": 7, "bon": {"bon_nr": 2, "total": 250}}},
        {"seq": 3, "type": "tse_start", "data": {"number": 8}},
        {"seq": 4, "type": "beleg", "data": {"pending": 2, "bon_nr": 2, "tse": {"number": 7}, "end": 99}},
    ]
    assert list(receipts(records)) == [
        {"bon_nr": 1, "total": 100, "tse_failure": "no TSE"},
        {"bon_nr": 2, "total": 250, "tse": {"number": 7}, "end": 99},
    ]
    broken = [{"seq": 1, "type": "beleg", "data": {"pending": 9, "bon_nr": 3}}]
    raises(JournalCorrupt, list, receipts(broken))


def test_records_larger_than_a_chunk_read_back_exactly():
    d = TempDir()
    try:
        j = Journal(d.path, ManualClock())
        big = {
            "bon": {
                "lines": [
                    {
                        "pos": i,
                        "text": "Artikel Nr. %d mit Umlauten äöü €" % i,
                        "amount": i * 7,
                        "tags": [i, {"x": "y" * (i % 5)}],
                    }
                    for i in range(120)
                ],
                "payments": [{"typ": "Bar", "amount": 1}],
                "empty": {},
                "none": [],
                "nested": {"a": {"b": {"c": [1, 2, {"d": "e"}]}}},
                "by_key": {1: [10, 11], 5: [50]},
            },
            "after": "the last key",
        }
        j.append("pending", big)
        j.append("beleg", {"small": True})
        j.close()
        j = Journal(d.path, ManualClock())
        recs = list(j.records())
        big["bon"]["by_key"] = {"1": [10, 11], "5": [50]}  # as JSON has it: keys are strings
        assert recs[0]["data"] == big and recs[1]["data"] == {"small": True}
        assert j.verify() == (True, [])
        j.close()
    finally:
        d.cleanup()
