"""The host simulator end to end, on both firmware runtimes: sales through the operator link
with every peer real (TSE card emulator, emupos printer/drawer/scanner, the DM-D display on a
pty, cards through vpcd), and the failure cases of issue 5: printer offline or out of paper,
drawer left open, garbage scans, a card pulled mid-read, a power cut; plus `make sim HEADLESS=1`."""

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import iso8583 as peer8583
import PIL.Image
import pytest
import serial
import zxingcpp
from iso8583.specs import default as peer_spec

from tools import upy
from tools.console.client import ConsoleClient
from tools.sim import until
from tools.sim.launch import Simulator

RUNTIMES = ("cpython", "micropython")


@pytest.fixture(scope="module", params=RUNTIMES)
def sim(request, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sim-" + request.param))
    s = Simulator(out, request.param, {"drawer_warn_s": 5}).start()
    yield s
    s.stop()


def firmware_log(sim):
    with open(os.path.join(sim.out, "firmware.log")) as f:
        return f.read()


def state(sim):
    return sim.operator(op="state")["state"]


def test_no_peer_is_missing(sim):
    assert sim.missing == {}
    assert set(sim.endpoints) >= {"printer", "display", "tse", "scanner", "card reader", "operator"}


def test_cash_sale_prints_the_tse_qr_and_opens_the_drawer(sim):
    before = len(sim.emupos.receipts())
    r = sim.operator(op="plu", code="1001", qty=2000)
    assert r["ok"] and r["state"]["bon"]["total"] == 2 * 549
    sim.display.wait_for("10,98 EUR")
    r = sim.operator(op="cash", given=2000)
    assert r["ok"] and r["state"]["bon"] is None
    assert until(lambda: state(sim)["queue"] == [])  # printed by the device task, moments later
    sim.display.wait_for("9,02 EUR")  # the change, on the customer display
    qr = [line for line in r["state"]["last_receipt"].splitlines() if line.startswith("[QR] ")][0][5:]
    printed = sim.emupos.wait_receipts(before + 1)
    image = PIL.Image.open(io.BytesIO(sim.emupos.image(printed[0]["id"])))
    assert [c.text for c in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)] == [qr]
    assert until(lambda: sim.emupos.device()["state"]["drawer"] == "open")
    assert until(lambda: state(sim)["drawer_open"] is True)
    sim.emupos.close_drawer()
    assert until(lambda: state(sim)["drawer_open"] is False)
    assert sim.display.errors == []


def test_scans_ring_up_and_garbage_is_rejected(sim):
    for data in ("]E04006381333932", "\u0001\u0002zz", "]E0400638", "]X9what"):
        sim.emupos.scan(data)
        time.sleep(0.3)
    sim.emupos.scan("]E04006381333931")
    st = until(lambda: (s := state(sim))["bon"] and s)
    assert [line[1] for line in st["bon"]["lines"]] == ["Kaffee Crema 250 g"]
    rejected = [m for m in st["messages"] if m.startswith("Scan abgelehnt")]
    assert len(rejected) >= 3, st["messages"]
    assert sim.operator(op="abort")["ok"]


def test_printer_out_of_paper_queues_the_receipt_and_prints_it_later(sim):
    before = len(sim.emupos.receipts())
    sim.emupos.fault("paper-out")
    try:
        sim.operator(op="plu", code="1003")
        r = sim.operator(op="cash")
        assert r["ok"] and r["state"]["bon"] is None  # the sale is complete
        bon_nr = r["state"]["last_bon_nr"]
        assert r["state"]["queue"] == [bon_nr]
        assert until(lambda: any("Papier leer" in m for m in state(sim)["messages"]))
        time.sleep(1.5)
        assert len(sim.emupos.receipts()) == before and state(sim)["queue"] == [bon_nr]
    finally:
        sim.emupos.fault("paper-out", active=False)
    assert until(lambda: state(sim)["queue"] == [])
    assert len(sim.emupos.wait_receipts(before + 1)) == before + 1
    sim.emupos.close_drawer()


