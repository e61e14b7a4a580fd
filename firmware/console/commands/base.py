"""What every console command module uses: roles, the usage error, argument checks (device code)."""

import binascii

from core.storage import makedirs

ANY = ("technician", "manager", "read-only")
STAFF = ("technician", "manager")
TECH = ("technician",)
MANAGER = ("manager",)


class UsageError(ValueError):
    pass


def _need(args, lo, hi=None):
    if len(args) < lo or len(args) > (lo if hi is None else hi):
        raise UsageError("wrong number of arguments")


def _hex(data):
    return binascii.hexlify(data).decode()


def _no_sale(con):
    if con.svc.till.open_sale:
        raise ValueError("a sale is open: finish or abort it first")


def _folder(con, *parts):
    path = "/".join((con.svc.config["data_dir"],) + parts)
    makedirs(path)
    return path
