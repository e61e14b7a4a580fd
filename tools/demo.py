"""``make demo`` / ``python -m tools.demo [--runtime cpython|micropython] [--tse card|cloud|shared]
[--registers N] [--out out/demo]``:
a scripted shift (tools/workloads/demo_shift.py) on the chosen runtime against a fresh emulated TSE card,
printing into emupos (the printer emulator), then every output checked with the audit tools.

What emupos rendered is saved as ``receipts/NNNN.png`` and ``NNNN.txt`` next to the raw
``NNNN.escpos``.

Checks: the TSE export verifies (every signature, no counter gap), and so does the incremental
export made before the card's store was freed; every receipt QR code verifies, belongs to the
export, and is read back from the printed picture with zxing-cpp; receipts without TSE data
name their failure; the DSFinV-K export passes the checker; the ELSTER notification passes its
check; the journal chain is intact; the acquirer agrees with the card terminal's end of day.
Exit status 1 if anything fails.

The shift's card payments (a virtual card per payment, its PINs typed on the keypad, faults on
the acquirer simulator: ``CardDesk``) leave ``acquirer.jsonl`` (the host's messages),
``slips/NNNN-haendler`` and ``NNNN-kunde`` (.png, .txt as emupos printed them) and a ``cards``
row per payment in ``summary.json``.

Who signs (``--tse``, ``make demo TSE=...``): ``card`` (the emulated card, pulled in mid-shift),
``cloud`` (the simulated cloud TSE on HTTPS, the internet cut in mid-shift instead), ``shared``
with ``--registers N`` (N registers, the runtimes mixed, on one emulated card through the
store's TSE service; each register's link to the service pulled in mid-shift). Each
``summary.json`` names the backend (``tse_backend``). With several registers each has its
outputs in ``register-N/``, and the store's own are checked too: ``tse-export.tar`` (the shared
TSE's whole export: every register's client id), each register's Stamm_TSE naming that TSE, and
``elster-146a.xml`` (the store's notification: the TSE once, alike, with each of its registers).
"""

import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import traceback

import PIL.Image
import zxingcpp

from firmware.journal import Journal
from tools import upy
from tools.audit.dsfinvk import check_dsfinvk
from tools.audit.elster import check_elster
from tools.audit.journal import verify_journal
from tools.audit.tse import verify_qr, verify_tar
from tools.receipts.server import ReceiptServer
from tools.sim.acquirer import AcquirerSim
from tools.sim.card import CardLink
from tools.sim.cloudtse import CloudTseSim
from tools.sim.emupos import Emupos
from tools.sim.emv_card import EmvCard, SimCa
from tools.sim.launch import HEAP, free_port, free_port_pair
from tools.sim.link import Link
from tools.sim.phone import Phone
from tools.sim.sharedtse import SharedTseSim
from tools.sim.tse.server import CardServer
from tools.sim.wallet import WalletHostSim
from tools.sim.zvt import ZvtTerminalSim


