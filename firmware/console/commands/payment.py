"""The card terminal's end of day on the console: ``payment close`` (device code), and the
external ZVT terminal's ``payment zvt status|eod|diagnosis``.

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


ZVT = ("status", "eod", "diagnosis")


async def cmd_payment_zvt(con, args):
    """The external ZVT terminal (board device ``zvt_terminal``): Status Enquiry, End-of-Day
    (its receipt printed on ours) or Diagnosis."""
    _need(args, 1)
    if args[0] not in ZVT:
        raise ValueError("payment zvt takes %s" % ", ".join(ZVT))
    term = con.svc.terminal
    if term.zvt is None:
        raise EcrError("no external ZVT terminal on this board (device zvt_terminal)")
    if term.paying:
        raise ValueError("a card payment is under way: try again after it")
    why = await term.zvt.register()
    if why is not None:
        raise EcrError(why)
    ecr = term.zvt.ecr
    result = await {"status": ecr.status_enquiry, "eod": ecr.end_of_day, "diagnosis": ecr.diagnosis}[
        args[0]
    ]()
    for _, lines in result.lines:  # the terminal's own report, on our printer
        term.enqueue(0, [("line", text, "") for text in lines] + [("cut", "", "")])
    data = {"ok": result.ok, "code": result.code, "text": result.text, "status": result.status}
    data["completion"] = result.completion
    text = "Terminal %s: %s" % (term.zvt.device.where, "ok" if result.ok else result.text)
    if result.completion.get("version"):
        text += " (%s)" % result.completion["version"]
    if args[0] == "eod" and result.status is not None and "amount" in result.status:
        text += ", Summe %s EUR" % format_cents(result.status["amount"])
    if not result.ok:
        raise EcrError(text)
    return text, data
