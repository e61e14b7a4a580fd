"""Journal replication: the store server as the registers' second witness (host code).

    ingest = Ingest(pool)
    answer = await ingest.push(serial, token, after=41, lines=[...], status={...})
    # {"head": 57, "master": 3}   or  PushRefused (status 401/409/422, {"error", ...})

A terminal sends its journal lines exactly as written (``<payload JSON> TAB <SHA-256 hex>``,
the CRC left off: the hash covers more) after the record ``after`` it knows the server holds.
Under a row lock on the register (several server instances may share the database), each line
is checked before anything is stored:

- a line at or below the server's head is a re-send: its hash must be the one held, else the
  terminal's journal has forked from what the server witnessed (a changed or replaced record);
- the next line must carry sequence number head + 1 and its hash must be SHA-256(previous
  hash + payload); ``after`` beyond the head is a gap: the answer names the head to send from;
- a terminal whose own head (``status.head``) is below what the server holds has lost records:
  the missing range is flagged;
- every signed receipt's TSE signature is verified against the TSE identity (Stamm_TSE) its
  register journaled, with the auditor's own checker (tools/audit/journal.Witness); a record
  whose signature fails is stored (it is the register's record) and flagged.

A fork, a broken chain or a lost range raises an alarm (table ``alarms``, the log, the
dashboard) and is refused; a forked register's pushes stay refused until a technician has
looked (``clear_fork``). Accepted records also fill the back office's tables: receipts with
their lines and payments, closings, TSE identities, master data versions in use.
"""

import asyncio
import hashlib
import hmac
import json
import logging

from firmware.journal import FORMAT
from tools.audit.journal import Witness

log = logging.getLogger("storeserver.ingest")

MAX_LINES = 1000  # lines per push

# the columns the ingest fills, with their types as sent (and how a text becomes the column's)
RECORDS = (
    "serial text", "seq bigint", "segment integer", "t bigint", "kind text",
    "payload text convert_to(payload, 'UTF8')", "hash text decode(hash, 'hex')",
)  # fmt: skip
RECEIPTS = (
    "serial text", "seq bigint", "bon_nr integer", "z_nr integer", "t bigint", "bon_typ text",
    "operator text", "gross bigint", "training boolean", "signed boolean", "verified boolean",
    "problem text", "data jsonb",
)  # fmt: skip
LINES = (
    "serial text", "seq bigint", "t bigint", "grp text", "plu text", "name text", "qty bigint",
    "amount bigint",
)  # fmt: skip
PAYMENTS = ("serial text", "seq bigint", "t bigint", "kind text", "name text", "amount bigint")
CLOSINGS = ("serial text", "z_nr integer", "seq bigint", "t bigint", "data jsonb")


def _insert(index, table, columns):
    """``(table, column names, INSERT of the rows in element ``index`` of the JSON parameter)``."""
    specs = [c.split(None, 2) for c in columns]
    names = [spec[0] for spec in specs]
    select = ", ".join(spec[2] if len(spec) > 2 else spec[0] for spec in specs)
    declared = ", ".join("%s %s" % (spec[0], spec[1]) for spec in specs)
    sql = "INSERT INTO %s (%s) SELECT %s FROM json_to_recordset(%%(tables)s::json -> %d) AS r(%s)" % (
        table,
        ", ".join(names),
        select,
        index,
        declared,
    )
    return table, names, sql


TABLES = [
    _insert(i, *t)
    for i, t in enumerate(
        (
            ("records", RECORDS),
            ("receipts", RECEIPTS),
            ("receipt_lines", LINES),
            ("receipt_payments", PAYMENTS),
            ("closings", CLOSINGS),
        )
    )
]
# A push's rows in one statement, sent as one JSON text (json.dumps and PostgreSQL's JSON parser
# are C, psycopg's adaptation of each value is not), with the register's new head: whatever a
# push adds, one statement (prepared after its first uses) after the register's row.
STORE = (
    "WITH "
    + ", ".join("t%d AS (%s)" % (i, sql) for i, (_, _, sql) in enumerate(TABLES))
    + " UPDATE registers SET last_seen = now(), status = %(status)s, head_seq = %(head)s,"
    " head_hash = %(hash)s, segment = %(segment)s WHERE serial = %(serial)s"
)