def test_printer_offline_queues_too(sim):
    sim.emupos.fault("offline")
    try:
        sim.operator(op="plu", code="1002")
        r = sim.operator(op="cash")
        assert r["ok"] and r["state"]["queue"] == [r["state"]["last_bon_nr"]]
    finally:
        sim.emupos.fault("offline", active=False)
    assert until(lambda: state(sim)["queue"] == [])
    sim.emupos.close_drawer()


def _journal_records(sim, kind):
    return [r["data"] for r in sim.journal(kind)]


def _journal_belege(sim):
    """The receipts as journaled before the TSE signed them (``pending``: the whole receipt)."""
    return [d["bon"] for d in _journal_records(sim, "pending")]


def _tap_and_pay(sim, code="1006"):
    """One article, paid by the everyday test card tapped: the operator link's reply."""
    sim.operator(op="plu", code=code)
    sim.tap_card()
    assert sim.wait_card()
    r = sim.operator(op="card")
    sim.remove_cards()
    assert r["ok"] and r["state"]["bon"] is None, r["state"]["messages"]
    return r


def _traced(text, trace):
    """Whether a printed slip is the one of this trace number."""
    return any(ln.startswith("Trace-Nr.") and ln.split()[-1] == trace for ln in text.splitlines())


def test_card_payment_runs_the_kernel_and_never_shows_the_full_pan(sim):
    before = len(sim.emupos.receipts())
    r = _tap_and_pay(sim)
    assert "Karte MASTERCARD ************0434: Zahlung erfolgt" in r["state"]["messages"]
    beleg = _journal_belege(sim)[-1]
    assert beleg["payments"] == [{"typ": "Kreditkarte", "name": "Mastercard", "amount": beleg["total"]}]
    [card] = beleg["cards"]  # the approval, journaled with the receipt
    assert card["pan"] == "************0434" and card["result"] == "approved"
    # online: the ARQC went to the acquirer simulator, which checked it (pyemv) and approved
    assert len(card["cryptogram"]) == 16 and card["cryptogram_type"] == "ARQC"
    assert card["online"] is True and card["arc"] == "3030"
    assert [m["mti"] for m in sim.acquirer.messages()][-2:] == ["0100", "0110"]
    assert int(card["tsi"], 16) & 0x8000  # offline data authentication with the simulator's test CA
    assert not int(card["tvr"], 16) & 0x0C00000000  # CDA (this card) and DDA did not fail
    assert "Mastercard" in r["state"]["last_receipt"] and "************0434" in r["state"]["last_receipt"]
    log = firmware_log(sim)
    assert "5413330089010434" not in log and "0434" in log
    journal_text = "".join(json.dumps(b) for b in _journal_belege(sim))
    assert "5413330089010434" not in journal_text

    # the fiscal receipt, then the merchant's and the customer's slip, as emupos printed them
    # (found by what they say: a receipt of an earlier test may come out of the queue late)
    def ours():
        done = sim.emupos.receipts()
        texts = [sim.emupos.text(p["id"]) for p in done[: len(done) - before]]  # the new ones
        mine = [t for t in texts if _traced(t, card["trace"]) or "Bon %d " % beleg["bon_nr"] in t]
        return mine if len(mine) == 3 else None

    printed = until(ours, 20)
    assert printed, "the receipt and both slips were not printed"
    # each one by its heading (two finished in the same instant may come out in either order)
    [fiscal] = [t for t in printed if "Vielen Dank" in t]
    [merchant] = [t for t in printed if "H Ä N D L E R B E L E G" in t]
    [customer] = [t for t in printed if "K U N D E N B E L E G" in t]
    for slip in (merchant, customer):
        assert "************0434" in slip and "Kontaktlos" in slip and card["trace"] in slip
        assert card["auth_code"] in slip and "Zahlung erfolgt" in slip and "SIMULATION" in slip
    assert "5413330089010434" not in fiscal + merchant + customer