def printed_codes(path):
    with open(path, "rb") as f:
        image = PIL.Image.open(io.BytesIO(f.read()))
    return [c.text for c in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def check(out):
    problems = []
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    report = verify_tar(os.path.join(out, "tse-export.tar"))
    problems += ["tse-export.tar: " + p for p in report.problems]
    finishes = {m.number: m for _, m in report.logs if m.text(0) == "FinishTransaction"}
    for r in summary["receipts"]:
        if r["qr"]:
            ok, qr = verify_qr(r["qr"])
            if not ok:
                problems.append("receipt %d: QR code does not verify" % r["bon_nr"])
            elif qr.number not in finishes or finishes[qr.number].fields[2].decode() != qr.process_data:
                problems.append("receipt %d: QR code not in the TSE export" % r["bon_nr"])
        elif not r["tse_failure"]:
            problems.append("receipt %d: neither signed nor a TSE failure" % r["bon_nr"])
        base = os.path.join(out, "receipts", "%04d" % r["bon_nr"])
        missing = [ext for ext in (".txt", ".escpos", ".png") if not os.path.exists(base + ext)]
        if missing:
            problems.append("receipt %d: %s missing" % (r["bon_nr"], ", ".join(missing)))
        elif printed_codes(base + ".png") != ([r["qr"]] if r["qr"] else []):
            problems.append("receipt %d: the printed QR code is not the TSE's" % r["bon_nr"])
    problems += ["dsfinvk.zip: " + p for p in check_dsfinvk(os.path.join(out, "dsfinvk.zip")).problems]
    problems += ["elster-146a.xml: " + p for p in check_elster(os.path.join(out, "elster-146a.xml"))]
    archive = os.path.join(out, "tse-exports", os.path.basename(summary["tse_archive"]["file"]))
    problems += ["tse-exports: " + p for p in verify_tar(archive).problems]
    if not summary["journal_ok"]:
        problems += ["journal: " + p for p in summary["journal_problems"]]
    problems += ["journal: " + p for p in verify_journal(os.path.join(out, "journal")).problems]
    problems += check_other_payments(out, summary)
    problems += check_digital(out, summary)
    if summary["card_close"] is not None and summary["card_close"]["code"] != "00":
        problems.append("card end of day: the acquirer's totals differ (%s)" % summary["card_close"]["code"])
    return summary, problems


# how each of the shift's other payments must come out: ZAHLART_TYP, or refused with these words
OTHER_OUTCOMES = {
    "external ZVT terminal": "Kreditkarte",
    "external ZVT terminal, result lost, Repeat Receipt": "Kreditkarte",
    "wallet token read by the scan engine": "ElZahlungsdienstleister",
    "the same wallet token again: refused": "schon verwendet",
    "a declined wallet token": "insufficient funds",
    "EMVCo consumer-presented code": "Kreditkarte",
    "our EMVCo code on the customer screen, paid from the phone": "ElZahlungsdienstleister",
    "GiroCode: a SEPA transfer awaited": "Unbar",
}


def check_other_payments(out, summary):
    """The ZVT and QR payments came out as they must, and our PT side paid the host's register."""
    problems = []
    rows = {r["what"]: r for r in summary.get("other_payments", [])}
    for what, want in OTHER_OUTCOMES.items():
        row = rows.get(what)
        if row is None:
            problems.append("other payments: %s did not run" % what)
        elif row.get("typ", "") != want and want not in row.get("refused", "x"):
            problems.append("other payments: %s came out %s" % (what, row.get("typ") or row.get("refused")))
    register = os.path.join(out, "zvt-register.json")
    if not os.path.exists(register):
        return problems + ["zvt: the external register's payment did not run"]
    with open(register) as f:
        paid = json.load(f)
    ours = summary.get("external_register") or {}
    if not paid.get("ok") or not ours.get("ok"):
        problems.append("zvt: the external register's payment failed: %s" % paid.get("text"))
    elif paid["status"]["receipt_no"] != ours["receipt_no"] or paid["status"]["amount"] != 1250:
        problems.append("zvt: the register's record and ours differ")
    return problems


def check_digital(out, summary):
    """The digital receipts: each uploaded, its URL opens it (decrypted here with the URL's key)
    with the TSE data of the receipt as signed, the loyalty one redeemed points, and the receipt
    server's log holds no key."""
    from tools.receipts.render import fetch

    path = os.path.join(out, "digital.json")
    if not os.path.exists(path):
        return ["digital.json missing"]
    with open(path) as f:
        rows = json.load(f)
    problems = [] if len(rows) == 2 else ["digital.json: %d digital receipts, not 2" % len(rows)]
    by_nr = {r["bon_nr"]: r for r in summary["receipts"]}
    with open(os.path.join(out, "receipt-server.log")) as f:
        log = f.read()
    for row in rows:
        what = "digital receipt %d" % row["bon_nr"]
        if not row.get("uploaded"):
            problems.append(what + ": no upload confirmed")
            continue
        try:
            doc = fetch(row["url"])
        except (OSError, ValueError) as e:
            problems.append("%s: %s" % (what, e))
            continue
        if doc["bon"]["bon_nr"] != row["bon_nr"] or doc["qr"] != by_nr[row["bon_nr"]]["qr"]:
            problems.append(what + ": not the receipt as signed")
        if by_nr[row["bon_nr"]].get("issued") != "digital":
            problems.append(what + ": the summary does not say digital")
        if row["url"].split("#", 1)[1] in log:
            problems.append(what + ": its key is in the receipt server's log")
    if not any((r.get("kunde") or {}).get("redeemed") for r in rows):
        problems.append("digital receipts: none to the loyalty customer with points redeemed")
    return problems


def save_printed(printer, out, count):
    """What the printer emulator rendered, as receipts/NNNN.png and NNNN.txt, and the card slips
    as slips/NNNN-haendler and NNNN-kunde (.png, .txt)."""
    os.makedirs(os.path.join(out, "slips"), exist_ok=True)
    for receipt in printer.wait_receipts(count):
        text = printer.text(receipt["id"])
        if "Beleg# :" in text:  # an external ZVT terminal's own receipt, as it sent it
            number = int(text.split("Beleg# :", 1)[1].split()[0])
            copy = "kunde" if "KUNDENBELEG" in text else "haendler"
            base = os.path.join(out, "slips", "zvt-%04d-%s" % (number, copy))
        elif ": Überweisung erwartet" in text:
            number = int(text.split(": Überweisung erwartet", 1)[0].rsplit("Bon ", 1)[1])
            base = os.path.join(out, "slips", "%04d-girocode" % number)
        elif "B E L E G -" in text:
            number = int(text.split("\nBeleg-Nr.", 1)[1].split()[0])
            copy = "kunde" if "K U N D E N" in text else "haendler"
            base = os.path.join(out, "slips", "%04d-%s" % (number, copy))
        else:
            number = int(text.split("\nBon ", 1)[1].split()[0])
            base = os.path.join(out, "receipts", "%04d" % number)
        with open(base + ".png", "wb") as f:
            f.write(printer.image(receipt["id"]))
        with open(base + ".txt", "w") as f:
            f.write(text)


class CardDesk:
    """The customers' side of the shift's card payments: the virtual cards (tools/sim/emv_card.py
    under the simulator's test CA) put into the firmware's vpcd readers, PINs typed on its
    keypad PIN pad, faults set on the acquirer simulator, as the workload asks (a ``card ...``
    line on its stdout, answered on its stdin once the card is in)."""

    def __init__(self, out, acquirer, serial=None, tse_fault=None):
        self.out = out
        self.serial = serial or SERIAL
        self.tse_fault = tse_fault  # the TSE behind the network gone (True) or back: TseRoom.fault
        self.zvt_terminal = ZvtTerminalSim(os.path.join(out, "zvt-terminal")).start()
        self.wallet = WalletHostSim(os.path.join(out, "wallet")).start()
        self.phone = Phone(self.wallet.port)
        self.receipts = ReceiptServer(
            os.path.join(out, "receipt-server"), tokens={self.serial: RECEIPT_TOKEN}
        ).start()
        self.token = None  # the last approved wallet token: shown again, it is a replay
        self.zvt_host, self.zvt_port = "127.0.0.1", free_port()  # our PT side, as the register dials it
        self.register = None
        self.ca = SimCa.make()
        self.capk = os.path.join(out, "capk.json")
        with open(self.capk, "w") as f:
            json.dump(self.ca.store(), f)
        self.acquirer = acquirer
        self.reader_port, self.pinpad_port = free_port_pair(), free_port()
        self.link = None
        self.keypad = None

    def options(self, capk=None):
        """The workload's card options (``capk``: where it finds the CA keys, if not here)."""
        ports = ["--reader", str(self.reader_port), "--pinpad", str(self.pinpad_port)]
        ports += ["--zvt-terminal", str(self.zvt_terminal.port), "--wallet", str(self.wallet.port)]
        ports += ["--zvt", str(self.zvt_port), "--receipts", str(self.receipts.port)]
        return ports + ["--acquirer", str(self.acquirer.port), "--capk", capk or self.capk]

    def other(self, line):
        """``zvt <fault>``, ``qr <kind> <fault>``, ``show <code>``, ``ecr <cents> <profile>``:
        the answer to send (or None)."""
        words = line.split()
        if words[0] == "zvt":
            self.zvt_terminal.fault(None if words[1] == "-" else words[1])
            return "in\n"
        if words[0] == "qr":
            if words[1] == "cpm":
                return self.phone.cpm("wallet") + "\n"
            if words[1] == "replay":
                return self.token + "\n"
            token = self.phone.token(declined=words[2] == "declined")
            if words[2] != "declined":
                self.token = token
            return token + "\n"
        if words[0] == "show":  # the phone scans the code and pays it
            threading.Thread(target=self.phone.pay, args=(line.split(" ", 1)[1].strip(),)).start()
            return None
        if words[0] == "ecr":  # a card on our reader, and the register pays through our PT side
            self.serve("card %s contactless - -" % words[2])
            self.register = threading.Thread(target=self._register, args=(int(words[1]),))
            self.register.start()
            return None
        return None

    def _register(self, cents):
        import asyncio

        from tools import zvt

        reply = asyncio.run(zvt.run(self.zvt_host, self.zvt_port, "000000", "pay", cents, out=io.StringIO()))
        with open(os.path.join(self.out, "zvt-register.json"), "w") as f:
            json.dump(reply, f, ensure_ascii=False)

    def serve(self, line):
        """One ``card <profile> <chip|contactless> <pins|-> <fault|->`` request."""
        _, profile, mode, pins, fault = line.split()
        self.remove()
        self.acquirer.fault(None if fault == "-" else fault)
        contactless = mode == "contactless"
        card = EmvCard.load(
            str(upy.ROOT / "data" / "cards" / (profile + ".json")), self.ca, contactless=contactless
        )
        self.link = CardLink(card, self.reader_port + (1 if contactless else 0)).insert()
        if pins != "-":
            if self.keypad is None:
                self.keypad = socket.create_connection(("127.0.0.1", self.pinpad_port), timeout=5)
            for pin in pins.split(","):
                self.keypad.sendall(pin.encode() + b"\n")

    def remove(self):
        if self.link is not None:
            self.link.remove()
            self.link = None
        self.acquirer.fault(None)

    def close(self):
        self.remove()
        if self.register is not None:
            self.register.join(60)
        if self.keypad is not None:
            self.keypad.close()
        self.zvt_terminal.stop()
        self.wallet.stop()
        log = os.path.join(self.out, "receipt-server", "requests.log")
        if os.path.exists(log):  # what the receipt server was asked: kept with the outputs
            shutil.copy(log, os.path.join(self.out, "receipt-server.log"))

    def stop_receipts(self):
        """The receipt server stays until the digital receipts were checked through it."""
        self.receipts.stop()


def converse(lines, answer, desk):
    """The workload's requests on ``lines`` served (a card in: ``answer("in\\n")``); returns
    the other lines it printed."""
    printed = []
    for line in lines:
        if line.startswith("card "):
            desk.serve(line)
            answer("in\n")
        elif line.split(" ", 1)[0] in ("zvt", "qr", "show", "ecr"):
            reply = desk.other(line)
            if reply is not None:
                answer(reply)
        elif line.startswith("tse "):  # tse down | tse up: a TSE behind the network
            desk.tse_fault(line.split()[1] == "down")
            answer("ok\n")
        elif line.strip() == "done":
            desk.remove()
        else:
            printed.append(line)
    return "".join(printed)


def run_shift(runtime, out, tse, printer, desk):
    """The workload on ``runtime`` on this host (``tse``: its TSE options); returns (exit
    status, its stdout, its stderr)."""
    argv = [str(upy.ROOT / "tools" / "workloads" / "demo_shift.py")] + tse
    argv += ["--out", out, "--printer", "127.0.0.1:%d" % printer.printer_port] + desk.options()
    if runtime == "micropython":
        argv, env = upy.command(argv, HEAP), upy.env()  # the simulator's heap: a board with PSRAM
    else:
        argv, env = [sys.executable] + argv, upy.env({"PYTHONPATH": str(upy.ROOT)})
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            argv, cwd=upy.ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True
        )

        def answer(text):
            proc.stdin.write(text)
            proc.stdin.flush()

        printed = converse(proc.stdout, answer, desk)
        proc.wait()
        err.seek(0)
        return proc.returncode, printed, err.read()


