"""The store server under load (host code): simulated terminals pushing signed journals at once,
with outages and re-sends, against several server instances on one PostgreSQL.

    journals = make_journals(folder, terminals=50, sales=1000)   # cached: signing takes a while
    result = run_load(cluster, journals, instances=2)
    result["receipts_per_s"], result["p99_ms"], result["problems"]

Each terminal's journal is written by the firmware's own ``Journal`` (firmware/journal.py), its
receipts signed by the card emulator's TSE core (tools/sim/tse: brainpoolP384r1, the TR-03151
Finish log in DER): a ``tse`` identity record, then per sale ``tse_start``, ``pending`` and
``beleg``, as the Till writes them. The terminals push as the firmware's store link does
(tools-side client: aiohttp, keep-alive): the lines after the server's head, at most 16 KB per
request, again from the head the server names after a refusal or a lost connection.

The terminals sell at a steady pace (``rate`` receipts per second over all of them, 1,200 in the
benchmark: above the goal) and push what they have as they go; a terminal whose push is slow
sends more at once the next time, as the firmware does.

Faults: every 20th push is sent twice (its answer "lost"); in the middle of the run one server
instance is killed (SIGKILL) and started again two seconds later, so pushes in flight fail and
are repeated. The instances share one port (SO_REUSEPORT: the kernel spreads connections over
them, as a load balancer would). At the end every receipt must be stored exactly once with its
signature verified, and no alarm raised.
"""

import asyncio
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from multiprocessing import Pool

import psycopg

from firmware.journal import Journal
from firmware.register.bon import process_data as make_process_data
from storeserver.api import enrol, new_code
from storeserver.db import migrate, open_pool
from tools.sim.tse import der, pki
from tools.upy import ROOT

CHUNK = 16384
T0 = 1796200000  # 2026-12-02, the journals' first second


class _Clock:
    def __init__(self, t):
        self.t = t

    def now(self):
        return self.t


class _Keep:
    """Signs as the card does, and keeps the last signature for the journal's ``beleg``."""

    def __init__(self, signer):
        self.signer = signer
        self.last = None

    def __call__(self, dtbs):
        self.last = self.signer.sign(dtbs)
        return self.last


def _b64(data):
    import base64

    return base64.b64encode(data).decode()


def _journal(args):
    """One terminal's journal: ``(serial, folder, receipts)``."""
    folder, serial, sales, seed = args
    rng = random.Random(seed)
    key, chain = pki.manufacture(T0, 365)
    sign = _Keep(pki.Signer(key))
    point = pki.public_point(key)
    tse_serial = pki.key_hash(point)
    from cryptography.hazmat.primitives import serialization

    clock = _Clock(T0)
    journal = Journal(folder, clock)
    journal.append(
        "tse",
        {
            "serial": tse_serial.hex(),
            "public_key": _b64(point),
            "certificate": _b64(chain[0].public_bytes(serialization.Encoding.DER)),
            "algorithm": "ecdsa-plain-SHA384",
            "time_format": "unixTime",
            "description": "smartECR emulated TSE",
        },
    )
    counter = 0
    articles = [("1001", "Kaffee Crema 250 g", 549, "food"), ("1003", "Brötchen", 45, "bakery")]
    articles += [("1004", "Mineralwasser 0,75 l", 89, "drinks"), ("1007", "Kaffee to go", 250, "cafe")]
    for n in range(1, sales + 1):
        clock.t += rng.randint(5, 90)
        counter += 1
        journal.append(
            "tse_start", {"number": n, "log_time": clock.t, "serial": tse_serial.hex()}, commit=False
        )
        lines = []
        for pos in range(1, rng.randint(1, 4) + 1):
            plu, text, price, group = rng.choice(articles)
            lines.append(
                {
                    "pos": pos,
                    "gv_typ": "Umsatz",
                    "text": text,
                    "qty": 1000,
                    "price": price,
                    "amount": price,
                    "vat_key": 2,
                    "storno": False,
                    "plu": plu,
                    "group_id": group,
                }
            )
        total = sum(line["amount"] for line in lines)
        payments = [{"typ": "Bar", "name": "Bargeld", "amount": total}]
        pd = make_process_data("Beleg", lines, payments)
        bon = {
            "bon_typ": "Beleg",
            "bon_name": "",
            "lines": lines,
            "payments": payments,
            "given": total,
            "change": 0,
            "total": total,
            "vat": [],
            "references": [],
            "bon_nr": n,
            "bon_id": str(n),
            "z_nr": 1,
            "start": clock.t,
            "operator": {"id": "1", "name": "Anna Kasse"},
        }
        pending = journal.append("pending", {"number": n, "process_data": pd, "bon": bon}, commit=False)
        counter += 1
        data = der.transaction_data("FinishTransaction", serial, pd.encode(), "Kassenbeleg-V1", n)
        der.log_message(der.OID_TRANSACTION_LOG, data, tse_serial, counter, clock.t, sign)
        signature = sign.last
        tse = {
            "number": n,
            "start": clock.t,
            "end": clock.t,
            "counter": counter,
            "signature": _b64(signature),
            "serial": tse_serial.hex(),
            "client_id": serial,
            "process_type": "Kassenbeleg-V1",
            "process_data": pd,
        }
        journal.append(
            "beleg", {"pending": pending["seq"], "bon_nr": n, "tse": tse, "end": clock.t}, commit=False
        )
    journal.close()
    return serial, folder, sales


