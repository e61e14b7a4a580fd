"""``python -m tools.audit COMMAND``: check what a register hands over to the tax office.

    python -m tools.audit verify-tar export.tar         every log's signature, counters, numbers
    python -m tools.audit verify-qr "V0;KASSE-1;..."    a receipt's QR code against its signature
    python -m tools.audit check-dsfinvk dsfinvk.zip     a DSFinV-K export (ZIP or folder)
    python -m tools.audit check-elster elster-146a.xml  a § 146a notification before its upload
    python -m tools.audit verify-journal data/journal   the journal's chain and every signature

Prints what was checked and every problem, one per line. Exit status: 0 all good, 1 problems
found, 2 the input could not be read at all. Long runs show a progress bar on stderr
(``--quiet`` turns it off).
"""

import argparse
import binascii
import sys
import tarfile
import zipfile

from tools.audit.dsfinvk import check_dsfinvk
from tools.audit.elster import check_elster
from tools.audit.journal import verify_journal
from tools.audit.tse import FormatError, verify_qr, verify_tar


def _finish(what, problems):
    for p in problems:
        print("  " + p)
    print(
        "%s: %s"
        % (what, "ok" if not problems else "%d problem%s" % (len(problems), "s"[: len(problems) != 1]))
    )
    return 1 if problems else 0


def cmd_verify_tar(args):
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(unit="files", desc="verify-tar", leave=False, disable=None)  # only on a terminal

    def progress(done, total):
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        report = verify_tar(args.file, progress if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    counters = report.counters()
    print(
        "%s: %d log messages, signature counters %s, %d certificate(s)"
        % (
            args.file,
            len(report.logs),
            "%d..%d" % (counters[0], counters[-1]) if counters else "none",
            len(report.certificates),
        )
    )
    return _finish(args.file, report.problems)


def cmd_verify_qr(args):
    ok, qr = verify_qr(args.qr)
    print(
        "transaction %d, signature counter %d, client %s, processData %r"
        % (qr.number, qr.counter, qr.client_id, qr.process_data)
    )
    return _finish("QR code", [] if ok else ["signature does not verify over the rebuilt Finish log"])


def cmd_check_dsfinvk(args):
    report = check_dsfinvk(args.export, progress=not args.quiet)
    print("%s: %d tables, %d rows" % (args.export, len(report.rows), sum(report.rows.values())))
    return _finish(args.export, report.problems)


def cmd_check_elster(args):
    return _finish(args.file, check_elster(args.file))


def cmd_verify_journal(args):
    report = verify_journal(args.folder)
    print(
        "%s: %d records, %d signed receipts checked with ECDSA" % (args.folder, report.records, report.signed)
    )
    return _finish(args.folder, report.problems)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.audit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("verify-tar", help="verify a TSE TAR export")
    p.add_argument("file")
    p.set_defaults(run=cmd_verify_tar)
    p = sub.add_parser("verify-qr", help="verify a receipt QR code (V0;...)")
    p.add_argument("qr")
    p.set_defaults(run=cmd_verify_qr)
    p = sub.add_parser("check-dsfinvk", help="check a DSFinV-K export (ZIP or folder)")
    p.add_argument("export")
    p.set_defaults(run=cmd_check_dsfinvk)
    p = sub.add_parser("check-elster", help="check an ELSTER Aufzeichnung146a notification")
    p.add_argument("file")
    p.set_defaults(run=cmd_check_elster)
    p = sub.add_parser("verify-journal", help="check a register's journal: chain and signatures")
    p.add_argument("folder")
    p.set_defaults(run=cmd_verify_journal)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (
        OSError,
        tarfile.TarError,
        zipfile.BadZipFile,
        FormatError,
        binascii.Error,
        ValueError,
        KeyError,
    ) as e:
        print("%s: cannot be read: %s" % (args.command, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
