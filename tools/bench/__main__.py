"""``python -m tools.bench [NAME]``: run the benchmarks, print a table, write out/bench.json.

Exit status 1 when a benchmark crashed; missed goals are reported in the table and the
JSON (``ok: false``) but do not fail the run, since timings depend on the machine.
"""

import importlib
import json
import pkgutil
import sys
import time
import traceback

import tools.bench as package
from tools.upy import ROOT


def modules(pick=""):
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("bench_") and pick in info.name:
            yield importlib.import_module("tools.bench." + info.name)


def table(rows):
    head = ("benchmark", "runtime", "value", "unit", "goal", "ok")
    cells = [head] + [
        (
            r["benchmark"],
            r["runtime"],
            _num(r["value"]),
            r["unit"],
            r.get("goal", ""),
            {True: "yes", False: "NO", None: ""}[r.get("ok")],
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    return "\n".join("  ".join(c[i].ljust(widths[i]) for i in range(len(head))).rstrip() for c in cells)


def _num(v):
    return "%.3g" % v if isinstance(v, float) and abs(v) < 1000 else f"{v:,.0f}"


def main(argv):
    rows, crashed = [], 0
    for mod in modules(argv[0] if argv else ""):
        started = time.perf_counter()
        try:
            rows.extend(mod.run())
        except Exception:
            crashed += 1
            traceback.print_exc()
            print("bench: %s crashed" % mod.__name__, file=sys.stderr)
        print("bench: %s took %.1f s" % (mod.__name__, time.perf_counter() - started), file=sys.stderr)
    print(table(rows))
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps({"rows": rows, "crashed": crashed}, indent=2) + "\n")
    print("bench: %d rows written to out/bench.json" % len(rows))
    return 1 if crashed else 0


sys.exit(main(sys.argv[1:]))