def make_journals(folder, terminals=50, sales=1000):
    """The terminals' journals under ``folder`` (made once per size, then reused):
    ``[(serial, journal folder, receipts)]``."""
    base = os.path.join(folder, "journals-%dx%d" % (terminals, sales))
    done = os.path.join(base, "done.json")
    if os.path.exists(done):
        with open(done) as f:
            return [tuple(x) for x in json.load(f)]
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    jobs = [(os.path.join(base, "t%03d" % i), "LOAD-%04d" % i, sales, i) for i in range(terminals)]
    with Pool(os.cpu_count() or 2) as pool:
        made = pool.map(_journal, jobs)
    with open(done, "w") as f:
        json.dump(made, f)
    return made


class _Terminal:
    """A terminal selling at a steady pace: its journal was written beforehand, and a record is
    "committed" when its sale's time has come; it pushes what is committed and not yet held,
    as the firmware's store link does."""

    def __init__(self, serial, folder, receipts, token):
        self.serial = serial
        journal = Journal(folder, _Clock(T0))
        self.lines, _ = journal.after(0, 1 << 40)
        journal.close()
        self.ends = [i + 1 for i, line in enumerate(self.lines) if '"type": "beleg"' in line]
        self.receipts = receipts
        self.token = token
        self.acked = 0
        self.latencies = []
        self.resent = 0
        self.failures = 0
        self.done_at = None

    def committed(self, elapsed, rate):
        """Records written by ``elapsed`` seconds at ``rate`` sales per second."""
        sold = min(int(elapsed * rate) + 1, len(self.ends))
        return self.ends[sold - 1]

    def batch(self, upto):
        out, size = [], 0
        for line in self.lines[self.acked : upto]:
            if out and size + len(line) > CHUNK:
                break
            out.append(line)
            size += len(line)
        return out


async def _push(session, url, term, lines, after):
    import aiohttp

    headers = {"Authorization": "Bearer " + term.token, "X-Register": term.serial}
    body = json.dumps({"after": after, "lines": lines, "status": {"head": after + len(lines)}})
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=30)) as r:
        answer = await r.json()
        status = r.status
    return status, answer, (time.perf_counter() - started) * 1000