class PushRefused(Exception):
    def __init__(self, status, answer):
        super().__init__(answer.get("error", ""))
        self.status = status
        self.answer = answer


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _parse_line(line):
    """``(payload bytes, hash bytes, record)`` of a pushed line; ValueError if it is none."""
    if not isinstance(line, str):
        raise ValueError("a line is text")
    payload, sep, digest = line.rpartition("\t")
    if not sep or len(digest) != 64:
        raise ValueError("a line is <payload> TAB <SHA-256 hex>")
    digest = bytes.fromhex(digest)
    raw = payload.encode()
    rec = json.loads(raw)
    if not isinstance(rec, dict):
        raise ValueError("the payload is not a record")
    for key, kind in (("seq", int), ("t", int), ("type", str), ("data", dict)):
        if not isinstance(rec.get(key), kind):
            raise ValueError("the payload has no %s" % key)
    if rec.get("v", FORMAT) != FORMAT:
        raise ValueError("journal format %r; this server reads %d" % (rec.get("v"), FORMAT))
    return raw, digest, rec


class Ingest:
    def __init__(self, pool):
        self.pool = pool
        self._witnesses = {}  # register serial -> Witness (TSE identities, keys parsed once)

    async def witness(self, cur, serial, needed=()):
        """The register's Witness with every TSE identity it journaled; read again when one in
        ``needed`` is not known here (another instance may have received that ``tse`` record)."""
        witness = self._witnesses.get(serial)
        if witness is None or any(tse not in witness.identities for tse in needed):
            witness = self._witnesses[serial] = Witness()
            await cur.execute(
                "SELECT payload FROM records WHERE serial = %s AND kind = 'tse' ORDER BY seq", (serial,)
            )
            for (payload,) in await cur.fetchall():
                witness.check(json.loads(bytes(payload)))
        return witness

    async def alarm(self, cur, serial, kind, seq, detail):
        log.error("register %s: %s alarm at record %s: %s", serial, kind, seq, detail)
        await cur.execute(
            "INSERT INTO alarms (serial, kind, seq, detail) VALUES (%s, %s, %s, %s)",
            (serial, kind, seq, detail),
        )

    async def authorise(self, cur, serial, token, lock=False):
        """The register's row if ``token`` is its own; ``PushRefused`` 401 otherwise."""
        await cur.execute(
            "SELECT token_hash, head_seq, head_hash, segment, forked,"
            " (SELECT max(version) FROM master_versions) FROM registers WHERE serial = %s"
            + (" FOR UPDATE" if lock else ""),
            (serial,),
        )
        row = await cur.fetchone()
        if row is None or row[0] is None or not hmac.compare_digest(row[0], token_hash(token or "")):
            raise PushRefused(401, {"error": "unknown register or wrong token"})
        return row

    async def head(self, serial, token):
        async with self.pool.connection() as conn, conn.cursor() as cur:
            row = await self.authorise(cur, serial, token)
            return {"head": row[1], "hash": bytes(row[2]).hex(), "forked": row[4]}

    async def push(self, serial, token, after, lines, status=None):
        if not isinstance(after, int) or after < 0 or not isinstance(lines, list) or len(lines) > MAX_LINES:
            raise PushRefused(400, {"error": "after (a record number) and at most %d lines" % MAX_LINES})
        status = status if isinstance(status, dict) else {}
        async with self.pool.connection() as conn:
            # pipeline mode: statements go out without waiting for their answers; a push waits
            # for PostgreSQL twice (the register's row, the commit) however many rows it adds
            async with conn.pipeline(), conn.transaction(), conn.cursor() as cur:
                # No wait for the WAL flush: if the server crashed before these records reached
                # its disk, it names the older head on the terminal's next push ("gap") and the
                # terminal, whose journal is the record, sends them again.
                await cur.execute("SET LOCAL synchronous_commit TO off")
                row = await self.authorise(cur, serial, token, lock=True)
                _, head, head_hash, segment, forked, master = row
                head_hash = bytes(head_hash)
                await self._missing(cur, serial, head, status)
                result = self._refusal(forked, after, head)
                if result is None:
                    try:
                        parsed = [_parse_line(line) for line in lines]
                    except ValueError as e:
                        parsed, result = None, PushRefused(422, {"error": "bad line", "detail": str(e)})
                if result is None:
                    fork = await self._overlap(cur, serial, after, head, parsed)
                    if fork is None:
                        problem = self._chain(parsed, after, head, head_hash)
                        fork = ("chain", problem[0], problem[1]) if problem else None
                    if fork is not None:
                        kind, seq, detail = fork
                        await self.alarm(cur, serial, kind, seq, detail)
                        await cur.execute("UPDATE registers SET forked = true WHERE serial = %s", (serial,))
                        answer = {"error": kind, "at": seq, "detail": detail, "head": head}
                        result = PushRefused(409 if kind == "fork" else 422, answer)
                new = [p for p in parsed if p[2]["seq"] > head] if result is None else []
                tables = ([],) * len(TABLES)
                if new:
                    segment, tables = await self._rows(cur, serial, new, segment)
                    head, head_hash = new[-1][2]["seq"], new[-1][1]
                await cur.execute(
                    STORE,
                    {
                        "tables": json.dumps(tables),
                        "status": json.dumps(status),
                        "head": head,
                        "hash": head_hash,
                        "segment": segment,
                        "serial": serial,
                    },
                )
        if result is not None:  # the alarm and the register's status are committed
            raise result
        return {"head": head, "master": master}

    def _refusal(self, forked, after, head):
        if forked:
            return PushRefused(409, {"error": "fork", "head": head, "detail": "flagged; see the back office"})
        if after > head:
            return PushRefused(409, {"error": "gap", "head": head})
        return None

    async def _missing(self, cur, serial, head, status):
        theirs = status.get("head")
        if isinstance(theirs, int) and theirs < head:
            await cur.execute(
                "SELECT 1 FROM alarms WHERE serial = %s AND kind = 'missing' AND seq = %s", (serial, theirs)
            )
            if await cur.fetchone() is None:
                await self.alarm(
                    cur,
                    serial,
                    "missing",
                    theirs,
                    "the terminal's journal ends at record %d; the server holds up to %d: records %d-%d"
                    " are missing on the terminal" % (theirs, head, theirs + 1, head),
                )

    async def _overlap(self, cur, serial, after, head, parsed):
        """Lines the server holds already: the same hash, or a fork ``(kind, seq, detail)``."""
        last = min(head, after + len(parsed))
        if last <= after:
            return None
        await cur.execute(
            "SELECT seq, hash FROM records WHERE serial = %s AND seq > %s AND seq <= %s ORDER BY seq",
            (serial, after, last),
        )
        held = {seq: bytes(digest) for seq, digest in await cur.fetchall()}
        for i, (_, digest, rec) in enumerate(parsed[: last - after]):
            seq = after + 1 + i
            if rec["seq"] != seq:
                return "chain", seq, "line %d carries record %d, not %d" % (i + 1, rec["seq"], seq)
            if held.get(seq) != digest:
                return (
                    "fork",
                    seq,
                    "record %d differs from the one the server received on an earlier push: the"
                    " terminal's journal was changed or replaced" % seq,
                )
        return None

    def _chain(self, parsed, after, head, head_hash):
        """Lines beyond the head: consecutive, each chained to the one before."""
        prev = head_hash
        expected = head + 1
        for raw, digest, rec in parsed:
            if rec["seq"] <= head:
                continue
            if rec["seq"] != expected:
                return expected, "record %d follows %d" % (rec["seq"], expected - 1)
            if hashlib.sha256(prev + raw).digest() != digest:
                return expected, "record %d does not follow the one before it (hash chain broken)" % expected
            prev = digest
            expected += 1
        return None

    async def _rows(self, cur, serial, new, segment):
        """The register's segment after ``new``, and its rows for each of ``TABLES``."""
        introduced = {rec["data"].get("serial") for _, _, rec in new if rec["type"] == "tse"}
        needed = {
            rec["data"]["tse"].get("serial")
            for _, _, rec in new
            if rec["type"] in ("beleg", "tse_late") and isinstance(rec["data"].get("tse"), dict)
        }
        witness = await self.witness(cur, serial, needed - introduced)
        # the signatures off the event loop: cryptography lets go of the GIL while it verifies,
        # so other pushes are served meanwhile (and checked on the other core)
        checks = await asyncio.get_running_loop().run_in_executor(
            None, lambda: [witness.check(rec) for _, _, rec in new]
        )
        pending = {}
        rows = []
        receipts, lines, payments, closings, tses = [], [], [], [], []
        for (raw, digest, rec), problem in zip(new, checks):
            kind, data, seq = rec["type"], rec["data"], rec["seq"]
            if kind == "segment":
                segment = data.get("z_nr", segment)
            rows.append((serial, seq, segment, rec["t"], kind, raw.decode(), digest.hex()))
            if problem:
                await self.alarm(cur, serial, "signature" if kind != "tse" else "identity", seq, problem)
            if kind == "tse":
                tses.append((serial, data, problem is None))
            elif kind == "pending":
                pending[seq] = data.get("bon")
            elif kind == "beleg":
                bon = await self._whole(cur, serial, data, pending)
                if bon is not None:
                    receipts.append(_receipt_row(serial, seq, segment, rec["t"], bon, problem))
                    lines.extend(_line_rows(serial, seq, rec["t"], bon))
                    payments.extend(_payment_rows(serial, seq, rec["t"], bon))
            elif kind == "closing":
                closings.append((serial, data.get("z_nr", segment), seq, rec["t"], data))
            elif kind == "master" and isinstance(data.get("store_version"), int):
                await cur.execute(
                    "UPDATE registers SET master_in_use = %s WHERE serial = %s",
                    (data["store_version"], serial),
                )
            elif kind == "master_received" and isinstance(data.get("version"), int):
                await cur.execute(
                    "UPDATE registers SET master_received = %s WHERE serial = %s", (data["version"], serial)
                )
        for serial_, data, valid in tses:
            await cur.execute(
                "INSERT INTO tses (serial, tse_serial, public_key, algorithm, time_format, valid)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (serial, tse_serial) DO NOTHING",
                (
                    serial_,
                    str(data.get("serial", "")),
                    str(data.get("public_key", "")).encode(),
                    str(data.get("algorithm", "")),
                    str(data.get("time_format", "")),
                    valid,
                ),
            )
        tables = (rows, receipts, lines, payments, closings)
        return segment, [
            [dict(zip(names, row)) for row in table] for (_, names, _), table in zip(TABLES, tables)
        ]

    async def _whole(self, cur, serial, data, pending):
        """A ``beleg`` record as the whole receipt (merged with its ``pending`` record)."""
        ref = data.get("pending")
        if ref is None:
            return data
        bon = pending.pop(ref, None)
        if bon is None:
            await cur.execute(
                "SELECT payload FROM records WHERE serial = %s AND seq = %s AND kind = 'pending'",
                (serial, ref),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            bon = json.loads(bytes(row[0]))["data"].get("bon")
        if not isinstance(bon, dict):
            return None
        bon = dict(bon)
        for key, value in data.items():
            if key != "pending":
                bon[key] = value
        return bon

    async def clear_fork(self, serial, who):
        """A technician has looked at the fork: the register may push again (from the server's
        head: what it held stays as it was received)."""
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute("UPDATE registers SET forked = false WHERE serial = %s", (serial,))
            await cur.execute(
                "UPDATE alarms SET cleared = now() WHERE serial = %s AND cleared IS NULL", (serial,)
            )
            await cur.execute(
                "INSERT INTO audit_log (who, what) VALUES (%s, %s)", (who, "cleared alarms of " + serial)
            )


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _receipt_row(serial, seq, segment, t, bon, problem):
    operator = bon.get("operator") if isinstance(bon.get("operator"), dict) else {}
    signed = isinstance(bon.get("tse"), dict)
    return (
        serial,
        seq,
        _int(bon.get("bon_nr")),
        segment,
        _int(bon.get("end", t)) or t,
        str(bon.get("bon_typ", "")),
        str(operator.get("name", "")),
        _int(bon.get("total")),
        bool(bon.get("training", False)),
        signed,
        (problem is None) if signed else None,
        problem,
        bon,
    )


def _line_rows(serial, seq, t, bon):
    out = []
    for line in bon.get("lines") or ():
        if isinstance(line, dict) and not line.get("storno"):
            out.append(
                (
                    serial,
                    seq,
                    t,
                    str(line.get("group_id", "")),
                    str(line.get("plu", "")),
                    str(line.get("text", "")),
                    _int(line.get("qty")),
                    _int(line.get("amount")),
                )
            )
    return out


def _payment_rows(serial, seq, t, bon):
    out = []
    for p in bon.get("payments") or ():
        if isinstance(p, dict):
            out.append((serial, seq, t, str(p.get("typ", "")), str(p.get("name", "")), _int(p.get("amount"))))
    return out
