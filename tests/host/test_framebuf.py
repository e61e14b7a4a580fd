"""The CPython stand-in for MicroPython's framebuf (``framebuf.py``) draws the very bytes the
real module draws: the same drawing on both runtimes, buffers compared (RGB565 and mono,
clipping, keys and palettes, and the panel renderer's text). And the font in hal/font.py is
what tools/fontgen.py makes from DejaVu Sans Mono."""

import json
import subprocess
import sys

from tools import fontgen, upy

PROBE = str(upy.ROOT / "tests" / "device" / "fb_probe.py")


def _probe(runtime):
    argv = upy.command([PROBE]) if runtime == "micropython" else [sys.executable, PROBE]
    env = upy.env({"PYTHONPATH": str(upy.ROOT)})
    proc = subprocess.run(argv, cwd=upy.ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_stand_in_draws_what_micropythons_framebuf_draws():
    ours, theirs = _probe("cpython"), _probe("micropython")
    assert ours == theirs
    assert theirs["pixels"][0] == 0xF81F and theirs["pixels"][2] == 0xABCD  # not all one colour


def test_the_font_is_what_the_generator_makes():  # fonts-dejavu-core: deps/apt.txt
    with open(upy.ROOT / "hal" / "font.py", encoding="utf-8") as f:
        assert f.read() == fontgen.source()