SERIAL, RECEIPT_TOKEN = "SMARTECR-SIM-0001", "demo-receipt-token"  # tools/workloads/demo_shift.py
GUEST_OUT = "demo"  # the guest writes its outputs to this folder of its disk (/mnt/data/demo)


def run_shift_in_guest(runtime, out, card, printer, desk):
    """The workload on ``runtime`` in the QEMU guest (tools/qemu): the card mounted by the
    guest kernel from the NBD export, the host's peers at 10.0.2.2, the card readers and the PIN
    pad forwarded into the guest, the conversation on the guest's console line; its outputs
    copied off the guest's disk into ``out`` when it has powered off."""
    from tools.qemu.machine import Machine

    args = ["-m", "tools.workloads.demo_shift", "--tse-mount", "/mnt/tse", "--out", "/mnt/data/" + GUEST_OUT]
    args += ["--control", str(card.control_port), "--peers", "10.0.2.2", "--listen", "0.0.0.0"]
    args += ["--printer", "10.0.2.2:%d" % printer.printer_port]
    args += desk.options("/mnt/data/capk.json")  # the same ports, seen from the guest
    forwards = {
        port: port for port in (desk.reader_port, desk.reader_port + 1, desk.pinpad_port, desk.zvt_port)
    }
    files = {"capk.json": desk.capk}
    machine = Machine(
        os.path.join(out, "qemu"), runtime, card.nbd.address, {}, forwards=forwards, files=files, run=args
    )
    printed = []

    def talk(line):
        line.settimeout(600)  # the shift in the guest talks only when it asks for a card
        with line.makefile("r", newline="\n") as lines:
            printed.append(converse(lines, lambda text: line.sendall(text.encode()), desk))

    status = machine.run_job(talk)
    log = "\n".join(machine.lines[-60:])
    if status == 0:
        machine.fetch(GUEST_OUT, out)
    return (1 if status is None else status), "".join(printed), log