def test_chip_card_with_a_wrong_pin_then_the_right_one(sim):
    sim.operator(op="plu", code="1001")
    sim.pin("9999")
    sim.pin("1234")
    sim.insert_card()
    assert sim.wait_card()
    r = sim.operator(op="card")
    sim.remove_cards()
    assert r["ok"] and r["state"]["bon"] is None, r["state"]["messages"]
    assert "PIN falsch, noch 2 Versuch(e)" in r["state"]["messages"]
    [card] = _journal_belege(sim)[-1]["cards"]
    assert card["cvm"] == "410302"  # offline plaintext PIN, successful
    log = firmware_log(sim)
    assert not re.search(r"\b(9999|1234)\b", log)  # the PIN never reaches the log


def test_card_pulled_mid_read_is_a_clean_error(sim):
    sim.operator(op="plu", code="1006")
    link = sim.insert_card()
    assert sim.wait_card()
    link.pull_after(2)  # answers SELECT PSE, leaves during the first SELECT of an AID
    r = sim.operator(op="card")
    sim.remove_cards()
    assert r["ok"] and r["state"]["bon"] is not None  # nothing paid, the receipt still open
    assert any(m.startswith("Karte: card removed") for m in r["state"]["messages"]), r["state"]["messages"]
    r = sim.operator(op="cash")
    assert r["ok"] and r["state"]["bon"] is None
    sim.emupos.close_drawer()


def test_the_operator_link_takes_only_whole_numbers_within_bounds(sim):
    for request, says in (
        ({"op": "plu", "code": "1001", "qty": 10**30}, "qty must be a whole number from 1 to 9999000"),
        ({"op": "plu", "code": "1001", "qty": 1.7}, "got 1.7"),
        ({"op": "plu", "code": "1001", "qty": True}, "got true"),
        ({"op": "plu", "code": 1001}, "code must be text"),
        ({"op": "void", "pos": "1"}, "pos must be a whole number"),
        ({"op": "void"}, "missing field"),
        ({"op": "cash", "given": -5}, "given must be a whole number from 1"),
    ):
        r = sim.operator(**request)
        assert not r["ok"] and says in r["error"], (request, r)
        assert r["state"]["bon"] is None  # nothing was rung up


def test_power_cut_mid_sale_is_recovered_at_boot(sim):
    sim.operator(op="plu", code="1001")
    before = state(sim)["last_bon_nr"]
    sim.power_cut()
    st = state(sim)
    assert st["bon"] is None
    assert st["last_bon_nr"] == before + 1  # the interrupted Vorgang, closed as an abort
    assert st["tse"]["open_transactions"] == 0
    log = firmware_log(sim)
    assert "reconciled with the TSE at boot: [('aborted'" in log or 'at boot: [("aborted"' in log
    said = [m for m in st["messages"] if "abgebrochen" in m]  # the cashier is told, with the number
    assert said and "Bon %d (Abbruch)" % (before + 1) in said[-1], st["messages"]


def test_tse_pulled_sale_goes_on_and_the_card_put_back_signs_at_once(sim):
    sim.operator(op="plu", code="1002")  # started with the card in: left open by the failure
    sim.tse_card(removed=True)
    try:
        r = sim.operator(op="cash")
        receipt = r["state"]["last_receipt"]
        assert r["ok"] and "TSE AUSGEFALLEN" in receipt and "[QR]" not in receipt
        assert "TSE-Karte entnommen" in receipt and "Errno" not in receipt and "NBD" not in receipt
        assert r["state"]["tse"]["can"].startswith("failed: "), r["state"]["tse"]  # at once, not in 60 s
        failed = r["state"]["last_bon_nr"]
    finally:
        sim.tse_card(removed=False)
    sim.emupos.close_drawer()
    sim.operator(op="plu", code="1002")  # the first sale after: time set, self-test, catch up
    r = sim.operator(op="cash")
    assert r["ok"] and "[QR]" in r["state"]["last_receipt"], r["state"]["last_receipt"]
    assert r["state"]["tse"]["can"] == "ready"
    sim.emupos.close_drawer()
    card = sim._control.status()["card"]
    assert card["open_transactions"] == []  # the failed receipt was signed late, no reboot
    assert "TSE back: [('signed late', %d)]" % failed in firmware_log(sim)


