"""The service console end to end, on both firmware runtimes: pyserial on the technician's end
of the simulator's null-modem pty, the firmware's console on the other; every command's happy
path and its refusals, roles, garbage on the line, a dropped connection, an export while the
till keeps selling, and the host client's batch mode."""

import json
import os
import random
import threading
import time
import warnings

import pytest
import serial

from tools.audit.dsfinvk import check_dsfinvk
from tools.console.__main__ import main as console_main
from tools.console.client import ConsoleClient
from tools.sim.launch import Simulator

RUNTIMES = ("cpython", "micropython")
TECH = "login technician 246810"  # README: the simulator's technician PIN
MANAGER = "login 2 2222"  # Bernd Chef (master data, role manager)
VIEWER = "login viewer 135790"


@pytest.fixture(scope="module", params=RUNTIMES)
def sim(request, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("console-" + request.param))
    s = Simulator(out, request.param).start()
    yield s
    s.stop()


@pytest.fixture
def con(sim):
    port = serial.Serial(sim.endpoints["console"], 115200, timeout=0.5)
    client = ConsoleClient(port, timeout=60)
    yield client
    client.run("logout")
    port.close()


def ok(con, line):
    reply = con.run(line)
    assert reply["ok"], (line, reply)
    return reply


def refused(con, line, *words):
    reply = con.run(line)
    assert not reply["ok"], (line, reply)
    for w in words:
        assert w in reply["error"], (line, reply)
    return reply


def journal(sim, kind=None):
    """The journal's records as the firmware wrote them (read-only, on the host)."""
    folder = os.path.join(sim.out, "data", "journal")
    out = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            for line in f:
                rec = json.loads(line.split(b"\t", 1)[0])
                if kind is None or rec["type"] == kind:
                    out.append(rec)
    return out


def operate(sim, **request):
    """An operator request; once more if the link had to be made again after a reboot (the
    reply says the request was not run)."""
    reply = sim.operator(**request)
    return sim.operator(**request) if reply.get("restarted") else reply


def sale(sim, lines=1):
    for _ in range(lines):
        assert operate(sim, op="plu", code="1001")["ok"]
    r = operate(sim, op="cash")
    assert r["ok"] and r["state"]["bon"] is None, r


def test_text_mode_login_with_hidden_pin_and_lockout_count(sim):
    port = serial.Serial(sim.endpoints["console"], 115200, timeout=1)
    try:
        port.reset_input_buffer()

        def say(line, until=(b"ecr> ", b"]> "), wait=20):
            port.write(line)
            got = b""
            deadline = time.monotonic() + wait
            while not got.endswith(until) and time.monotonic() < deadline:
                got += port.read(1)
            return got.decode()

        # Ctrl-C until its own answer comes: the banner of a console still starting may come
        # first, and input sent before the firmware opened the line is dropped.
        for _ in range(10):
            if say(b"\x03", until=b"^C\r\necr> ", wait=3).endswith("^C\r\necr> "):
                break
        while port.read(1):
            pass  # the answers to earlier Ctrl-Cs that came late
        assert "log in first" in say(b"status\r")
        assert "wrong user or PIN (4 tries" in say(b"login technician 999999\r")
        assert say(b"login technician\r", until=b"PIN: ").endswith("PIN: ")
        out = say(b"246810\r")
        assert "246810" not in out and "logged in as technician" in out  # the PIN is not echoed
        out = say(b"journal stats\r")
        assert out.startswith("journal stats\r\n") and "records in" in out  # typed keys echoed
        assert "logged out" in say(b"logout\r")
        # the PIN typed ahead, in the same write as its login line: still never echoed
        out = say(b"login technician\r246810\r", until=b"]> ")
        assert "246810" not in out and "logged in as technician" in out, out
        # bytes that are not UTF-8, and a character split across two writes: the console lives
        for bad in (b"\xff", b"\xc3", b"\x80"):
            out = say(b"status " + bad + b"\r", until=b"]> ")
            assert "not UTF-8" in out and "\ufffd" in out, out
        port.write("test scan \u20ac".encode()[:-1])
        time.sleep(0.3)
        out = say("test scan \u20ac".encode()[-1:] + b"\r", until=b"]> ")
        assert "wrong number of arguments" in out and "\u20ac" in out, out  # joined, then parsed
        assert "records in" in say(b"journal stats\r", until=b"]> ")
        assert "logged out" in say(b"logout\r")
        say(b"login 246810 technician\r")  # the PIN where the name belongs
    finally:
        port.close()
    events = [r["data"] for r in journal(sim, "console")]
    assert {"event": "login_failed", "user": "technician", "failures": 1, "locked_s": 0} in events
    assert {"event": "login_failed", "user": "***", "failures": 1, "locked_s": 0} in events
    assert not any("246810" in json.dumps(e) or "999999" in json.dumps(e) for e in events)
    assert events[-2]["event"] == "logout" and events[-3]["event"] == "login"


