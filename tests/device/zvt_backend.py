"""A payment terminal's backend in memory for the ZVT PT side's tests (device and host): it
approves (or declines) with a fixed card, keeps its turnover, and records what was booked,
undone and printed."""

from payment.zvt import messages as m


class Backend:
    """The terminal behind our PT side, in memory."""

    tid = "29001234"
    version = "smartECR test"

    def __init__(self):
        self.booked_ = []
        self.undone = []
        self.printed = []
        self.turnover = []
        self.decline = False

    async def pay(self, cents, refund, session):
        await session.say(m.INSERT_CARD)
        if cents == 999:  # waits for a card that never comes: only an Abort ends it
            await session.cancelled.wait()
            return {"result": m.TIMEOUT_OR_ABORT, "amount": cents}
        await session.say(m.PIN_PAD)
        if self.decline:
            return {"result": 0x05, "amount": cents}
        n = len(self.turnover) + 1
        return {
            "result": m.OK,
            "amount": cents,
            "trace": "%06d" % n,
            "receipt_no": n,
            "tid": self.tid,
            "pan": "************0011",
            "card_type": 0x06,
            "card_name": "Mastercard",
            "auth_code": "123456",
            "aid": "A0000000041010",
            "cvm": "online PIN",
            "technology": "contactless",
            "kind": "refund" if refund else "payment",
        }

    async def reverse(self, receipt_no, session):
        for rec in self.turnover:
            if rec["receipt_no"] == receipt_no:
                if rec.get("reversed"):
                    return {"result": m.ALREADY_REVERSED}
                return dict(rec, kind="reversal", original_trace=rec["trace"])
        return {"result": m.NO_REVERSAL}

    async def end_of_day(self, session):
        total = sum(
            r["amount"] for r in self.turnover if r.get("kind") == "payment" and not r.get("reversed")
        )
        return {"result": m.OK, "amount": total}

    def last(self):
        return self.turnover[-1] if self.turnover else None

    async def booked(self, record):
        self.booked_.append(record)
        if record.get("kind") == "reversal":
            for rec in self.turnover:
                if rec["receipt_no"] == record["receipt_no"]:
                    rec["reversed"] = True
        else:
            self.turnover.append(record)

    async def undo(self, record):
        self.undone.append(record)

    def slip(self, record, copy, width):
        return ["KUNDENBELEG" if copy == 2 else "HAENDLERBELEG", "EUR %d" % record.get("amount", 0)]

    def print(self, record):
        self.printed.append(record)