def test_drawer_left_open_warns(sim):
    sim.operator(op="drawer")
    try:
        msgs = until(lambda: [m for m in state(sim)["messages"] if "Kassenlade seit" in m], timeout=15)
        assert msgs and msgs[-1] in ("Kassenlade seit 5 s offen", "Kassenlade seit 6 s offen")
    finally:
        sim.emupos.close_drawer()


def _headless(*args):
    """``python -m tools.sim --headless ARGS``: the process and the lines it printed up to
    ``running``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.sim", "--headless"] + list(args),
        cwd=upy.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip())
        if line.startswith("running"):
            break
    return proc, lines


def test_make_sim_headless_prints_endpoints_and_stops_on_sigterm(tmp_path):
    proc, lines = _headless("--out", str(tmp_path))
    try:
        endpoints = dict(line.split(": ", 1) for line in lines if ": " in line)
        reached = [name for name, where in endpoints.items() if not where.startswith("not available")]
        assert reached[:4] == ["console", "printer", "display", "tse"]
        from tools.console.client import ConsoleClient

        with serial.Serial(endpoints["console"], 115200, timeout=0.5) as port:
            reply = ConsoleClient(port).run("login technician 246810")  # the README's PIN
            assert reply["ok"], reply
        assert endpoints["printer"].startswith("127.0.0.1:")
        # our PT side for a merchant's register, the external terminal, the wallet host
        for name in ("zvt", "zvt terminal", "wallet host", "receipt server"):
            assert endpoints[name].startswith("127.0.0.1:"), name
        assert endpoints["display"].startswith("/dev/pts/")
        assert endpoints["tse"].startswith("nbd://127.0.0.1:")
        assert endpoints["acquirer"].startswith("127.0.0.1:") and endpoints["customer panel"].endswith(
            "(480x272)"
        )
        with urllib.request.urlopen(endpoints["browser"], timeout=10) as page:  # the virtual terminal
            assert b'<canvas id="operator"' in page.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, out
    assert "stopping" in out and "Traceback" not in out


def test_make_sim_tse_cloud_signs_in_the_simulated_cloud(tmp_path):
    """``make sim TSE=cloud``: the TSE endpoint is the cloud service on HTTPS, and the
    firmware's status names the cloud as the TSE that signs, ready."""
    proc, lines = _headless("--tse", "cloud", "--out", str(tmp_path))
    try:
        endpoints = dict(line.split(": ", 1) for line in lines if ": " in line)
        assert endpoints["tse"].startswith("https://127.0.0.1:") and endpoints["tse"].endswith("/api/v2")
        from tools.console.client import ConsoleClient

        with serial.Serial(endpoints["console"], 115200, timeout=0.5) as port:
            con = ConsoleClient(port, timeout=60)
            assert con.run("login technician 246810")["ok"]
            tse = con.run("status")["data"]["tse"]
        assert tse["backend"] == "cloud" and tse["state"] == "ready", tse
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, out


