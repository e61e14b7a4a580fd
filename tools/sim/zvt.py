"""The simulator's external payment terminal (host code): a ZVT PT on loopback that a register
drives, for the terminal's ``zvt_terminal`` (card payments through an external terminal).

    pt = ZvtTerminalSim("out/sim/zvt").start()    # pt.port; make sim prints it as "zvt terminal"
    pt.fault("decline")                           # or "lose" (approve, then drop the line before
                                                  # the Completion), "hang" (approve, then say
                                                  # nothing more), "nocard"; fault(None) clears
    pt.payments                                   # what it booked: its turnover store

It speaks through ``payment.zvt.pt`` (our PT side's session code), so it is no independent check
of that code: the byte-for-byte tests against the specification's frames are
(tests/device/test_zvt_sessions.py). What it adds is a terminal of its own: a virtual
contactless Mastercard that is always presented, its own receipt numbers, trace numbers and
receipt lines (the cardholder's and the merchant's copy, CP437), reversal by receipt number and
an End-of-Day over its turnover. Every APDU in and out is a JSON line ``{"dir", "hex"}`` in
``<folder>/zvt.jsonl``.
"""

import asyncio
import binascii
import json
import os
import threading
import time

from payment.zvt import messages as m
from payment.zvt.pt import PtServer
from payment.zvt.wire import TcpWire

TID = "29001234"
VU = "SIMVU0000000001"


class _Backend:
    tid = TID
    version = "smartECR simulated PT 1.0"

    def __init__(self, sim):
        self.sim = sim
        self.number = 0

    async def pay(self, cents, refund, session):
        await session.say(m.INSERT_CARD, ["Karte vorhalten", "oder einstecken"])
        if self.sim.fault_name == "nocard":
            await session.cancelled.wait()
            return {"result": m.TIMEOUT_OR_ABORT, "amount": cents}
        await session.say(m.PLEASE_WAIT)
        if self.sim.fault_name == "decline":
            return {"result": 0x05, "amount": cents}
        self.session = session
        return self._stamp(
            {
                "result": m.OK,
                "kind": "refund" if refund else "payment",
                "amount": cents,
                "pan": "************0011",
                "card_type": 0x06,
                "card_name": "Mastercard",
                "aid": "A0000000041010",
                "cvm": "none",
                "technology": "contactless",
                "payment_type": 0x60,
                "auth_code": "%06d" % (100000 + self.number),
            }
        )

    def _stamp(self, record):
        self.number += 1
        t = time.localtime()
        record.update(
            receipt_no=self.number,
            turnover_no=self.number,
            trace="%06d" % self.number,
            tid=TID,
            vu=VU,
            time=time.strftime("%H%M%S", t),
            date=time.strftime("%m%d", t),
        )
        return record

    async def reverse(self, receipt_no, session):
        for rec in self.sim.payments:
            if rec["receipt_no"] == receipt_no and rec["kind"] != "reversal":
                if rec.get("reversed"):
                    return {"result": m.ALREADY_REVERSED}
                out = dict(rec, kind="reversal", reverses=receipt_no, original_trace=rec["trace"])
                out.pop("reversed", None)
                return self._stamp(out)
        return {"result": m.NO_REVERSAL}

    async def end_of_day(self, session):
        net = sum(
            (-1 if r["kind"] == "refund" else 1) * r["amount"]
            for r in self.sim.payments
            if r["kind"] != "reversal" and not r.get("reversed")
        )
        self.sim.closed.append(list(self.sim.payments))
        self.sim.payments = []
        return {"result": m.OK, "amount": abs(net), "kind": "end of day"}

    def last(self):
        return self.sim.payments[-1] if self.sim.payments else None

    async def booked(self, record):
        if record["kind"] == "reversal":
            for rec in self.sim.payments:
                if rec["receipt_no"] == record["reverses"]:
                    rec["reversed"] = True
        self.sim.payments.append(record)
        if self.sim.fault_name == "lose" and record["kind"] != "reversal":
            self.sim.fault_name = None  # once: the register asks again and gets it
            self.session.wire.close()
        elif self.sim.fault_name == "hang" and record["kind"] != "reversal":
            self.sim.fault_name = None
            await asyncio.sleep(3600)  # approved and booked here; the register hears no more

    async def undo(self, record):
        self.sim.undone.append(record)

    def slip(self, record, copy, width):
        if record.get("kind") == "end of day":
            return ["KASSENSCHNITT", "Terminal-ID %s" % TID, "Summe EUR %s" % _euros(record["amount"])]
        title = {"payment": "KAUF", "refund": "GUTSCHRIFT", "reversal": "STORNO"}[record["kind"]]
        return [
            "KUNDENBELEG" if copy == 2 else "HÄNDLERBELEG",
            "Terminal: %s" % TID,
            "Beleg# : %04d" % record["receipt_no"],
            "L:%s" % record["pan"],
            "AID: %s" % record["aid"],
            "Karte: MASTERCARD",
            "Contactless",
            title,
            "SUMME EUR: %s" % _euros(record["amount"]),
            "Trace#: %s" % record["trace"],
            "Autorisierungscode:%s" % record["auth_code"],
            "Zahlung erfolgt",
            "SIMULATION - KEINE ZAHLUNG",
        ]

    def print(self, record):
        self.sim.printed.append(record)


class _Logged:
    """A wire that logs every APDU to the JSON-lines file."""

    def __init__(self, wire, log):
        self.wire = wire
        self.log = log

    async def send(self, control, data=b""):
        self.log("out", control, data)
        await self.wire.send(control, data)

    async def receive(self, timeout_ms=None):
        control, data = await self.wire.receive(timeout_ms)
        self.log("in", control, data)
        return control, data

    def close(self):
        self.wire.close()


def _euros(cents):
    return "%d,%02d" % (cents // 100, cents % 100)


class ZvtTerminalSim:
    def __init__(self, folder, port=0, password="000000"):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.port = port
        self.fault_name = None
        self.payments = []  # the turnover since the last End-of-Day
        self.closed = []
        self.undone = []
        self.printed = []
        self._loop = None
        self._stopping = None
        self._thread = None
        self._lock = threading.Lock()
        self.pt = PtServer(_Backend(self), password)
        self._ready = threading.Event()

    def fault(self, name):
        if name not in (None, "decline", "lose", "hang", "nocard"):
            raise ValueError("unknown fault %r" % (name,))
        self.fault_name = name

    def _log(self, direction, control, data):
        raw = binascii.hexlify(bytes((control >> 8, control & 0xFF)) + data).decode()
        with self._lock, open(os.path.join(self.folder, "zvt.jsonl"), "a") as f:
            f.write(json.dumps({"dir": direction, "hex": raw}) + "\n")

    def messages(self):
        path = os.path.join(self.folder, "zvt.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]

    async def _serve(self, reader, writer):
        await self.pt.serve(_Logged(TcpWire(reader, writer, "ecr"), self._log))

    def _run(self):
        self._loop = asyncio.new_event_loop()

        async def main():
            self._stopping = asyncio.Event()
            server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stopping.wait()
            server.close()
            await server.wait_closed()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        try:
            self._loop.run_until_complete(main())
        finally:
            self._loop.close()

    def start(self):
        self._thread = threading.Thread(target=self._run, name="zvt-pt", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the simulated ZVT terminal did not start")
        return self

    def stop(self):
        if self._thread is not None and self._ready.is_set():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(5)
        self._thread = None
