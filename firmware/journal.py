"""The journal: every event of the register, append-only, hash-chained, power-safe.

    journal = Journal("data/journal", clock)     # opens, recovers a torn tail, finds the chain head
    rec = journal.append("beleg", {...})         # durable (fsync) before it returns
    for rec in journal.records(): ...            # streamed, oldest first
    journal.records(segment=2, kind="closing")   # one period, one kind (others not parsed)
    ok, problems = journal.verify()              # the whole chain, every segment
    journal.new_segment(z_nr)                    # after a closing (Kassenabschluss)

Theory of operation
-------------------
Records are lines of text in segment files ``z000001.log``, ``z000002.log``... (one per
closing period)::

    <payload JSON> TAB <SHA-256 hex> TAB <CRC-32 hex> LF

The payload is ``{"v": 1, "seq": n, "t": unix seconds, "type": ..., "data": {...}}`` (``v`` the
format version: a record of a version this firmware does not know is refused, naming file
and line; records from before it carry none and are format 1); the SHA-256 is
taken over the previous record's hash (32 zero bytes before the first) and the payload bytes
exactly as written, so the chain does not depend on how either runtime orders JSON keys; the
CRC-32 covers payload and hash and lets a torn line be recognised on its own.

Invariants:

1. ``seq`` counts up by one over all segments; each record's hash links it to the one before.
2. ``append(commit=True)`` returns only after the line is flushed and fsync'd.
3. On opening, a torn *last* line (no line end, or a checksum that does not match: a power cut
   during its write) is cut off, and the cut is recorded as a ``recovery`` record. Anything
   else is not a torn write and the journal refuses to open (``JournalCorrupt``, naming file
   and line) and changes nothing: damage before the last line, a whole line that does not
   follow the one before (hash chain, sequence number), a payload that is not a record, a
   stray file in the folder.
4. Nothing is ever rewritten except that torn tail.
5. A period's number is never given out twice: if the last segment ends with its own closing
   (the power went between the closing and the new segment, or the next segment file was
   lost), opening starts the next segment, says so in its ``segment`` record and in
   ``findings``. Whether records were lost with it is for the TSE to tell (firmware.reconcile).

Receipts: a signed receipt is journaled twice, as ``pending`` (the whole receipt, before the TSE
finished) and ``beleg`` (only what the TSE answered, with ``"pending": <seq>``). ``receipts()``
gives every receipt whole, whichever way it was written.
"""

import binascii
import hashlib
import json
import os

from core.errors import EcrError
from core.storage import as_bytes, makedirs, sync
from micropython import const

_GENESIS = bytes(32)
FORMAT = 1  # the records' format version ("v"); kept for ten years, so every record says it

_CHUNK = const(2048)


class _Writer:
    """Writes one record in pieces of a few kilobytes at most, hashed and checksummed as they go.

    A receipt's record is several kilobytes; built as one string it needs that much contiguous
    heap, which a fragmented MicroPython heap may not have. Objects are written key by key and
    lists element by element; each list element (a receipt line, a payment) is small and is
    turned into JSON in one piece.
    """

    def __init__(self, f, head):
        self.f = f
        self.hash = hashlib.sha256(head)
        self.crc = 0
        self.parts = []
        self.size = 0

    def put(self, text):
        self.parts.append(text)
        self.size += len(text)
        if self.size >= _CHUNK:
            self.drain()

    def drain(self):
        if self.parts:
            data = as_bytes("".join(self.parts))
            self.hash.update(data)
            self.crc = binascii.crc32(data, self.crc)
            self.f.write(data)
            self.parts.clear()  # in place: value() holds on to this list
            self.size = 0

    def value(self, obj):
        parts = self.parts
        if isinstance(obj, dict):
            sep = "{"
            for key, item in obj.items():
                label = _LABELS.get(key)
                if label is None:
                    label = _LABELS[key] = json.dumps(str(key)) + ": "  # JSON keys are strings
                parts.append(sep)
                parts.append(label)
                if isinstance(item, (dict, list)):
                    self.value(item)
                else:
                    parts.append(json.dumps(item))
                sep = ", "
            parts.append("}" if sep == ", " else "{}")
        elif isinstance(obj, list):
            sep = "["
            for item in obj:
                parts.append(sep)
                text = json.dumps(item)
                parts.append(text)
                self.size += len(text)
                if self.size >= _CHUNK:
                    self.drain()
                sep = ", "
            parts.append("]" if sep == ", " else "[]")
        else:
            parts.append(json.dumps(obj))
        self.size += 16 * len(obj) if isinstance(obj, dict) else 8
        if self.size >= _CHUNK:
            self.drain()


