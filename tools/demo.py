"""``make demo`` / ``python -m tools.demo [--runtime cpython|micropython] [--out out/demo]``:
a scripted shift (firmware/demo.py) on the chosen runtime against a fresh emulated TSE card,
then every output checked with the independent audit tools.

Checks: the TSE export verifies (every signature, no counter gap); every receipt QR code
verifies and belongs to the export; receipts without TSE data name their failure; the journal
chain is intact. Exit status 1 if anything fails.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

from tools import upy
from tools.audit.tse import verify_qr, verify_tar
from tools.sim.tse.server import CardServer


def check(out):
    problems = []
    summary = json.load(open(os.path.join(out, "summary.json")))
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
        for ext in (".txt", ".escpos"):
            if not os.path.exists(os.path.join(out, "receipts", "%04d%s" % (r["bon_nr"], ext))):
                problems.append("receipt %d: %s missing" % (r["bon_nr"], ext))
    if not summary["journal_ok"]:
        problems += ["journal: " + p for p in summary["journal_problems"]]
    return summary, problems


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
        argv = [
            str(upy.ROOT / "firmware" / "demo.py"),
            "--nbd",
            "127.0.0.1:%d" % card.nbd.port,
            "--control",
            str(card.control_port),
            "--out",
            out,
        ]
        if args.runtime == "micropython":
            proc = upy.run(argv, capture_output=True, text=True)
        else:
            proc = subprocess.run(
                [sys.executable] + argv,
                cwd=upy.ROOT,
                env=upy.env({"PYTHONPATH": str(upy.ROOT)}),
                capture_output=True,
                text=True,
                check=False,
            )
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
    print("outputs in %s: summary.json, receipts/, z0001.txt, tse-export.tar, journal/" % out)
    for p in problems:
        print("demo: " + p, file=sys.stderr)
    print(
        "demo: checked with the audit tools: %s" % ("ok" if not problems else "%d problems" % len(problems))
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
