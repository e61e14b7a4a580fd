"""CPython stand-in for MicroPython's built-in ``micropython`` module.

Device code writes ``from micropython import const`` exactly as micropython-lib does. On
MicroPython the built-in module always wins over this file (built-ins are found before
``sys.path``), and the compiler folds ``_NAME = const(1)`` into the bytecode. On CPython,
where there is no such module, this file is found on the path and ``const`` is the identity.

    from micropython import const
    _CMD_LOGIN = const(0x2000)
"""


def const(value):
    """Return ``value``: on CPython a constant is just its value."""
    return value
