"""``make demo`` / ``python -m tools.demo [--runtime cpython|micropython] [--out out/demo]``:
a scripted shift (tools/workloads/demo_shift.py) on the chosen runtime against a fresh emulated TSE card,
printing into emupos (the printer emulator), then every output checked with the audit tools.

What emupos rendered is saved as ``receipts/NNNN.png`` and ``NNNN.txt`` next to the raw
``NNNN.escpos``.

Checks: the TSE export verifies (every signature, no counter gap), and so does the incremental
export made before the card's store was freed; every receipt QR code verifies, belongs to the
export, and is read back from the printed picture with zxing-cpp; receipts without TSE data
name their failure; the DSFinV-K export passes the checker; the ELSTER notification passes its
check; the journal chain is intact. Exit status 1 if anything fails.
"""

import argparse
import io
import json
import os
import shutil
import subprocess
import sys

import PIL.Image
import zxingcpp

from tools import upy
from tools.audit.dsfinvk import check_dsfinvk
from tools.audit.elster import check_elster
from tools.audit.journal import verify_journal
from tools.audit.tse import verify_qr, verify_tar
from tools.sim.emupos import Emupos
from tools.sim.tse.server import CardServer


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
    freed = verify_tar(summary["tse_freed"]["file"])
    problems += ["tse-exports: " + p for p in freed.problems]
    if not summary["journal_ok"]:
        problems += ["journal: " + p for p in summary["journal_problems"]]
    problems += ["journal: " + p for p in verify_journal(os.path.join(out, "journal")).problems]
    return summary, problems


def save_printed(printer, out, count):
    """What the printer emulator rendered, as receipts/NNNN.png and NNNN.txt."""
    for receipt in printer.wait_receipts(count):
        text = printer.text(receipt["id"])
        number = int(text.split("\nBon ", 1)[1].split()[0])
        base = os.path.join(out, "receipts", "%04d" % number)
        with open(base + ".png", "wb") as f:
            f.write(printer.image(receipt["id"]))
        with open(base + ".txt", "w") as f:
            f.write(text)


def run_shift(runtime, out, card, printer):
    argv = [
        str(upy.ROOT / "tools" / "workloads" / "demo_shift.py"),
        "--nbd",
        "127.0.0.1:%d" % card.nbd.port,
        "--control",
        str(card.control_port),
        "--out",
        out,
        "--printer",
        "127.0.0.1:%d" % printer.printer_port,
    ]
    if runtime == "micropython":
        return upy.run(argv, capture_output=True, text=True)
    return subprocess.run(
        [sys.executable] + argv,
        cwd=upy.ROOT,
        env=upy.env({"PYTHONPATH": str(upy.ROOT)}),
        capture_output=True,
        text=True,
        check=False,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython")
    parser.add_argument("--out", default=str(upy.ROOT / "out" / "demo"))
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    card = CardServer(os.path.join(out, "tse-card"), control_port=0).start()
    try:
        printer = Emupos(os.path.join(out, "emupos")).start()
        try:
            proc = run_shift(args.runtime, out, card, printer)
            if proc.returncode == 0:
                with open(os.path.join(out, "summary.json")) as f:
                    save_printed(printer, out, len(json.load(f)["receipts"]))
        finally:
            printer.stop()
    finally:
        card.close()
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        print("demo: the shift failed on %s" % args.runtime, file=sys.stderr)
        return 1
    summary, problems = check(out)
    kinds = {}
    for r in summary["receipts"]:
        kinds[r["bon_typ"]] = kinds.get(r["bon_typ"], 0) + 1
    print(
        "demo on %s: %d receipts %s, %d without TSE (card pulled), Z %d, difference %d cents"
        % (
            args.runtime,
            len(summary["receipts"]),
            json.dumps(kinds),
            sum(1 for r in summary["receipts"] if not r["qr"]),
            summary["closing"]["z_nr"],
            summary["closing"]["difference"],
        )
    )
    print(
        "outputs in %s: summary.json, receipts/ (NNNN.png and .txt as printed by emupos, NNNN.escpos), "
        "z0001.txt, tse-export.tar, dsfinvk.zip, elster-146a.xml, tse-exports/, journal/" % out
    )
    for p in problems:
        print("demo: " + p, file=sys.stderr)
    print(
        "demo: checked with the audit tools: %s" % ("ok" if not problems else "%d problems" % len(problems))
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
