"""Each device-code gate rejects a bad sample, and lets host code be."""

import subprocess
import sys
from pathlib import Path

import pytest

from tools import gates
from tools.upy import ROOT

RUFF = str(Path(sys.executable).parent / "ruff")
DEVICE_FILES = gates.device_files()


def _ruff(source, filename):
    return subprocess.run(
        [RUFF, "check", "--no-cache", "--output-format", "concise", "--stdin-filename", filename, "-"],
        input=source,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_device_files_cover_the_device_folders_and_skip_host_code():
    names = {str(p.relative_to(ROOT)) for p in DEVICE_FILES}
    assert {"core/money.py", "hal/clock.py", "hal/sim/__init__.py", "tests/upy_runner.py"} <= names
    assert {"hal/mpy/__init__.py", "tools/workloads/demo_shift.py"} <= names
    host = [n for n in names if n.startswith(("hal/linux/", "tools/", "tests/host/"))]
    assert all(n.startswith("tools/workloads/") for n in host), host


@pytest.mark.parametrize("path", DEVICE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_ruff_fails_when_any_device_module_imports_dataclasses(path):
    source = path.read_text()
    clean = _ruff(source, str(path.relative_to(ROOT)))
    assert clean.returncode == 0, clean.stdout
    bad = _ruff("from dataclasses import dataclass  # noqa: F401\n" + source, str(path.relative_to(ROOT)))
    assert bad.returncode == 1
    assert "TID251" in bad.stdout and "dataclasses" in bad.stdout


@pytest.mark.parametrize(
    "statement",
    [
        "import enum",
        "import abc",
        "from typing import List",
        "import functools",
        "from itertools import chain",
        "from datetime import datetime",
        "from decimal import Decimal",
        "import contextlib",
        "import logging",
        "from pathlib import Path",
        "import base64",
        "import hmac",
    ],
)
def test_ruff_bans_cpython_only_modules_in_device_code(statement):
    proc = _ruff(statement + "  # noqa: F401\n", "tse_sd/sample.py")
    assert proc.returncode == 1 and "TID251" in proc.stdout, proc.stdout


@pytest.mark.parametrize("folder", ["tools", "tests/host", "hal/linux"])
def test_host_code_may_use_cpython_modules(folder):
    proc = _ruff("from dataclasses import dataclass  # noqa: F401\n", folder + "/sample.py")
    assert proc.returncode == 0, proc.stdout


def test_mpy_cross_rejects_syntax_micropython_lacks(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def kind(x):\n    match x:\n        case 1:\n            return 'one'\n")
    good = tmp_path / "good.py"
    good.write_text("def kind(x):\n    return 'one' if x == 1 else 'other'\n")
    problems = gates.mpy_cross([bad, good])
    assert [p for p, _ in problems] == [bad]
    assert "SyntaxError" in problems[0][1]


@pytest.mark.parametrize(
    "source, message",
    [
        ("x = '7'.zfill(3)\n", ".zfill()"),
        ("x = 'a'.rjust(5)\n", ".rjust()"),
        ("n = (255).bit_length()\n", ".bit_length()"),
        ("try:\n    pass\nexcept OSError as e:\n    raise ValueError('x') from e\n", "exception chaining"),
        ("class A:\n    def __init_subclass__(cls):\n        pass\n", "__init_subclass__"),
        ("import re\nr = re.compile('(?P<year>[0-9]+)')\n", "named regex groups"),
    ],
)
def test_api_gate_rejects_what_fails_at_run_time(source, message):
    problems = gates.api_problems(source)
    assert len(problems) == 1 and message in problems[0][1], problems


def test_api_gate_accepts_portable_code():
    source = "def pad(s, n):\n    return ' ' * (n - len(s)) + s\n\nx = '%05d' % 7\n"
    assert gates.api_problems(source) == []


def test_gates_main_fails_on_a_bad_device_file(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("x = 'a'.zfill(2)\n")
    monkeypatch.setattr(gates, "device_files", lambda: [bad])
    assert gates.main() == 1
    out = capsys.readouterr().out
    assert "%s:1: .zfill() does not exist on MicroPython" % bad in out
    assert "gates: 1 device files, 1 problems" in out


@pytest.mark.parametrize(
    "module, source, says",
    [
        ("tse_sd.client", "from firmware.till import Till", "tse_sd.client may not import firmware.till"),
        ("core.money", "import hal.clock", "core.money may not import hal.clock"),
        ("hal.display", "from firmware import config", "may not import firmware"),
        ("firmware.register.bon", "from tse_sd.client import TseClient", "may not import tse_sd.client"),
        ("firmware.fiscal.qr", "from hal.printer import Printer", "may not import hal.printer"),
        ("firmware.till", "from ui.operator import serve", "may not import ui.operator"),
        ("hal.link", "def f():\n    from hal.linux.tty import open_tty\n", "platform driver hal.linux.tty"),
        ("firmware.terminal", "import hal.sim.printer", "platform driver hal.sim.printer"),
    ],
)
def test_the_layer_gate_refuses_an_import_against_the_direction(module, source, says):
    problems = gates.layer_problems(source, module)
    assert problems and says in problems[0][1], problems


@pytest.mark.parametrize(
    "module, source",
    [
        ("firmware.till", "from core.money import format_cents\nfrom tse_sd.errors import TseError"),
        ("hal.board", "def load():\n    import hal.linux.camera\n"),
        ("hal.linux.camera", "from hal.linux.tty import open_tty"),
        ("firmware.register.bon", "from firmware.fiscal.processdata import kassenbeleg_v1"),
        ("firmware.main", "from ui import operator"),
        ("ui.operator", "from firmware.register.limits import MAX_QTY\nimport asyncio, json"),
    ],
)
def test_the_layer_gate_lets_downward_imports_pass(module, source):
    assert gates.layer_problems(source, module) == []


def test_the_tree_keeps_the_layers():
    assert gates.layer_gate() == []