def test_roles(con):
    refused(con, "status", "log in first")
    ok(con, VIEWER)
    assert ok(con, "status")["data"]["tse"]["state"] == "ready"
    refused(con, "config set log.level debug", "read-only may not run config set")
    refused(con, "export tar", "may not")
    ok(con, MANAGER)
    ok(con, "report x")
    refused(con, "tse selftest", "manager may not")
    ok(con, TECH)
    refused(con, "close 0,00", "technician may not run close")
    assert "tse register-client <id>" in ok(con, "help")["data"]["commands"]


def test_status_date_and_logs(con, sim):
    ok(con, TECH)
    data = ok(con, "status")["data"]
    assert data["runtime"] == sim.runtime and data["platform"] == "sim"
    assert data["tse"]["signatures_max"] > data["tse"]["signatures_used"] > 0
    assert data["journal"]["records"] > 0 and data["storage"]["free_bytes"] > 0
    assert data["time_valid"] and data["sale_open"] is False
    assert ok(con, "date")["data"]["utc"].endswith("Z")
    refused(con, "date set 2026-13-01T00:00:00Z", "there is no day '2026-13-01'")
    refused(con, "date set 2026-02-31T00:00:00Z", "there is no day '2026-02-31'")  # not 03-03
    refused(con, "date set 0000-01-01T00:00:00Z", "the year must be 2000 to 2099")
    refused(con, "date set -001-01-01T00:00:00Z", "in digits")
    refused(con, "date set 2026-01-01T24:00:00Z", "no such time")
    refused(con, "date set 2026-11-22T10:00:00Z", "operating system")  # the sim follows the host
    lines = ok(con, "log tail 50")["data"]["lines"]
    assert lines and not any("246810" in line for line in lines)
    refused(con, "log tail many", "usage: log tail")
    refused(con, "status now", "wrong number of arguments")


def test_tse_administration(con, sim):
    ok(con, TECH)
    assert ok(con, "tse setup")["data"]["state"] == "ready"  # a card in service: nothing to do
    assert ok(con, "tse selftest")["data"]["self_test_passed"]
    assert ok(con, "tse timesync")["data"]["valid_time"]
    assert ok(con, "tse clients")["data"]["clients"] == ["SMARTECR-SIM-0001"]
    ok(con, "tse register-client KASSE-2")
    assert "KASSE-2" in ok(con, "tse clients")["data"]["clients"]
    refused(con, "tse register-client KASSE-2", "registered already")
    refused(con, "tse register-client " + "x" * 31, "1 to 30")
    refused(con, "tse", "tse what?")
    refused(con, "tse unblock root", "admin or time-admin")
    ok(con, "tse unblock time-admin")
    assert ok(con, "tse timesync")["data"]["valid_time"]  # the configured PIN still works
    refused(con, "tse decommission 00000000", "last 8 characters")
    sale(sim)
    first = ok(con, "tse export")["data"]
    assert first["kind"] == "incremental" and first["logs"] > 0
    again = ok(con, "tse export")["data"]
    assert again["logs"] == 0  # nothing new since
    full = ok(con, "export tar")["data"]
    assert full["kind"] == "full" and full["first"] == 1 and full["last"] >= first["last"]
    assert os.path.getsize(full["file"]) == full["size"]
    kinds = [r["data"].get("command") for r in journal(sim, "console")]
    assert "tse register-client KASSE-2" in kinds and "export tar" in kinds


