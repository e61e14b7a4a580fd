"""The store server with real registers: two simulated terminals (the CPython and the MicroPython
firmware) enrolled at one server on a private PostgreSQL cluster. Replication after an outage
(the terminals sell offline, then catch up), re-sends and duplicates stored once, a forged
journal range flagged as a fork, a changed signed amount flagged by the signature check, a
terminal that lost records flagged, a master-data change reaching both registers at their next
closings, the store's DSFinV-K export over both checked, and a replacement terminal restored
from the server."""

import csv
import hashlib
import io
import json
import os
import sys
import urllib.error
import urllib.request

import psycopg
import pytest
import serial

from storeserver import export
from storeserver.__main__ import seed_master
from storeserver.api import enrol, new_code
from storeserver.masterdata import latest, save, set_price
from tools.audit.dsfinvk import check_dsfinvk
from tools.console.client import ConsoleClient
from tools.sim import until
from tools.sim.launch import Simulator

sys.path.insert(0, os.path.dirname(__file__))
from test_console import login_after_reboot  # noqa: E402

SERIALS = {"cpython": "SMARTECR-SIM-0001", "micropython": "SMARTECR-SIM-0002"}
TECH = "login technician 246810"


def enrolled(store, serial):
    """A register's token, through the enrolment code the back office makes."""

    async def go(s):
        return await enrol(s.pool, serial, await new_code(s.pool, serial))

    return store.call(go)


@pytest.fixture(scope="module")
def registers(store, tmp_path_factory):
    store.call(lambda s: seed_master(s.pool, "data/demo-master.json"))
    sims = {}
    try:
        for runtime, serial_ in SERIALS.items():
            out = str(tmp_path_factory.mktemp("store-" + runtime))
            token = enrolled(store, serial_)
            sims[runtime] = Simulator(out, runtime, serial=serial_, store=(store.port, token)).start()
            sims[runtime].token = token
        yield sims
    finally:
        for sim in sims.values():
            sim.stop()


def sql(store, query, *args):
    with psycopg.connect(store.dsn) as conn:
        return conn.execute(query, args).fetchall()


def journal_lines(sim):
    """The terminal's journal lines as written: ``(payload bytes, hash hex)``."""
    folder = os.path.join(sim.out, "data", "journal")
    out = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            for line in f:
                payload, digest, _ = line.rstrip(b"\n").split(b"\t")
                out.append((payload, digest.decode()))
    return out


def synced(store, sim):
    """Wait until the server holds the terminal's whole journal."""
    want = len(journal_lines(sim))
    assert until(
        lambda: sql(store, "SELECT head_seq FROM registers WHERE serial = %s", sim.serial)[0][0] >= want, 20
    )
    return want


