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


def _rechain(path, lines):
    """Write ``lines`` (payload bytes) to ``path`` as a well-chained segment, as an attacker who
    knows the format could: hash and checksum recomputed."""
    import binascii
    import hashlib

    head = bytes(32)
    with open(path, "wb") as f:
        for payload in lines:
            digest = hashlib.sha256(head + payload).digest()
            hexed = binascii.hexlify(digest)
            crc = binascii.crc32(payload + b"\t" + hexed) & 0xFFFFFFFF
            f.write(payload + b"\t" + hexed + b"\t" + ("%08x\n" % crc).encode())
            head = digest


def test_a_well_chained_record_that_is_not_an_object_is_named_not_a_traceback():
    d = TempDir()
    try:
        _rechain(_segment(d.path), [b'{"seq": 1, "t": 5, "type": "x", "data": {}}', b"[1, 2]"])
        e = raises(JournalCorrupt, Journal, d.path, ManualClock())
        assert "z000001.log line 2" in str(e) and "not a journal record" in str(e), str(e)
        _rechain(_segment(d.path), [b'{"seq": 1, "t": 5, "type": "x", "data": [1]}'])
        e = raises(JournalCorrupt, Journal, d.path, ManualClock())
        assert "z000001.log line 1" in str(e), str(e)
    finally:
        d.cleanup()


def test_a_whole_last_line_that_does_not_follow_is_refused_not_cut():
    d = TempDir()
    try:
        _fill(d.path, 2)
        with open(_segment(d.path), "rb") as f:
            first = f.readline()
        with open(_segment(d.path), "ab") as f:
            f.write(first)  # a whole, checksummed line, but not chained to the one before
        e = raises(JournalCorrupt, Journal, d.path, ManualClock())
        assert "z000001.log line 3" in str(e) and "chain" in str(e), str(e)
    finally:
        d.cleanup()


def test_a_stray_file_is_named_and_a_torn_cut_copy_is_cleared():
    d = TempDir()
    try:
        _fill(d.path, 2)
        d.write("z000001.log.tmp", "half a copy")  # a cut interrupted by a power cut
        j = Journal(d.path, ManualClock())
        assert j.seq == 2 and sorted(os.listdir(d.path)) == ["z000001.log"]
        j.close()
        for stray in ("z2.log", "notes.txt", "z000002.log.bak"):
            d.write(stray, "x")
            e = raises(JournalCorrupt, Journal, d.path, ManualClock())
            assert stray in str(e) and "stray file" in str(e), str(e)
            os.remove(d.path + "/" + stray)
    finally:
        d.cleanup()


def test_a_missing_period_after_a_closing_is_started_again_not_numbered_twice():
    d = TempDir()
    try:
        j = Journal(d.path, ManualClock())
        j.append("closing", {"z_nr": 1})
        j.new_segment(1)
        j.append("beleg", {"bon_nr": 1})
        j.close()
        os.remove(d.path + "/z000002.log")  # the open period's file is lost
        j = Journal(d.path, ManualClock())
        assert j.segment == 2 and "period 2 was missing" in j.findings[0]
        (seg,) = list(j.records(segment=2))
        assert seg["type"] == "segment" and seg["data"]["z_nr"] == 2 and "missing" in seg["data"]
        assert j.verify() == (True, [])
        j.close()
        j = Journal(d.path, ManualClock())  # found once, not again
        assert j.segment == 2 and j.findings == [] and j.seq == 2
        j.close()
    finally:
        d.cleanup()


def test_verify_names_strays_and_a_period_without_its_closing():
    d = TempDir()
    try:
        j = Journal(d.path, ManualClock())
        j.append("beleg", {"bon_nr": 1})
        j.new_segment(1)  # no closing before it
        d.write("README", "x")
        ok, problems = j.verify()
        assert not ok
        assert "stray file README in the journal folder" in problems
        assert "z000001.log is followed by another period but does not end with its closing" in problems
        j.close()
    finally:
        d.cleanup()


def test_every_record_says_its_format_and_an_unknown_one_is_refused():
    d = TempDir()
    try:
        _fill(d.path, 1)
        with open(_segment(d.path), "rb") as f:
            assert f.read().startswith(b'{"v": 1, "seq": 1, ')
        _rechain(_segment(d.path), [b'{"seq": 1, "t": 5, "type": "x", "data": {}}'])  # before "v"
        j = Journal(d.path, ManualClock())
        assert j.seq == 1 and j.verify() == (True, [])
        j.close()
        _rechain(_segment(d.path), [b'{"v": 2, "seq": 1, "t": 5, "type": "x", "data": {}}'])
        e = raises(JournalCorrupt, Journal, d.path, ManualClock())
        assert "z000001.log line 1" in str(e) and "journal format 2" in str(e), str(e)
    finally:
        d.cleanup()


def _chain_of(lines):
    """Recompute each line's hash from the payloads (what the store server checks)."""
    import binascii
    import hashlib

    prev = bytes(32)
    for line in lines:
        payload, digest = line.rsplit("\t", 1)
        prev = hashlib.sha256(prev + payload.encode()).digest()
        assert binascii.hexlify(prev).decode() == digest
    return True


def test_after_gives_the_lines_as_written_across_segments_and_goes_on_from_its_cursor():
    d = TempDir()
    try:
        j = Journal(d.path, ManualClock())
        for n in range(6):
            j.append("beleg", {"bon_nr": n + 1, "text": "Kaffee \t€"})
        j.append("closing", {"z_nr": 1})
        j.new_segment(1)  # record 8: the new period's segment record
        for n in range(4):
            j.append("beleg", {"bon_nr": n + 7})
        seen = []
        j.on_append = seen.append
        j.append("x", {})
        assert seen == ["x"] and j.seq == 13
        lines, cursor = j.after(0)
        assert len(lines) == 13 and _chain_of(lines)
        assert [int(line.split('"seq": ')[1].split(",")[0]) for line in lines] == list(range(1, 14))
        assert cursor[2] == 13
        # from the middle of the first segment, a few hundred bytes at a time
        got, cursor, seq = [], None, 4
        while True:
            part, cursor = j.after(seq, max_bytes=200, cursor=cursor)
            if not part:
                break
            got += part
            seq = cursor[2]
        assert got == lines[4:]
        # a cursor that does not fit the number asked for is not used: read from the segment
        part, _ = j.after(9, cursor=(1, 0, 3))
        assert part == lines[9:]
        assert j.after(13) == ([], (2, cursor[1], 13))
        j.close()
    finally:
        d.cleanup()