class TseRoom:
    """Where the shift's signatures come from: ``card`` (a fresh emulated card on NBD, pulled
    in mid-shift through its control port), ``cloud`` (the simulated cloud TSE on HTTPS, the
    internet cut in mid-shift: every register its own TSS), ``shared`` (one emulated card behind
    the store's TSE service, tools/sim/sharedtse.py; each register's own link to the service,
    tools/sim/link.py, pulled in mid-shift while the others go on signing)."""

    def __init__(self, backend, out):
        self.backend = backend
        self.card = self.cloud = self.shared = None
        self.links = {}
        if backend == "card":
            self.card = CardServer(os.path.join(out, "tse-card"), control_port=0).start()
        elif backend == "cloud":
            self.cloud = CloudTseSim(os.path.join(out, "cloud-tse")).start()
        else:
            self.shared = SharedTseSim(os.path.join(out, "shared-tse")).start()

    def options(self, out, serial):
        """The workload's TSE options for register ``serial`` (its outputs in ``out``)."""
        if self.card is not None:
            return ["--nbd", "127.0.0.1:%d" % self.card.nbd.port, "--control", str(self.card.control_port)]
        if self.cloud is not None:
            tse = self.cloud.settings()
            tse["cloud"].update(host="127.0.0.1", ca=self.cloud.ca)
        else:
            link = self.links[serial] = Link(self.shared.port).start()
            tse = self.shared.enrol(serial)
            tse["cloud"].update(host="127.0.0.1", port=link.port, ca=self.shared.ca)
        path = os.path.join(out, "tse-config.json")  # a firmware configuration: its tse section
        with open(path, "w") as f:
            json.dump({"tse": tse}, f)
        return ["--tse-config", path, "--serial", serial]

    def fault(self, serial):
        """Register ``serial``'s ``tse_fault(down)``: the internet cut, or its link pulled."""
        if self.cloud is not None:
            return lambda down: self.cloud.api.faults.update(outage=down)
        if self.shared is not None:
            link = self.links[serial]
            return lambda down: link.pull() if down else link.plug()
        return None

    def close(self):
        for link in self.links.values():
            link.stop()
        if self.cloud is not None:
            self.cloud.stop()
        if self.shared is not None:
            self.shared.stop()
        if self.card is not None:
            self.card.close()