def test_configuration_is_checked_masked_and_saved(con, sim):
    ok(con, TECH)
    text = ok(con, "config show")["text"]
    assert "123456" not in text and "pbkdf2" not in text and '"puk": "***"' in text
    assert ok(con, "config get tse.puk")["data"]["value"] == "***"
    refused(con, "config get nope", "no such setting")
    refused(con, "config set log.level loud", "must be one of")
    refused(con, "config set drawer_warn_s 3", "at least 5")
    refused(con, "config set drawer_warn_s soon", "integer")
    refused(con, "config set elster.acquired 2026-99-99", "elster.acquired", "there is no day")
    refused(con, "config set elster.in_service 2026-02-30", "there is no day")
    refused(con, "config set data_dir /tmp", "configuration file")
    refused(con, "config set console.users x", "configuration file")
    refused(con, "config set log debug", "a group")
    assert ok(con, "config set drawer_warn_s 45")["data"]["when"] == "now"
    assert ok(con, "config set tse.admin_pin 12345")["data"]["value"] == "***"
    with open(os.path.join(sim.out, "data", "settings.json")) as f:
        assert json.load(f) == {"drawer_warn_s": 45, "tse.admin_pin": "12345"}
    assert ok(con, "config get drawer_warn_s")["data"]["value"] == 45
    logged = [r["data"].get("command") for r in journal(sim, "console")]
    assert "config set tse.admin_pin ***" in logged and not any("12345" in str(c) for c in logged)


def test_peripheral_tests(con, sim):
    ok(con, TECH)
    before = len(sim.emupos.receipts())
    ok(con, "test print")
    sim.emupos.wait_receipts(before + 1)
    assert any("smartECR Testseite" in sim.emupos.text(r["id"]) for r in sim.emupos.receipts())
    assert ok(con, "test drawer")["data"]["open"] is True
    sim.emupos.close_drawer()
    ok(con, "test display")
    sim.display.wait_for("Display-Test")
    for attempt in range(3):  # a cashier scans again when no beep comes; CI once lost the first scan
        if attempt:
            warnings.warn("the scanner's code was not taken; scanned again (see emupos.log)", stacklevel=1)
        sim.emupos.scan("]E04006381333931")
        deadline = time.monotonic() + 5
        while ok(con, "test scan")["data"].get("text") != "4006381333931" and time.monotonic() < deadline:
            time.sleep(0.2)
        if ok(con, "test scan")["data"].get("text") == "4006381333931":
            break
    with open(os.path.join(sim.out, "emupos", "emupos.log")) as f:
        seen = f.read()
    assert ok(con, "test scan")["data"].get("symbology") == "EAN13", seen
    sim.operator(op="abort")
    refused(con, "test card", "no card")
    sim.insert_card()
    sim.wait_card()
    deadline = time.monotonic() + 10
    reply = con.run("test card")
    while not reply["ok"] and time.monotonic() < deadline:
        time.sleep(0.3)
        reply = con.run("test card")
    assert reply["ok"] and reply["data"]["atr"].startswith("3b"), reply
    sim.remove_cards()
    refused(con, "test foo", "test what?")


def test_garbage_and_long_lines_change_nothing(con, sim):
    ok(con, TECH)
    records = ok(con, "journal stats")["data"]["records"]
    rng = random.Random(5)
    port = con.port
    for _ in range(20):
        port.write(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))).replace(b"\x03", b""))
    port.write(b"A" * 5000 + b"\r")
    port.write(b"\r\x03")
    port.timeout = 2
    while port.readline():
        pass  # the errors the garbage gave, until the console has gone quiet
    port.timeout = 0.5
    assert ok(con, "journal stats")["data"]["records"] == records  # nothing was run
    assert ok(con, "status")["data"]["sale_open"] is False


def test_dropped_connection_mid_command(sim):
    port = serial.Serial(sim.endpoints["console"], 115200, timeout=0.5)
    con = ConsoleClient(port, timeout=60)
    ok(con, TECH)
    exports = len(journal(sim, "tse_export"))
    port.write(b"export tar\r")
    port.close()  # the technician pulls the cable while the export runs
    time.sleep(2)
    port = serial.Serial(sim.endpoints["console"], 115200, timeout=0.5)
    try:
        con = ConsoleClient(port, timeout=60)
        ok(con, "status")  # still logged in: the session ends by timeout or logout, not by a cable
        deadline = time.monotonic() + 30
        while len(journal(sim, "tse_export")) == exports and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(journal(sim, "tse_export")) == exports + 1  # the export finished, whole
        ok(con, "journal verify")
        ok(con, "logout")
    finally:
        port.close()