def push(store, serial_, token, body):
    req = urllib.request.Request(
        store.url + "api/v1/journal",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": "Bearer " + token,
            "X-Register": serial_,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def sale(sim, code="1001"):
    sim.operator(op="plu", code=code)
    r = sim.operator(op="cash")
    assert r["ok"], r
    return r["state"]["last_bon_nr"]


def test_replication_catches_up_after_an_outage(store, registers):
    for sim in registers.values():
        sale(sim)
        synced(store, sim)
    store.stop()  # the store's network is down: selling goes on
    offline = {runtime: [sale(sim), sale(sim, "1002")] for runtime, sim in registers.items()}
    store.restart()
    for runtime, sim in registers.items():
        records = synced(store, sim)
        held = sql(store, "SELECT count(*) FROM records WHERE serial = %s", sim.serial)[0][0]
        assert held == records  # every record once
        rows = sql(
            store,
            "SELECT bon_nr, signed, verified FROM receipts WHERE serial = %s ORDER BY bon_nr",
            sim.serial,
        )
        numbers = [r[0] for r in rows]
        assert len(numbers) == len(set(numbers)) and set(offline[runtime]) <= set(numbers)
        assert all(signed and verified for _, signed, verified in rows), rows
        status = sql(store, "SELECT status FROM registers WHERE serial = %s", sim.serial)[0][0]
        assert status["runtime"] == runtime and status["tse"] == "ready" and status["head"] >= records - 1
    assert sql(store, "SELECT kind, detail FROM alarms") == []


def test_resends_and_duplicates_are_stored_once(store, registers):
    sim = registers["cpython"]
    head = synced(store, sim)
    lines = ["%s\t%s" % (p.decode(), h) for p, h in journal_lines(sim)]
    before = sql(store, "SELECT count(*) FROM records WHERE serial = %s", sim.serial)[0][0]
    status, answer = push(store, sim.serial, sim.token, {"after": 0, "lines": lines})  # all again
    assert status == 200 and answer["head"] == head
    status, answer = push(store, sim.serial, sim.token, {"after": head - 3, "lines": lines[head - 3 :]})
    assert status == 200 and answer["head"] == head
    status, answer = push(store, sim.serial, sim.token, {"after": head + 5, "lines": []})
    assert (status, answer["error"], answer["head"]) == (409, "gap", head)  # send from the head
    status, answer = push(store, sim.serial, "wrong-token", {"after": head, "lines": []})
    assert status == 401
    assert sql(store, "SELECT count(*) FROM records WHERE serial = %s", sim.serial)[0][0] == before
    assert sql(store, "SELECT count(*) FROM receipts WHERE serial = %s", sim.serial)[0][0] == len(
        {r["data"]["bon_nr"] for r in sim.journal("beleg")}
    )


def _forge(lines, at, change):
    """The journal lines with record ``at`` (1-based) changed by ``change(record)`` and the
    hash chain recomputed from there: what a forger with the journal file could make."""
    out = []
    prev = bytes(32)
    for i, (payload, digest) in enumerate(lines, 1):
        if i == at:
            rec = json.loads(payload)
            change(rec)
            payload = json.dumps(rec).encode()
        if i >= at:
            digest = hashlib.sha256(prev + payload).hexdigest()
        out.append("%s\t%s" % (payload.decode(), digest))
        prev = bytes.fromhex(digest)
    return out


def _signed_receipt(sim):
    for i, (payload, _) in enumerate(journal_lines(sim), 1):
        rec = json.loads(payload)
        if rec["type"] == "beleg" and "tse" in rec["data"]:
            return i
    raise AssertionError("no signed receipt")


def _cheaper(rec):
    tse = rec["data"]["tse"]
    tse["process_data"] = tse["process_data"].replace("5.49", "0.49")  # the signed amount


def test_forged_range_is_flagged_as_a_fork(store, registers):
    sim = registers["micropython"]
    head = synced(store, sim)
    real = journal_lines(sim)
    at = _signed_receipt(sim)
    forged = _forge(real, at, _cheaper)
    status, answer = push(store, sim.serial, sim.token, {"after": at - 1, "lines": forged[at - 1 :]})
    assert status == 409 and answer["error"] == "fork" and answer["at"] == at
    alarms = sql(store, "SELECT kind, seq FROM alarms WHERE serial = %s AND cleared IS NULL", sim.serial)
    assert ("fork", at) in alarms
    assert sql(store, "SELECT forked, head_seq FROM registers WHERE serial = %s", sim.serial)[0] == (
        True,
        head,
    )
    # what the server holds is what it received first
    held = sql(store, "SELECT payload FROM records WHERE serial = %s AND seq = %s", sim.serial, at)[0][0]
    assert bytes(held) == real[at - 1][0]
    # the terminal hears it on its next round and says so on the console
    sale(sim)
    port, con = _console(sim)
    try:
        assert con.run(TECH)["ok"]
        reply = con.run("store sync")
        assert not reply["ok"] and "refused" in reply["error"], reply
        assert "fork" in con.run("store status")["text"]
        # the owner has looked: the alarm cleared, the real terminal goes on from the server's head
        store.call(lambda s: s.ingest.clear_fork(sim.serial, "test"))
        reply = con.run("store sync")
        assert reply["ok"], reply
        con.run("logout")
    finally:
        port.close()
    assert synced(store, sim) > head
    assert sql(store, "SELECT forked FROM registers WHERE serial = %s", sim.serial)[0][0] is False


def test_changed_signed_amount_fails_the_signature_check(store, registers):
    """A forger who rewrites the whole journal before the server saw it: the chain holds, the
    TSE's signature does not."""
    sim = registers["cpython"]
    token = enrolled(store, "FORGED-0001")
    at = _signed_receipt(sim)
    forged = _forge(journal_lines(sim), at, _cheaper)
    status, answer = push(store, "FORGED-0001", token, {"after": 0, "lines": forged})
    assert status == 200 and answer["head"] == len(forged)  # stored: it is the register's record ...
    rows = sql(store, "SELECT verified, problem FROM receipts WHERE serial = 'FORGED-0001' AND seq = %s", at)
    assert rows[0][0] is False and "does not verify" in rows[0][1]  # ... and flagged
    assert ("signature", at) in sql(store, "SELECT kind, seq FROM alarms WHERE serial = 'FORGED-0001'")
    others = sql(store, "SELECT count(*) FROM receipts WHERE serial = 'FORGED-0001' AND verified")[0][0]
    assert others == len([1 for r in sim.journal("beleg") if "tse" in r["data"]]) - 1


def test_a_broken_chain_is_refused(store, registers):
    sim = registers["cpython"]
    token = enrolled(store, "FORGED-0002")
    lines = ["%s\t%s" % (p.decode(), h) for p, h in journal_lines(sim)]
    payload, digest = lines[3].split("\t")
    lines[3] = payload.replace('"seq"', ' "seq"', 1) + "\t" + digest  # changed, hash not recomputed
    status, answer = push(store, "FORGED-0002", token, {"after": 0, "lines": lines})
    assert status == 422 and answer["error"] == "chain" and answer["at"] == 4
    assert sql(store, "SELECT count(*) FROM records WHERE serial = 'FORGED-0002'")[0][0] == 0


def test_a_terminal_that_lost_records_is_flagged(store, registers):
    sim = registers["cpython"]
    token = enrolled(store, "FORGED-0003")
    lines = ["%s\t%s" % (p.decode(), h) for p, h in journal_lines(sim)][:6]
    assert push(store, "FORGED-0003", token, {"after": 0, "lines": lines})[0] == 200
    status, _ = push(store, "FORGED-0003", token, {"after": 6, "lines": [], "status": {"head": 2}})
    assert status == 200
    alarms = sql(store, "SELECT kind, detail FROM alarms WHERE serial = 'FORGED-0003'")
    assert alarms and alarms[0][0] == "missing" and "records 3-6" in alarms[0][1]


def test_master_change_reaches_both_registers_at_their_next_closings(store, registers):
    async def change(s):
        _, data = await latest(s.pool)
        return await save(s.pool, set_price(data, "1001", 599), "test", "Kaffee teurer")

    version = store.call(change)
    for sim in registers.values():
        assert until(
            lambda sim=sim: any(r["data"]["version"] == version for r in sim.journal("master_received")), 30
        )
    for sim in registers.values():
        sale(sim)  # the period goes on with the old price
        assert sim.journal("pending")[-1]["data"]["bon"]["total"] == 549
        assert sim.operator(op="z", counts={})["ok"]
        adopted = [r for r in sim.journal("master") if r["data"].get("store_version") == version]
        assert adopted, sim.journal("master")
        seqs = {r["type"]: r["seq"] for r in sim.journal() if r["type"] in ("closing",)}
        assert adopted[-1]["seq"] > seqs["closing"]  # after the closing, not before
        sale(sim)
        assert sim.journal("pending")[-1]["data"]["bon"]["total"] == 599
    for sim in registers.values():
        synced(store, sim)
        row = sql(store, "SELECT master_received, master_in_use FROM registers WHERE serial = %s", sim.serial)
        assert row[0] == (version, version)


def test_store_dsfinvk_export_covers_every_register(store, registers, tmp_path):
    for sim in registers.values():
        synced(store, sim)
    folder = str(tmp_path / "export")
    rows = store.call(lambda s: export.dsfinvk(s.pool, folder))
    report = check_dsfinvk(folder)
    assert report.ok, report.problems
    with open(os.path.join(folder, "cashregister.csv"), encoding="utf-8") as f:
        kassen = [r["KASSE_SERIENNR"] for r in csv.DictReader(f, delimiter=";")]
    assert set(SERIALS.values()) <= set(kassen)
    closed = sql(
        store,
        "SELECT count(*) FROM receipts r JOIN closings c ON c.serial = r.serial AND c.z_nr = r.z_nr"
        " WHERE r.serial = ANY(%s)",
        list(SERIALS.values()),
    )[0][0]
    assert rows["transactions.csv"] == closed > 0
    with open(os.path.join(folder, "transactions.csv"), encoding="utf-8") as f:
        assert len(list(csv.reader(io.StringIO(f.read()), delimiter=";"))) == closed + 1


def _console(sim):
    port = serial.Serial(sim.endpoints["console"], 115200, timeout=0.5)
    return port, ConsoleClient(port, timeout=60)


def test_restore_of_a_replacement_terminal(store, registers, tmp_path):
    old = registers["cpython"]
    port, con = _console(old)
    try:
        assert con.run("login viewer 135790")["ok"]
        assert con.run("passwd 135790 975310")["ok"]
        con.run("logout")
        assert con.run(TECH)["ok"]
        assert con.run("config set drawer_warn_s 45")["ok"]
        assert con.run("tse export")["ok"]
        assert con.run("store backup")["ok"]
        con.run("logout")
    finally:
        port.close()
    folder = os.path.join(old.out, "data", "exports", "tse")
    tars = sorted(n for n in os.listdir(folder) if n.endswith(".tar"))
    held = dict(sql(store, "SELECT name, data FROM tse_exports WHERE serial = %s", old.serial))
    assert tars and sorted(held) == tars  # every TSE export archive, whole, on the server
    for name in tars:
        with open(os.path.join(folder, name), "rb") as f:
            assert bytes(held[name]) == f.read()
    backup = sql(store, "SELECT data FROM backups WHERE serial = %s", old.serial)[0][0]
    assert backup["settings"]["drawer_warn_s"] == 45
    assert [u["name"] for u in backup["console_users"]] and "token" not in json.dumps(backup["settings"])
    new_serial = "SMARTECR-SIM-0009"
    token = enrolled(store, new_serial)
    new = Simulator(str(tmp_path / "replacement"), "cpython", serial=new_serial, store=(store.port, token))
    new.start()
    try:
        port, con = _console(new)
        try:
            assert con.run(TECH)["ok"]
            reply = con.run("store restore %s" % old.serial)
            assert reply["ok"] and "reboot" in reply["text"], reply
            assert con.run("reboot")["ok"]
            login_after_reboot(con)
            con.run("logout")
            assert con.run("login viewer 975310")["ok"]  # the old terminal's console users
            con.run("logout")
            assert con.run(TECH)["ok"]
            assert con.run("config get drawer_warn_s")["data"]["value"] == 45
            con.run("logout")
        finally:
            port.close()
        assert new.operator(op="state").get("restarted") or True  # the link is made again
        sale(new)
        beleg = new.journal("pending")[-1]["data"]
        assert beleg["bon"]["bon_nr"] >= 1
        synced(store, new)
        # a register of its own: its own serial in the TSE data the server verified
        rows = sql(
            store, "SELECT verified, data->'tse'->>'client_id' FROM receipts WHERE serial = %s", new_serial
        )
        assert rows and all(v and cid == new_serial for v, cid in rows)
    finally:
        new.stop()