def test_make_sim_registers_3_at_one_store_server(tmp_path):
    """``make sim REGISTERS=3``: three registers (CPython, MicroPython, CPython) enrolled at one
    store server; the back office (the README's demo owner) shows all three reporting."""
    import http.cookiejar
    import urllib.parse

    proc, lines = _headless("--registers", "3", "--out", str(tmp_path / "sim"))
    try:
        office = [line for line in lines if line.startswith("backoffice: ")]
        assert office, lines
        url = office[0].split()[1]
        assert "(login inhaber / Kasse-Demo-2026)" in office[0]  # the README's demo owner
        assert [line.split()[2] for line in lines if line.startswith("register ")] == [
            "(micropython):",
            "(cpython):",
        ]
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = browser.open(url + "login", timeout=10).read().decode()
        nonce = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf": nonce, "name": "inhaber", "password": "Kasse-Demo-2026"})
        browser.open(url + "login", data=form.encode(), timeout=10)

        def registers():
            text = browser.open(url + "registers", timeout=10).read().decode()
            rows = re.findall(r'<tr data-serial="([^"]+)">(.*?)</tr>', text, re.S)
            seen = {serial_: row for serial_, row in rows if "cpython" in row or "micropython" in row}
            return seen if len(seen) == 3 else None

        seen = until(registers, 30)
        assert seen and sorted(seen) == ["SMARTECR-SIM-%04d" % n for n in (1, 2, 3)], seen
        assert "micropython" in seen["SMARTECR-SIM-0002"] and "in Ordnung" in seen["SMARTECR-SIM-0003"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, out
    assert "Traceback" not in out


def _group(pgid):
    """The processes of a process group still there (zombies count: nobody reaped them)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                found.append(pid)
    return found


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_ctrl_c_to_the_whole_group_stops_everything_within_5_s(runtime, tmp_path):
    """Ctrl-C in a terminal sends SIGINT to every process of the group: make, the launcher and
    each child it started (firmware, pcscd, emupos) at once."""
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "sim", "HEADLESS=1", "RUNTIME=" + runtime],
        cwd=upy.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        for line in proc.stdout:
            if line.startswith("running"):
                break
        assert len(_group(proc.pid)) >= 4  # make, launcher, firmware, peers
        os.killpg(proc.pid, signal.SIGINT)
        started = time.monotonic()
        out = proc.communicate(timeout=5)[0]
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert "stopping" in out and "Traceback" not in out, out
    deadline = time.monotonic() + 2
    while _group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group(proc.pid) == []  # nothing left behind, not even a defunct pcscd


def test_two_simulators_and_a_system_pcscd_side_by_side(tmp_path):
    """Each simulator has its own pcscd (a private /run/pcscd): one already running on the
    machine, as on a developer's PC with a card reader, and a second simulator do not matter."""
    system = subprocess.Popen(
        ["/usr/sbin/pcscd", "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    sims = []
    try:
        for name in ("a", "b"):
            sims.append(Simulator(str(tmp_path / name), "cpython").start())
        for s in sims:
            assert "card reader" not in s.missing, s.missing
            assert s.operator(op="plu", code="1001")["ok"]
            s.pin("1234")  # typed ahead on the customer screen: the card's CVM list asks for an offline PIN
            s.insert_card()
            assert s.wait_card()
            r = s.operator(op="card")
            s.remove_cards()
            assert r["ok"] and r["state"]["bon"] is None, r
            assert any("Zahlung erfolgt" in m for m in r["state"]["messages"]), r["state"]["messages"]
        assert system.poll() is None  # the system's pcscd was not disturbed
    finally:
        for s in sims:
            s.stop()
        system.terminate()
        system.wait()


def test_a_taken_vpcd_port_is_said_so_and_the_launcher_chooses_others(tmp_path, monkeypatch):
    import socket

    from tools.sim import launch
    from tools.sim.emupos import free_port
    from tools.sim.pcsc import Pcscd, PortTaken

    port = free_port()
    with socket.socket() as other:  # another program listens on the contactless slot's port
        other.bind(("0.0.0.0", port + 1))
        other.listen(1)
        with pytest.raises(PortTaken):
            Pcscd(str(tmp_path / "pcsc"), port).start()
        choices, real = iter([port]), launch.free_port_pair  # its first choice collides
        monkeypatch.setattr(launch, "free_port_pair", lambda: next(choices, None) or real())
        sim = Simulator(str(tmp_path / "sim"), "cpython")
        try:
            sim._start_readers()
            assert "card reader" not in sim.missing and sim.reader_port != port
        finally:
            sim.stop()


def test_operator_ui_commands_and_a_camera_scan(sim, tmp_path):
    from tools.sim.ui import OperatorUi

    image = tmp_path / "ean.png"
    PIL.Image.fromarray(
        zxingcpp.create_barcode("4006381333931", zxingcpp.BarcodeFormat.EAN13).to_image(scale=3)
    ).save(image)
    shown = []
    ui = OperatorUi(sim, out=shown.append)
    assert ui.do("scan %s" % image)
    assert ui.do("2x1002")
    assert ui.do("frobnicate")
    assert any("unknown command 'frobnicate'" in s for s in shown)
    st = state(sim)
    assert [line[1] for line in st["bon"]["lines"]] == ["Kaffee Crema 250 g", "Vollmilch 1 l"]
    assert st["bon"]["lines"][1][2] == 2000
    assert ui.do("cash 20,00")
    # the screen shows the state after the command: the change on the display, the drawer open
    screen = "\n".join(shown[-8:])
    assert "Rückgeld" in screen and "drawer: OPEN" in screen, screen
    assert ui.do("receipt") and "Vielen Dank" in shown[-1]
    assert ui.do("close")
    assert "drawer: closed" in "\n".join(shown[-4:])
    assert ui.do("pull")
    assert "TSE: failed: the card " in "\n".join(shown[-4:])  # removed, or cannot be reached
    assert ui.do("insert")
    assert "TSE: needs time" in "\n".join(shown[-4:])  # back, not yet ready: said so
    assert ui.do("1002")
    assert ui.do("power")  # the open sale is lost with the power: the screen says which and why
    screen = "\n".join(shown[-8:])
    assert "the terminal is back" in screen and "abgebrochen" in screen, screen
    assert ui.do("return 1006") and ui.do("tap visa-credit")  # money back to another card
    assert any("VISA" in s and "Gutschrift erfolgt" in s for s in shown[-12:]), shown[-12:]
    assert not ui.do("quit")


def _acquirer_since(sim, n):
    messages = sim.acquirer.messages()[n:]
    return [(m["mti"], peer8583.decode(bytes.fromhex(m["hex"]), peer_spec)[0]) for m in messages]


@pytest.mark.parametrize("where", ["issuer approved", "host silent"])
def test_power_cut_before_the_card_sale_is_recorded_reverses_the_payment(sim, where):
    """The money was (or may have been) taken, and no receipt records the sale: at boot the
    terminal reverses the authorisation (DE 90 names it), and the journal says so."""
    sim.operator(op="plu", code="1001")
    sim.pin("1234")
    link = sim.insert_card()
    assert sim.wait_card()
    seen = len(sim.acquirer.messages())
    if where == "issuer approved":
        link.hold_at(0xAE, 2)  # the card hangs at its second GENERATE AC, after the issuer approved
    else:
        sim.acquirer.fault("timeout")  # the host has the request and does not answer
    sim.operator_nowait(op="card")
    if where == "issuer approved":
        assert link.held.wait(30)
    else:
        assert until(lambda: [m for m in sim.acquirer.messages()[seen:] if m["mti"] == "0100"], 30)
        sim.acquirer.fault(None)
    sim.power_cut()
    done = until(lambda: [d for m, d in _acquirer_since(sim, seen) if m == "0410"], 20)
    got = _acquirer_since(sim, seen)
    request = [d for m, d in got if m == "0100"][-1]
    reversal = [d for m, d in got if m == "0400"][-1]
    assert reversal["90"][:10] == "0100" + request["11"] and reversal["4"] == request["4"]
    assert "2" not in reversal and "55" not in reversal  # no card data in a reversal
    assert done and done[-1]["39"] == ("00" if where == "issuer approved" else "25")  # 25: nothing booked
    reversed_ = {"stan": request["11"], "how": "reversed"}  # journaled once the 0410 is read
    assert until(lambda: reversed_ in _journal_records(sim, "card_settled"), 10)
    assert all(c.get("trace") != request["11"] for b in _journal_belege(sim) for c in b.get("cards", ()))
    st = state(sim)
    assert st["bon"] is None and any("wird storniert (Trace %s)" % request["11"] in m for m in st["messages"])
    sent = _journal_records(sim, "card_sent")
    assert all("2" not in s["fields"] and "55" not in s["fields"] for s in sent)  # never the PAN


def test_a_power_cut_after_the_card_sale_is_recorded_reverses_nothing(sim):
    _tap_and_pay(sim)
    trace = _journal_belege(sim)[-1]["cards"][0]["trace"]
    seen = len(sim.acquirer.messages())
    sim.power_cut()
    state(sim)
    time.sleep(1)  # the reversal task runs at once at boot: it would have sent by now
    assert [m for m, _ in _acquirer_since(sim, seen)] == []
    assert trace not in [s["stan"] for s in _journal_records(sim, "card_settled")]


def test_payment_close_counts_what_the_z_counts_and_the_host_agrees(sim):
    _tap_and_pay(sim)
    port = serial.Serial(sim.endpoints["console"], 115200, timeout=0.5)
    con = ConsoleClient(port, timeout=60)
    try:
        assert con.run("login technician 246810")["ok"]
        x = con.run("report x")
        close = con.run("payment close")
        assert close["ok"], close
        again = con.run("payment close")  # a new batch: nothing in it
    finally:
        con.run("logout")
        port.close()
    cards = x["data"]["totals"]["cards"]
    assert cards and close["data"]["totals"]["schemes"] == cards  # the Z's card totals, by scheme
    data = close["data"]
    assert data["code"] == "00" and data["host"]["debits"] == data["totals"]["debits"]
    assert "Summen stimmen ueberein" in close["text"]
    assert again["data"]["totals"]["schemes"] == {} and again["data"]["code"] == "00"
    [done, empty] = _journal_records(sim, "card_close")[-2:]
    assert done["totals"]["debits"][0] >= 1 and empty["totals"]["debits"] == [0, 0]


def test_a_return_is_paid_back_to_the_card(sim):
    r = sim.operator(op="return", code="1006")
    assert r["ok"] and r["state"]["bon"]["total"] < 0, r
    refund = -r["state"]["bon"]["total"]
    sim.tap_card()
    assert sim.wait_card()
    seen = len(sim.acquirer.messages())
    r = sim.operator(op="card")
    sim.remove_cards()
    assert r["ok"] and r["state"]["bon"] is None, r["state"]["messages"]
    assert any(m.endswith("Gutschrift erfolgt") for m in r["state"]["messages"])
    beleg = _journal_belege(sim)[-1]
    assert beleg["payments"] == [{"typ": "Kreditkarte", "name": "Mastercard", "amount": -refund}]
    [card] = beleg["cards"]
    assert card["amount"] == -refund and card["cryptogram_type"] == "AAC" and card["trace"]
    (m1, request), (m2, answer) = _acquirer_since(sim, seen)
    assert (m1, request["3"], request["4"]) == ("0200", "200000", "%012d" % refund)
    assert (m2, answer["39"]) == ("0210", "00")
    assert sim.acquirer.totals("SECR0001")["credits"][0] >= 1  # the host booked the refund


def test_a_co_badged_card_lets_the_customer_choose_the_brand(sim):
    """girocard and Maestro on one chip: the customer display offers both, the customer picks
    the second with the PIN pad's "2", then types the PIN; the receipt names Maestro."""
    sim.operator(op="plu", code="1002")
    sim.pin("2")  # the application: Maestro
    sim.pin("0000")  # the PIN (online)
    sim.insert_card("girocard-maestro")
    assert sim.wait_card()
    r = sim.operator(op="card")
    sim.remove_cards()
    assert r["ok"] and r["state"]["bon"] is None, r["state"]["messages"]
    assert any(m == "Karte: Anwendung wählen (girocard, Maestro)" for m in r["state"]["messages"])
    [card] = _journal_belege(sim)[-1]["cards"]
    assert card["aid"] == "A0000000043060" and card["scheme"] == "maestro" and card["result"] == "approved"
    assert _journal_belege(sim)[-1]["payments"][0]["typ"] == "ECKarte"  # Maestro: a debit card