def test_closing_and_dsfinvk_export(con, sim):
    ok(con, MANAGER)
    sale(sim, lines=3)
    sim.operator(op="plu", code="1001")
    refused(con, "close 0,00", "open receipt")
    sim.operator(op="abort")
    refused(con, "close many", "usage: close")
    closing = ok(con, "close 0,00")
    z = closing["data"]["z_nr"]
    assert "Z-Bon Nr. %d" % z in closing["text"]
    ok(con, TECH)
    refused(con, "export dsfinvk 999", "no closed period")
    refused(con, "export dsfinvk x", "whole numbers")
    data = ok(con, "export dsfinvk %d" % z)["data"]
    assert data["closings"] == [z, z] and data["rows"]["lines.csv"] >= 3
    report = check_dsfinvk(data["file"])
    assert report.ok, report.problems
    assert journal(sim, "export")[-1]["data"]["file"] == data["file"]


@pytest.fixture(scope="module", params=RUNTIMES)
def busy_sim(request, tmp_path_factory):
    """A terminal whose journal already holds a closed period of 3,000 receipts."""
    from tools.bench.bench_dsfinvk import make_journal

    out = str(tmp_path_factory.mktemp("busy-" + request.param))
    make_journal(os.path.join(out, "data", "journal"), 3000)
    s = Simulator(out, request.param).start()
    yield s
    s.stop()


def test_dsfinvk_export_while_selling(busy_sim):
    sim = busy_sim
    port = serial.Serial(sim.endpoints["console"], 115200, timeout=0.5)
    con = ConsoleClient(port, timeout=120)
    stop = threading.Event()
    problems = []

    def keep_selling():
        try:
            while not stop.is_set():
                sale(sim)
        except AssertionError as e:
            problems.append(e)

    try:
        ok(con, TECH)
        seller = threading.Thread(target=keep_selling)
        progress = []
        con.port.write(b"export dsfinvk 1\r")
        seller.start()
        try:
            reply = con.reply(progress=progress.append)
        finally:
            stop.set()
            seller.join()
        assert reply["ok"], reply
        assert not problems, problems
        assert reply["data"]["rows"]["lines.csv"] > 9000 and progress  # 3 lines a receipt + the closing
        # receipts were signed and journaled between the export's start and its end
        recs = journal(sim)
        start = max(r["seq"] for r in recs if r["data"].get("command") == "export dsfinvk 1")
        end = max(r["seq"] for r in recs if r["type"] == "export")
        assert any(r["type"] == "beleg" and start < r["seq"] < end for r in recs), "no sale during the export"
        report = check_dsfinvk(reply["data"]["file"])
        assert report.ok, report.problems
    finally:
        port.close()


def login_after_reboot(con):
    """The client notices the restart by the new console's banner: the command it waited for
    comes back ``restarted`` and the console is in JSON mode again. Then log in again."""
    deadline = time.monotonic() + 90
    while True:
        try:
            reply = con.run("help")
        except TimeoutError:  # booting slower than the client waits: it waits again
            con.resync()
            break
        if reply.get("code") == "restarted":
            assert "log in again" in reply["error"]
            break
        assert time.monotonic() < deadline, "no restart seen"
        time.sleep(0.5)
    ok(con, TECH)


def test_backup_restore_reboot_and_factory_reset(con, sim):
    ok(con, TECH)
    ok(con, "config set log.level debug")
    made = ok(con, "backup")["data"]["file"]
    with open(made) as f:
        backup = json.load(f)
    assert backup["settings"] == {"drawer_warn_s": 45, "log.level": "debug"}  # no TSE PIN in it
    refused(con, "restore ../etc/passwd", "backup")
    refused(con, "restore nothing.json", "no backup")
    bad = os.path.join(sim.out, "data", "backup", "bad.json")
    with open(bad, "w") as f:
        json.dump(dict(backup, settings={"log.level": "loud"}), f)
    refused(con, "restore bad.json", "must be one of")
    ok(con, "restore " + os.path.basename(made))
    refused(con, "factory-reset", "confirm with the register serial")
    assert ok(con, "reboot")["text"] == "rebooting"
    login_after_reboot(con)
    assert ok(con, "status")["data"]["uptime_s"] < 60
    assert ok(con, "config get log.level")["data"]["value"] == "debug"  # saved settings kept
    serial_no = "SMARTECR-SIM-0001"
    ok(con, "factory-reset " + serial_no)
    login_after_reboot(con)
    assert ok(con, "config get log.level")["data"]["value"] == "info"  # back to the file's
    assert ok(con, "journal stats")["data"]["records"] > 0  # tax records stay
    events = [r["data"]["event"] for r in journal(sim, "console")]
    assert events.count("logout") >= 2