_LABELS = {}  # '"key": ' of every key seen: field names repeat in every record


class JournalCorrupt(EcrError):
    code = "journal_corrupt"


def _split(line):
    """``(payload, hash bytes)`` of a whole line whose checksum is right, else None: torn (a
    power cut during its write) or not a journal line at all."""
    if not line.endswith(b"\n"):
        return None
    parts = line[:-1].split(b"\t")
    if len(parts) != 3 or len(parts[1]) != 64 or len(parts[2]) != 8:
        return None
    payload, digest_hex, crc_hex = parts
    try:
        if int(crc_hex, 16) != binascii.crc32(payload + b"\t" + digest_hex) & 0xFFFFFFFF:
            return None
        return payload, binascii.unhexlify(digest_hex)
    except ValueError:
        return None


def _record(payload):
    """The payload as a record ``{"seq", "t", "type", "data"}``, or None if it is not one."""
    try:
        rec = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(rec, dict):
        return None
    for key, kind in (("seq", int), ("t", int), ("type", str), ("data", dict)):
        if not isinstance(rec.get(key), kind):
            return None
    return rec


def _parse(line, prev, where, seq):
    """The record of a line chained to ``prev`` with sequence ``seq + 1``; None for a torn line.
    A whole line (its checksum right) that does not follow, or whose payload is not a record,
    is no torn write: ``JournalCorrupt`` naming ``where`` (file and line)."""
    split = _split(line)
    if split is None:
        return None
    payload, digest = split
    if hashlib.sha256(prev + payload).digest() != digest:
        raise JournalCorrupt("%s: the record does not follow the one before it (hash chain broken)" % where)
    rec = _record(payload)
    if rec is None:
        raise JournalCorrupt("%s: not a journal record (an object with seq, t, type and data)" % where)
    if rec.get("v", FORMAT) != FORMAT:  # records from before the version field are format 1
        raise JournalCorrupt(
            "%s: written in journal format %r; this firmware reads format %d (a newer firmware"
            " wrote it: update, never downgrade, a terminal's firmware)" % (where, rec.get("v"), FORMAT)
        )
    if rec["seq"] != seq + 1:
        raise JournalCorrupt("%s: sequence number %d after %d" % (where, rec["seq"], seq))
    return rec, digest


def _seq_of(line):
    """The sequence number of a whole journal line, read without parsing its JSON."""
    at = line.find(b'"seq": ') + 7
    return int(line[at : line.find(b",", at)])


def segment_number(name):
    """The period number of a segment file name ``z000001.log``, or None for any other name."""
    if len(name) != 11 or name[0] != "z" or not name.endswith(".log") or not name[1:7].isdigit():
        return None
    return int(name[1:7])


def _segments(folder):
    return sorted(n for n in os.listdir(folder) if segment_number(n) is not None)


def strays(folder):
    """Names in the journal folder that are not segment files (only segments belong there)."""
    return sorted(n for n in os.listdir(folder) if segment_number(n) is None)


