"""Command-line options for device-side programs, on both runtimes (MicroPython has no argparse
on boards).

    opts = options(argv, USAGE, ("nbd", "count", "out"), required=("nbd",), defaults={"count": "1"})

Only ``--name value`` pairs; ``-h``/``--help``, an unknown option, a missing value or a missing
required option raise ``ValueError`` whose text ends with the usage line.
"""


def options(argv, usage, names, required=(), defaults=None):
    opts = dict(defaults or {})
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            raise ValueError(usage)
        if not arg.startswith("--") or arg[2:] not in names:
            raise ValueError("unknown argument %r; %s" % (arg, usage))
        if not args:
            raise ValueError("%s needs a value; %s" % (arg, usage))
        opts[arg[2:]] = args.pop(0)
    for name in required:
        if name not in opts:
            raise ValueError("--%s is required; %s" % (name, usage))
    return opts