def test_batch_client(sim, tmp_path, capsys):
    script = tmp_path / "setup.txt"
    script.write_text("# first-time checks\n%s\nstatus\n\njournal verify\nlogout\n" % TECH)
    assert console_main(["--port", sim.endpoints["console"], "--batch", str(script)]) == 0
    out = capsys.readouterr().out
    assert "> login technician ***" in out and "journal intact" in out and "246810" not in out
    script.write_text("%s\nconfig set log.level loud\nstatus\n" % TECH)
    assert console_main(["--port", sim.endpoints["console"], "--batch", str(script)]) == 1
    out = capsys.readouterr().out
    assert "error: log.level: must be one of" in out and "stopped at line 2" in out
    assert "> status" not in out
    assert console_main(["--port", "/dev/nonexistent", "--batch", str(script)]) == 2


def test_master_data_and_the_serial_change_only_between_closings(con, sim):
    ok(con, TECH)
    made = ok(con, "backup")["data"]["file"]
    with open(made) as f:
        backup = json.load(f)
    folder = os.path.dirname(made)

    def variant(name, **master):
        data = json.loads(json.dumps(backup))
        for key, value in master.items():
            section, field = key.split("__")
            data["master"][section][field] = value
        with open(os.path.join(folder, name), "w") as f:
            json.dump(data, f)
        return name

    for name, text in (("garbage.json", "{not json"), ("list.json", "[1]")):
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
        refused(con, "restore " + name, "is not a smartECR backup")
    with open(os.path.join(folder, "entries.json"), "w") as f:
        json.dump(dict(backup, master=dict(backup["master"], articles=["1001"])), f)
    refused(con, "restore entries.json", "entries.json: master.articles[0]: must be an object")
    with open(os.path.join(folder, "settings.json"), "w") as f:
        json.dump(dict(backup, settings=[1]), f)
    refused(con, "restore settings.json", "has no settings")
    refused(con, "restore " + variant("semicolon.json", register__serial="A;B"), "';' may not be in it")
    sale(sim)  # the period has a receipt now
    refused(con, "restore " + variant("name.json", business__name="Neu GmbH"), "close it first")
    new = variant("serial.json", register__serial="SMARTECR-SIM-0002")
    refused(con, "restore serial.json", "close it first")
    ok(con, MANAGER)
    expected = ok(con, "report x")["data"]["totals"]["cash"]
    ok(con, "close %d,%02d" % (expected // 100, expected % 100))
    ok(con, TECH)
    refused(con, "restore " + new, "changes the register serial", "restore serial.json SMARTECR-SIM-0002")
    refused(con, "restore serial.json SMARTECR-SIM-0002", "tse register-client SMARTECR-SIM-0002")
    ok(con, "tse register-client SMARTECR-SIM-0002")
    assert "rebooting" in ok(con, "restore serial.json SMARTECR-SIM-0002")["text"]
    login_after_reboot(con)
    assert ok(con, "tse clients")["data"]["clients"] == ["KASSE-2", "SMARTECR-SIM-0002"]
    reply = sim.operator(op="state")  # the operator link notices the restart and is made again
    assert reply.get("restarted") and "was not run" in reply["error"], reply
    sale(sim)
    signed = [r["data"] for r in journal(sim, "beleg") if "tse" in r["data"]]
    assert signed[-1]["tse"]["client_id"] == "SMARTECR-SIM-0002"
    assert [r["data"] for r in journal(sim, "serial_change")][-1]["old"] == "SMARTECR-SIM-0001"
    assert "agree with TSE" in ok(con, "journal verify")["text"]  # both client ids compared


def test_decommission_last(con, sim):
    ok(con, TECH)
    serial_hex = ok(con, "status")["data"]["tse"]["serial"]
    data = ok(con, "tse decommission " + serial_hex[-8:])["data"]
    assert data["state"] == "decommissioned"
    assert journal(sim, "tse_decommission")[-1]["data"]["serial"] == serial_hex