def run_register(runtime, out, serial, room, tse, target):
    """One register's shift with its own peers (acquirer, card desk, printer; ``tse``: its TSE
    options); returns (exit status, its stdout, its stderr, the desk: its receipt server stays
    for the checks)."""
    acquirer = AcquirerSim(out).start()  # its message log: OUT/acquirer.jsonl
    desk = CardDesk(out, acquirer, serial, room.fault(serial))
    try:
        printer = Emupos(os.path.join(out, "emupos")).start()
        try:
            if target == "qemu":
                status, stdout, stderr = run_shift_in_guest(runtime, out, room.card, printer, desk)
            else:
                status, stdout, stderr = run_shift(runtime, out, tse, printer, desk)
            if status == 0:
                with open(os.path.join(out, "summary.json")) as f:
                    done = json.load(f)
                slips = sum(2 for c in done["cards"] if not c.get("paid_instead"))
                for row in done.get("other_payments", []):
                    if not row.get("paid_instead"):
                        slips += 1 if row["how"] == "transfer" else 2
                save_printed(printer, out, len(done["receipts"]) + slips)
        finally:
            printer.stop()
    finally:
        desk.close()
        acquirer.stop()
    return status, stdout, stderr, desk


def report(summary, out, title):
    """What one register's shift came to, in a few lines."""
    kinds = {}
    for r in summary["receipts"]:
        kinds[r["bon_typ"]] = kinds.get(r["bon_typ"], 0) + 1
    gone = {"card": "card pulled", "cloud": "internet down", "shared": "link to the service pulled"}
    print(
        "%s on %s (%s), signed by the %s TSE: %d receipts %s, %d without TSE (%s), Z %d, difference %d cents"
        % (
            title,
            summary["runtime"],
            summary["machine"],
            summary["tse_backend"],
            len(summary["receipts"]),
            json.dumps(kinds),
            sum(1 for r in summary["receipts"] if not r["qr"]),
            gone[summary["tse_backend"]],
            summary["closing"]["z_nr"],
            summary["closing"]["difference"],
        )
    )
    cards = summary["cards"]
    print(
        "card payments: %d (%d approved, %d declined), end of day: %s"
        % (
            len(cards),
            sum(1 for c in cards if c.get("result") == "approved"),
            sum(1 for c in cards if c.get("result") != "approved"),
            "the acquirer counted the same" if summary["card_close"]["code"] == "00" else "totals differ",
        )
    )
    others = summary.get("other_payments", [])
    print(
        "other payments: %d (%s); our PT side paid the ZVT register: %s"
        % (
            len(others),
            ", ".join("%s %s" % (r["how"], r.get("typ") or "refused") for r in others),
            "yes" if (summary.get("external_register") or {}).get("ok") else "no",
        )
    )
    print(
        "outputs in %s: summary.json, receipts/ (NNNN.png and .txt as printed by emupos, NNNN.escpos), "
        "slips/, acquirer.jsonl, zvt-register.json, zvt-terminal/, wallet/, digital.json, "
        "receipt-server.log, z0001.txt, tse-export.tar, dsfinvk.zip, elster-146a.xml, tse-exports/, "
        "journal/" % out
    )