async def _terminal(session, url, term, rate, started, resend_every):
    import aiohttp

    delay = 0
    n = 0
    total = len(term.lines)
    while term.acked < total:
        upto = term.committed(time.perf_counter() - started, rate)
        if upto <= term.acked:
            await asyncio.sleep(1 / rate / 2)
            continue
        lines = term.batch(upto)
        try:
            status, answer, ms = await _push(session, url, term, lines, term.acked)
            n += 1
            if status == 200 and n % resend_every == 0:  # the answer "lost": the same push again
                term.resent += 1
                status, answer, ms = await _push(session, url, term, lines, term.acked)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
            term.failures += 1
            delay = min(max(delay * 2, 0.05), 1.0)
            await asyncio.sleep(delay)
            continue
        if status == 200:
            term.latencies.append(ms)
            term.acked, delay = answer["head"], 0
        elif status == 409 and answer.get("error") == "gap":
            term.acked = answer["head"]
        else:
            raise RuntimeError("%s: push refused %d %s" % (term.serial, status, answer))
    term.done_at = time.perf_counter()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _instance(dsn, port, log):
    """A server process on the shared port; its output appended to ``log``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "storeserver", "--dsn", dsn, "serve", "--port", str(port), "--reuse-port"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_up(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the store server did not start on port %d" % port)


async def _enrol_all(dsn, serials):
    pool = await open_pool(dsn, min_size=1, max_size=4)
    try:
        return {s: await enrol(pool, s, await new_code(pool, s)) for s in serials}
    finally:
        await pool.close()


def run_load(cluster, journals, instances=2, rate=1200, database="load", outage=True, resend_every=20):
    """The terminals sell ``rate`` receipts per second together and push as they go; the
    figures and the exactly-once checks."""
    import aiohttp

    with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS %s" % database)
        conn.execute("CREATE DATABASE %s" % database)
    dsn = cluster.dsn(database)
    migrate(dsn)
    tokens = asyncio.run(_enrol_all(dsn, [serial for serial, _, _ in journals]))
    terms = [_Terminal(serial, folder, receipts, tokens[serial]) for serial, folder, receipts in journals]
    per_terminal = rate / len(terms)
    port = _free_port()
    log = os.path.join(cluster.folder, "server.log")
    procs = [_instance(dsn, port, log) for _ in range(instances)]
    _wait_up(port)
    time.sleep(0.5)  # every instance listening
    url = "http://127.0.0.1:%d/api/v1/journal" % port
    killed = []

    async def outage_task(at):
        await asyncio.sleep(at)
        victim = procs[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed.append(time.perf_counter())
        await asyncio.sleep(2)
        procs[0] = _instance(dsn, port, log)

    async def main(started):
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            tasks = [
                asyncio.create_task(_terminal(session, url, t, per_terminal, started, resend_every))
                for t in terms
            ]
            side = asyncio.create_task(outage_task(terms[0].receipts / per_terminal / 2)) if outage else None
            await asyncio.gather(*tasks)
            if side is not None:
                side.cancel()

    try:
        started = time.perf_counter()
        asyncio.run(main(started))
        elapsed = max(t.done_at for t in terms) - started
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    latencies = sorted(ms for t in terms for ms in t.latencies)
    receipts = sum(t.receipts for t in terms)
    return {
        "terminals": len(terms),
        "receipts": receipts,
        "offered_per_s": rate,
        "seconds": elapsed,
        "receipts_per_s": receipts / elapsed,
        "pushes": len(latencies),
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99)],
        "resent": sum(t.resent for t in terms),
        "failed_pushes": sum(t.failures for t in terms),
        "outage": bool(killed),
        "instances": instances,
        "problems": _check(dsn, terms),
    }


def _check(dsn, terms):
    """Every record once, every receipt once with its signature verified, no alarm."""
    problems = []
    with psycopg.connect(dsn) as conn:
        for t in terms:
            records, last = conn.execute(
                "SELECT count(*), max(seq) FROM records WHERE serial = %s", (t.serial,)
            ).fetchone()
            if records != len(t.lines) or last != len(t.lines):
                problems.append("%s: %d records held of %d" % (t.serial, records, len(t.lines)))
            got = conn.execute(
                "SELECT count(*), count(DISTINCT bon_nr), count(*) FILTER (WHERE verified) FROM receipts"
                " WHERE serial = %s",
                (t.serial,),
            ).fetchone()
            if got != (t.receipts, t.receipts, t.receipts):
                problems.append(
                    "%s: receipts (stored, distinct, verified) %s of %d" % (t.serial, got, t.receipts)
                )
            digest = hashlib.sha256()
            for (payload,) in conn.execute(
                "SELECT payload FROM records WHERE serial = %s ORDER BY seq", (t.serial,)
            ):
                digest.update(bytes(payload))
            mine = hashlib.sha256()
            for line in t.lines:
                mine.update(line.rsplit("\t", 1)[0].encode())
            if digest.digest() != mine.digest():
                problems.append("%s: the server's records differ from the journal" % t.serial)
        for kind, detail in conn.execute("SELECT kind, detail FROM alarms"):
            problems.append("alarm %s: %s" % (kind, detail))
    return problems
