"""Hardware abstraction: one small interface per device class, drivers per platform.

Device code, except ``hal/linux/`` (CPython only). ``hal.platform.load(config)`` imports the
configured platform lazily, so a board never imports a Linux driver and vice versa.
"""
