"""The card terminal's end of day on the console: ``payment close`` (device code).

The terminal's batch (``firmware.cardledger.batch``: the card payments since the last end of
day, by scheme; online payments and refunds, which the host booked; offline approvals, which
it did not see) goes to the acquirer as a 0500 with the online totals. The host answers
whether it counted the same (``00``) or not (``95``, with its own totals, printed beside
ours). Either way the batch is closed and journaled (``card_close``); no answer closes
nothing and says so.
"""

from core.errors import EcrError
from core.money import format_cents
from firmware.cardledger import end_of_day
from firmware.console.commands.base import _need

_WIDTH = 42


def _row(left, n, cents):
    right = "%d  %s" % (n, format_cents(cents))
    return left + " " * max(1, _WIDTH - len(left) - len(right)) + right


def report(totals, code, host):
    lines = ["Kartenzahlungen: Kassenschnitt", "-" * _WIDTH]
    for scheme in sorted(totals["schemes"]):
        n, cents = totals["schemes"][scheme]
        lines.append(_row(scheme, n, cents))
    lines.append("-" * _WIDTH)
    lines.append(_row("Zahlungen online", *totals["debits"]))
    lines.append(_row("Gutschriften online", *totals["credits"]))
    lines.append(_row("offline genehmigt", *totals["offline"]))
    if code == "00":
        lines.append("Netzbetreiber: Summen stimmen ueberein")
    else:
        lines.append("Netzbetreiber: Summen weichen ab (%s)" % code)
        lines.append(_row("  dort Zahlungen", *host["debits"]))
        lines.append(_row("  dort Gutschriften", *host["credits"]))
    return "\n".join(lines)


async def cmd_payment_close(con, args):
    _need(args, 0)
    svc = con.svc
    acquirer = svc.terminal.acquirer
    if acquirer is None:
        raise EcrError("no acquirer is set up: card payments are offline only, there is no end of day")
    if svc.till.open_sale:
        raise ValueError("a sale is open: finish or abort it first")
    closed = await end_of_day(svc.journal, acquirer, svc.clock)
    if closed is None:
        raise EcrError("the acquirer did not answer: the batch stays open, try again later")
    totals, code, host = closed
    return report(totals, code, host), {"totals": totals, "code": code, "host": host}