def store_notification(outs, master_path):
    """The store's § 146a notification: every register, each naming the TSE it signed with (the
    shared one: one TSE, listed alike with each of its registers, put into service when the
    first register met it)."""
    from firmware import VERSION
    from firmware.config import DEFAULTS
    from firmware.exports.elster import notification, system_fields
    from firmware.register.master import load_master
    from hal.clock import SystemClock

    found = []
    for out in outs:
        with open(os.path.join(out, "summary.json")) as f:
            serial = json.load(f)["serial"]
        journal = Journal(os.path.join(out, "journal"), SystemClock())
        try:
            first_use = next(journal.records())["t"]
            tse = next(journal.records(kind="tse"))
        finally:
            journal.close()
        master = load_master(master_path)
        master.register["serial"] = serial
        found.append((master, tse, first_use))
    since = {}
    for _, tse, _ in found:
        serial = tse["data"]["serial"]
        since[serial] = min(since.get(serial, tse["t"]), tse["t"])
    systems = [
        system_fields(m, tse["data"], since[tse["data"]["serial"]], DEFAULTS["elster"], VERSION, first)
        for m, tse, first in found
    ]
    return notification(systems)


def check_store(out, outs, serials):
    """The store's checks over its registers sharing one TSE: the TSE's whole export verifies
    and holds every register's client id, each register's Stamm_TSE names that TSE, and the
    store's notification lists the TSE once with its registers."""
    from tools.audit.dsfinvk import Report, parse_tables, read_export, tables_of

    problems = []
    report = verify_tar(os.path.join(out, "tse-export.tar"))
    problems += ["store tse-export.tar: " + p for p in report.problems]
    names = [name for name, m in report.logs if m.kind == "transaction"]
    clients = {n.split("_Client-")[1].split(".")[0] for n in names}
    if clients != set(serials):
        problems.append("store tse-export.tar: client ids %s, not %s" % (sorted(clients), serials))
    keys = set()
    for reg in outs:
        files = read_export(os.path.join(reg, "dsfinvk.zip"))
        stamm = parse_tables(Report(), tables_of(files["index.xml"]), files)["tse.csv"]
        keys |= {row["TSE_SERIAL"] for row in stamm}
    if len(keys) != 1:
        problems.append("Stamm_TSE: the registers name %d TSEs, not the one they share" % len(keys))
    path = os.path.join(out, "elster-146a.xml")
    problems += ["store elster-146a.xml: " + p for p in check_elster(path)]
    with open(path) as f:
        text = f.read()
    listed = [text.count("<SeriennummerAS>%s<" % s) for s in serials]
    named = text.count("<SeriennummerTSE>%s<" % min(keys)) if keys else 0
    if listed != [1] * len(serials) or named != len(serials):
        problems.append("store elster-146a.xml: not each register once with the shared TSE")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython")
    parser.add_argument("--out", default=str(upy.ROOT / "out" / "demo"))
    parser.add_argument("--target", choices=("host", "qemu"), default="host", help="qemu: in the arm64 guest")
    parser.add_argument("--tse", choices=("card", "cloud", "shared"), default="card", help="who signs")
    parser.add_argument("--registers", type=int, default=1, help="registers of the store (TSE=shared)")
    args = parser.parse_args(argv)
    if args.registers < 1 or args.registers > 1 and args.tse != "shared":
        parser.error("several registers share one TSE: --tse shared --registers N")
    if args.target == "qemu" and args.tse != "card":
        parser.error("the QEMU guest's shift signs with its card (--tse card)")
    out = os.path.abspath(args.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    other = {"cpython": "micropython", "micropython": "cpython"}[args.runtime]
    registers = [(out, SERIAL, args.runtime)]
    if args.registers > 1:  # the runtimes mixed: the first one's, the other's, ...
        registers = [
            (os.path.join(out, "register-%d" % n), "SMARTECR-SIM-%04d" % n, args.runtime if n % 2 else other)
            for n in range(1, args.registers + 1)
        ]
    room = TseRoom(args.tse, out)
    results, desks = {}, []

    def one(where, serial, runtime, tse):
        try:
            results[where] = run_register(runtime, where, serial, room, tse, args.target)
        except Exception:  # said with the others' results
            results[where] = (1, "", traceback.format_exc(), None)

    try:
        for where, _, _ in registers:
            os.makedirs(where, exist_ok=True)
        threads = [
            threading.Thread(target=one, args=(where, serial, runtime, room.options(where, serial)))
            for where, serial, runtime in registers
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        desks = [results[where][3] for where, _, _ in registers if results[where][3] is not None]
        if room.shared is not None and all(results[w][0] == 0 for w, _, _ in registers):
            room.shared.export(os.path.join(out, "tse-export.tar"))
    finally:
        room.close()
    try:
        problems = []
        for where, serial, runtime in registers:
            status, stdout, stderr, _ = results[where]
            if status != 0:
                sys.stderr.write(stdout + stderr)
                print("demo: the shift of %s failed on %s" % (serial, runtime), file=sys.stderr)
                return 1
        for where, serial, _ in registers:
            summary, found = check(where)
            report(summary, where, "demo" if len(registers) == 1 else "register " + serial)
            problems += found if len(registers) == 1 else ["%s: %s" % (serial, p) for p in found]
        if len(registers) > 1:
            outs = [where for where, _, _ in registers]
            with open(os.path.join(out, "elster-146a.xml"), "w") as f:
                f.write(store_notification(outs, str(upy.ROOT / "data" / "demo-master.json")))
            problems += check_store(out, outs, [serial for _, serial, _ in registers])
            print(
                "store: %d registers on one shared TSE; outputs in %s: register-N/, tse-export.tar "
                "(the TSE's whole export), elster-146a.xml (the store's notification)" % (len(registers), out)
            )
    finally:
        for desk in desks:
            desk.stop_receipts()
    for p in problems:
        print("demo: " + p, file=sys.stderr)
    print(
        "demo: checked with the audit tools: %s" % ("ok" if not problems else "%d problems" % len(problems))
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
