"""The console's sessions: logout, passwd, help (device code)."""

from firmware.console.commands.base import UsageError, _need


async def cmd_logout(con, args):
    _need(args, 0)
    name = con.user["name"]
    con.end_session("logout")
    return "%s logged out" % name


async def cmd_passwd(con, args):
    _need(args, 2)
    con.users.change_pin(con.user["name"], args[0], args[1])
    con.user["must_change"] = False
    return "PIN changed for %s" % con.user["name"]


async def cmd_help(con, args):
    from firmware.console.commands import COMMANDS  # the table that names this handler

    role = con.user["role"] if con.user else None
    rows = []
    for name, roles, _h, usage, doc, _f in COMMANDS:
        if args and name.split()[0] != args[0]:
            continue
        if not roles or role in roles:
            rows.append((usage, doc))
    if not rows:
        raise UsageError("no command %r for you" % " ".join(args))
    width = max(len(u) for u, _ in rows)
    lines = [u + " " * (width - len(u) + 2) + d for u, d in rows]
    if not con.user:
        lines.append("(log in to see more: login <user> <PIN>)")
    return "\n".join(lines), {"commands": [u for u, _ in rows]}