class Journal:
    def __init__(self, folder, clock):
        self.folder = folder
        self.clock = clock
        makedirs(folder)
        self.seq = 0
        self.head = _GENESIS
        self.segment = None
        self._file = None
        self.findings = []  # what opening found and did about it, for the boot report
        self.on_append = None  # called with the kind after each record (the store link wakes)
        self._refuse_strays()
        cut, last = self._open_last()
        if cut:
            self.append("recovery", {"cut_bytes": cut, "reason": "torn record after a power cut"})
        if last is not None and last["type"] == "closing" and last["data"].get("z_nr") == self.segment:
            # The period after this closing has no segment file: a power cut between the closing
            # and its new segment, or the file was lost. Its number is not given out again.
            z_nr = self.segment
            self.findings.append(
                "the segment of period %d was missing (after the Z %d closing); it was started again"
                % (z_nr + 1, z_nr)
            )
            self.new_segment(z_nr, missing=True)

    # --- opening and recovery ------------------------------------------------------------

    def _refuse_strays(self):
        for name in strays(self.folder):
            base = name[:-4] if name.endswith(".tmp") else ""
            if segment_number(base) is not None:  # a cut interrupted by a power cut: the copy
                os.remove(self.folder + "/" + name)  # is incomplete, the segment is still whole
                continue
            raise JournalCorrupt(
                "%s/%s: a stray file in the journal folder (only segment files z000001.log... belong"
                " there): move it away" % (self.folder, name)
            )

    def _lines(self, path):
        with open(path, "rb") as f:
            while True:
                line = f.readline()
                if not line:
                    return
                yield line

    def _last_of(self, name, prev):
        """Walk a whole segment: ``(seq, head, good bytes, total bytes, last record)``; raises
        ``JournalCorrupt`` on damage that is not a torn last line."""
        seq, head, good, total, bad_at, last = self.seq, prev, 0, 0, None, None
        for n, line in enumerate(self._lines(self.folder + "/" + name)):
            total += len(line)
            if bad_at is not None:
                raise JournalCorrupt("%s: damaged record before the last one (line %d)" % (name, n))
            parsed = _parse(line, head, "%s line %d" % (name, n + 1), seq)
            if parsed is None:
                bad_at = good
                continue
            last, head = parsed
            seq = last["seq"]
            good += len(line)
        return seq, head, good, total, last

    def _open_last(self):
        """Walk every segment; cut a torn last line. ``(bytes cut, the last record or None)``."""
        names = _segments(self.folder)
        for name in names[:-1]:  # earlier segments are closed: they must be whole
            seq, head, good, total, _ = self._last_of(name, self.head)
            if good != total:
                raise JournalCorrupt("%s: damaged record in a closed segment" % name)
            self.seq, self.head = seq, head
        if not names:
            self.segment = 1
            self._file = open(self._path(1), "ab")
            return 0, None
        seq, head, good, total, last = self._last_of(names[-1], self.head)
        self.seq, self.head = seq, head
        self.segment = segment_number(names[-1])
        path = self.folder + "/" + names[-1]
        if good != total:
            self._cut(path, good)
        self._file = open(path, "ab")
        return total - good, last

    def _cut(self, path, keep):
        """Keep the first ``keep`` bytes of ``path`` (no truncate() on MicroPython: copy, rename)."""
        tmp = path + ".tmp"
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            left = keep
            while left:
                chunk = src.read(min(4096, left))
                dst.write(chunk)
                left -= len(chunk)
            sync(dst)
        os.rename(tmp, path)

    def _path(self, segment):
        return "%s/z%06d.log" % (self.folder, segment)

    # --- writing -------------------------------------------------------------------------

    def append(self, kind, data, commit=True):
        """Append a record; with ``commit`` it is on the storage medium when this returns."""
        out = _Writer(self._file, self.head)
        out.put(
            '{"v": %d, "seq": %d, "t": %d, "type": %s, "data": '
            % (FORMAT, self.seq + 1, self.clock.now(), json.dumps(kind))
        )
        out.value(data)
        out.put("}")
        out.drain()
        digest = out.hash.digest()
        tail = b"\t" + binascii.hexlify(digest)
        crc = binascii.crc32(tail, out.crc) & 0xFFFFFFFF
        self._file.write(tail + b"\t" + ("%08x\n" % crc).encode())
        if commit:
            sync(self._file)
        self.seq += 1
        self.head = digest
        if self.on_append is not None:
            self.on_append(kind)
        return {"seq": self.seq, "type": kind, "data": data}

    def new_segment(self, z_nr, missing=False):
        """Start the segment of the next closing period (after closing ``z_nr``); ``missing``:
        opening found it missing and starts it again (the record says so)."""
        sync(self._file)
        self._file.close()
        self.segment = z_nr + 1
        self._file = open(self._path(self.segment), "ab")
        data = {"z_nr": self.segment}
        if missing:
            data["missing"] = "no segment file after the Z %d closing: a power cut, or it was lost" % z_nr
        self.append("segment", data)

    def close(self):
        if self._file is not None:
            sync(self._file)
            self._file.close()
            self._file = None

    # --- reading -------------------------------------------------------------------------

    def records(self, segment=None, kind=None):
        """Every record (``{"seq", "t", "type", "data"}``), oldest first, optionally of one
        segment and of one ``kind``; other kinds are skipped without being parsed."""
        sync(self._file)
        mark = ('"type": %s' % json.dumps(kind)).encode() if kind is not None else None
        for name in _segments(self.folder):
            if segment is not None and name != "z%06d.log" % segment:
                continue
            for line in self._lines(self.folder + "/" + name):
                if mark is not None and mark not in line:
                    continue
                rec = json.loads(line.split(b"\t", 1)[0])
                if kind is None or rec["type"] == kind:
                    yield rec

    def after(self, seq, max_bytes=16384, cursor=None):
        """The records after ``seq`` as written, oldest first, up to about ``max_bytes``:
        ``(lines, cursor)``, each line ``<payload> TAB <SHA-256 hex>`` (the checksum left off;
        the store server checks the chain). Hand the cursor back to go on from where this
        stopped without reading the segment from its start again."""
        sync(self._file)
        names = _segments(self.folder)
        start, offset = None, 0
        if cursor is not None and cursor[2] == seq and "z%06d.log" % cursor[0] in names:
            start, offset = "z%06d.log" % cursor[0], cursor[1]
        else:
            for name in names:  # the segment holding seq + 1: the last one starting at or before it
                first = self._first_seq(name)
                if first is not None and first <= seq + 1:
                    start = name
        if start is None:
            start = names[0] if names else None
        lines, size, pos = [], 0, offset
        segment = segment_number(start) if start else self.segment
        for name in names[names.index(start) :] if start else ():
            segment, pos = segment_number(name), offset
            with open(self.folder + "/" + name, "rb") as f:
                if offset:
                    f.seek(offset)
                offset = 0
                while size < max_bytes:
                    line = f.readline()
                    if not line.endswith(b"\n"):  # the end (a torn tail is cut at opening)
                        break
                    pos += len(line)
                    n = _seq_of(line)
                    if n <= seq:
                        continue
                    text = line[: line.rindex(b"\t")].decode()
                    lines.append(text)
                    size += len(text)
                    seq = n
            if size >= max_bytes:
                break
        return lines, (segment, pos, seq)

    def _first_seq(self, name):
        with open(self.folder + "/" + name, "rb") as f:
            line = f.readline()
        return _seq_of(line) if line.endswith(b"\n") else None

    def stats(self):
        """``{"records", "segments", "open_period", "bytes"}``: the console's ``journal stats``."""
        names = _segments(self.folder)
        size = 0
        for name in names:
            size += os.stat(self.folder + "/" + name)[6]
        return {"records": self.seq, "segments": len(names), "open_period": self.segment, "bytes": size}

    def segments(self):
        """The numbers of the segments there are (one per closing period), oldest first."""
        return [segment_number(name) for name in _segments(self.folder)]

    def verify(self):
        """``(ok, problems)`` for the whole chain: order, hashes, checksums, no gaps."""
        result = []
        for _ in self.verify_steps(result):
            pass
        return result[0], result[1]

    def verify_steps(self, result, step=500):
        """``verify`` as a generator (records checked so far, every ``step`` records), so a
        busy terminal can serve other tasks in between; ``result`` gets ``ok, problems``.
        Checked: no stray files, segments numbered without a gap, each line whole and chained,
        each period's segment opened by its ``segment`` record and each closed one ended by
        its ``closing``."""
        sync(self._file)
        problems = ["stray file %s in the journal folder" % name for name in strays(self.folder)]
        head, seq, count = _GENESIS, 0, 0
        names = _segments(self.folder)
        numbers = [segment_number(name) for name in names]
        for a, b in zip(numbers, numbers[1:]):
            if b != a + 1:
                problems.append("segments jump from z%06d.log to z%06d.log" % (a, b))
        for i, name in enumerate(names):
            first = last = None
            for n, line in enumerate(self._lines(self.folder + "/" + name)):
                where = "%s line %d" % (name, n + 1)
                try:
                    parsed = _parse(line, head, where, seq)
                except JournalCorrupt as e:
                    parsed, problem = None, str(e)
                else:
                    problem = "%s: checksum wrong or line cut short" % where
                if parsed is None:
                    problems.append(problem)
                    result[:] = [False, problems]
                    return
                last, head = parsed
                seq = last["seq"]
                if first is None:
                    first = last
                count += 1
                if count % step == 0:
                    yield count
            z = numbers[i]
            if i and (first is None or first["type"] != "segment" or first["data"].get("z_nr") != z):
                problems.append("%s does not begin with the segment record of period %d" % (name, z))
            if i < len(names) - 1 and (
                last is None or last["type"] != "closing" or last["data"].get("z_nr") != z
            ):
                problems.append("%s is followed by another period but does not end with its closing" % name)
        result[:] = [not problems, problems]


def receipts(records, other=None):
    """Every receipt (``beleg``) in ``records``, whole: a ``beleg`` that refers to its ``pending``
    record is merged with the receipt stored there. ``other(rec)`` sees every other record."""
    pending = {}
    for rec in records:
        kind = rec["type"]
        if kind not in ("pending", "beleg"):
            if other is not None:
                other(rec)
        elif kind == "pending":
            pending[rec["seq"]] = rec["data"]["bon"]
        elif kind == "beleg":
            data = rec["data"]
            ref = data.get("pending")
            if ref is not None:
                bon = pending.pop(ref, None)
                if bon is None:
                    raise JournalCorrupt(
                        "receipt %s refers to a missing pending record %d" % (data.get("bon_nr"), ref)
                    )
                for key, value in data.items():
                    if key != "pending":
                        bon[key] = value
                data = bon
            yield data
