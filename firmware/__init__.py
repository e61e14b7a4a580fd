"""smartECR firmware: the services and domain of the point-of-sale terminal (device code).

Runs on MicroPython >= 1.24 and CPython >= 3.11; see ../docs/architecture.md for the
runtime rule.
"""

VERSION = "0.1.0"
