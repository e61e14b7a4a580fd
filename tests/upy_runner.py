"""Run the device tests under MicroPython, which has no pytest and no unittest.

    MICROPYPATH=.frozen:.:tests/device micropython tests/upy_runner.py tests/device [NAME]

Imports every ``test_*.py`` in the folder (sorted), calls every module-level function whose
name starts with ``test_`` (in name order), and prints one line per failure with its
traceback. The last line is ``N passed, N failed``; the exit status is 1 when a test failed
or nothing ran. An optional NAME runs only the test functions containing it. The same
files are collected by pytest on CPython: plain functions, plain ``assert``.
"""

import gc
import os
import sys


def _tests_of(module):
    return sorted(n for n in dir(module) if n.startswith("test_") and callable(getattr(module, n)))


def main(argv):
    if not argv:
        print("usage: upy_runner.py DIR [NAME]")
        return 2
    folder = argv[0].rstrip("/")
    pick = argv[1] if len(argv) > 1 else ""
    if folder not in sys.path:
        sys.path.insert(0, folder)
    passed = failed = 0
    for filename in sorted(os.listdir(folder)):
        if not (filename.startswith("test_") and filename.endswith(".py")):
            continue
        modname = filename[:-3]
        try:
            module = __import__(modname)
        except Exception as e:  # an import error fails the whole file, loudly
            failed += 1
            print("FAIL %s (import)" % modname)
            sys.print_exception(e)
            continue
        for name in _tests_of(module):
            if pick and pick not in name:
                continue
            gc.collect()  # each test starts on a heap as whole as it can be
            try:
                result = getattr(module, name)()
                if hasattr(result, "send"):  # an async def: its body never ran
                    raise AssertionError("async test functions do not run; use support.run()")
            except Exception as e:
                failed += 1
                print("FAIL %s::%s" % (modname, name))
                sys.print_exception(e)
            else:
                passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


sys.exit(main(sys.argv[1:]))
