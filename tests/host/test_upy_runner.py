"""The MicroPython test runner reports failures honestly and ends with `N passed, N failed`."""

from tools import upy

RUNNER = str(upy.ROOT / "tests" / "upy_runner.py")


def _run(folder, *extra):
    return upy.run([RUNNER, str(folder), *extra], capture_output=True, text=True, timeout=60)


def test_counts_passes_and_failures(tmp_path):
    (tmp_path / "test_sample.py").write_text(
        "def test_ok():\n    assert 1 + 1 == 2\n\n"
        "def test_bad():\n    assert 1 + 1 == 3, 'arithmetic'\n\n"
        "async def test_async():\n    pass\n\n"
        "def helper():\n    raise RuntimeError('not a test')\n"
    )
    proc = _run(tmp_path)
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "1 passed, 2 failed"
    assert proc.returncode == 1
    assert "FAIL test_sample::test_bad" in proc.stdout and "arithmetic" in proc.stdout
    assert "FAIL test_sample::test_async" in proc.stdout


def test_import_error_fails_the_file(tmp_path):
    (tmp_path / "test_broken.py").write_text("import dataclasses\n\ndef test_never():\n    pass\n")
    proc = _run(tmp_path)
    assert "FAIL test_broken (import)" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "0 passed, 1 failed"
    assert proc.returncode == 1


def test_nothing_run_is_not_success(tmp_path):
    proc = _run(tmp_path)
    assert proc.stdout.strip() == "0 passed, 0 failed"
    assert proc.returncode == 1


def test_name_filter_and_all_green(tmp_path):
    (tmp_path / "test_a.py").write_text("def test_one():\n    pass\n\ndef test_two():\n    assert False\n")
    proc = _run(tmp_path, "one")
    assert proc.stdout.strip() == "1 passed, 0 failed"
    assert proc.returncode == 0
