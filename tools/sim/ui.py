"""The simulator's operator terminal UI (until the touch screen exists): a screen of state and
one command per line.

    1001           ring up PLU 1001          3x1001     three of them
    ean 4006381333931                        type a barcode (the scanner sends it)
    scan FILE      "hold" an image in front of the camera: decoded with zxing-cpp, sent by the scanner
    void 2         cancel line 2             abort      cancel the receipt
    cash [12,50]   pay cash (amount given)   card / tap pay by chip card / contactless
    card visa-credit, tap girocard ...       another virtual card (data/cards/: its profile name)
    return 1006    goods brought back (then cash or card pays the money back)
    pin 1234       the customer types a PIN on the customer screen when asked (pin: none, pin C: cancel)
    drawer         open the drawer           close      push the drawer shut
    pull / insert  the TSE card out / back in
    power          cut the power (the firmware is killed and boots again)
    receipt        the last receipt in full  help       this text      quit (or Ctrl-C)
"""

import time

from core.errors import EcrError
from core.money import format_cents, parse_cents
from hal.linux.camera import scanner_text
from hal.scanner import ScanError, Symbol
from tools.sim.camera import decode_file


class OperatorUi:
    def __init__(self, sim, out=print, read=input):
        self.sim = sim
        self.out = out
        self.read = read

    def screen(self, state, error=None):
        out = self.out
        display = self.sim.display.lines if self.sim.display else ["(none)"]
        out("-" * 60)
        out("customer display | %s" % " | ".join(display))
        bon = state["bon"]
        if bon:
            for pos, text, qty, amount, storno, _ in bon["lines"]:
                mark = " (storniert)" if storno else ""
                out("  %2d %-32s %6.3f %10s%s" % (pos, text, qty / 1000, format_cents(amount), mark))
            out("  %-39s %10s" % ("SUMME", format_cents(bon["total"])))
        else:
            out("  (kein offener Bon; letzter Bon %s)" % (state["last_bon_nr"] or "-"))
        tse = state.get("tse") or {}
        out(
            "drawer: %s | TSE: %s | print queue: %s"
            % (
                {True: "OPEN", False: "closed", None: "?"}[state["drawer_open"]],
                tse.get("can", "none"),
                ", ".join(map(str, state["queue"])) or "empty",
            )
        )
        for message in state["messages"][-3:]:
            out("! " + message)
        if error:
            out("error: " + error)

    def do(self, line):
        """Run one command line; returns False to quit."""
        words = line.split()
        if not words:
            return True
        cmd, rest = words[0].lower(), words[1:]
        sim = self.sim
        if cmd in ("quit", "exit", "q"):
            return False
        if cmd == "help":
            self.out(__doc__.split("\n\n", 1)[1])
            return True
        if cmd == "receipt":
            self.out(sim.operator(op="state")["state"]["last_receipt"] or "(no receipt yet)")
            return True
        reply = None
        try:
            if cmd.isdigit() or "x" in cmd and cmd.replace("x", "").isdigit():
                qty, _, plu = cmd.rpartition("x")
                reply = sim.operator(op="plu", code=plu, qty=int(qty or 1) * 1000)
            elif cmd in ("ean", "scan") and rest:
                if sim.emupos is None:
                    raise RuntimeError("no scanner: %s" % sim.missing.get("printer"))
                symbols = [Symbol("EAN13", rest[0])] if cmd == "ean" else decode_file(rest[0])
                if not symbols:
                    self.out("no barcode found in %s" % rest[0])
                for symbol in symbols:
                    if isinstance(symbol, ScanError):
                        self.out("camera: %s" % symbol)
                    else:
                        sim.emupos.scan(scanner_text(symbol))
                time.sleep(0.3)  # the scan travels emupos -> firmware
            elif cmd == "void" and rest:
                reply = sim.operator(op="void", pos=int(rest[0]))
            elif cmd == "abort":
                reply = sim.operator(op="abort")
            elif cmd == "cash":
                given = parse_cents(rest[0]) if rest else None
                reply = sim.operator(op="cash", given=given)
            elif cmd == "pin":
                sim.pin(rest[0] if rest else "")
                self.out(
                    "customer screen: %s typed when the PIN pad asks (SIMULATION: never a real PIN)"
                    % ("*" * len(rest[0]) if rest else "no PIN")
                )
            elif cmd == "return" and rest:
                reply = sim.operator(op="return", code=rest[0])
            elif cmd in ("card", "tap"):
                profile = rest[0] if rest else None
                if cmd == "tap":
                    sim.tap_card(profile)
                else:
                    sim.insert_card(profile)
                sim.wait_card()
                reply = sim.operator(op="card")
                sim.remove_cards()
            elif cmd == "drawer":
                reply = sim.operator(op="drawer")
            elif cmd == "close" and sim.emupos:
                sim.emupos.close_drawer()
            elif cmd == "pull":
                sim.tse_card(removed=True)
            elif cmd == "insert":
                sim.tse_card(removed=False)
            elif cmd == "power":
                self.out("power cut: the firmware is killed and boots again ...")
                sim.power_cut()
                self.out("the terminal is back")
            else:
                self.out("unknown command %r (help lists them)" % line.strip())
                return True
        except (ValueError, RuntimeError, OSError, EcrError) as e:
            self.out("error: %s" % e)
        self.screen(self._after(cmd, reply), (reply or {}).get("error"))
        return True

    def _after(self, cmd, reply):
        """The state after the command, not from the moment it was answered: the customer
        display shown once what the firmware sent it has arrived, the drawer once it moved."""
        sim = self.sim
        if sim.display is not None:
            sim.display.settle()
        paid = cmd == "cash" and reply is not None and reply["ok"] and reply["state"]["bon"] is None
        drawer = True if cmd == "drawer" or paid else False if cmd == "close" else None
        pulled = {"pull": True, "insert": False}.get(cmd)
        deadline = time.monotonic() + 3
        while True:
            state = sim.operator(op="state")["state"]
            failed = (state.get("tse") or {}).get("can", "").startswith("failed")
            settled = (drawer is None or state["drawer_open"] is drawer) and (
                pulled is None or failed is pulled
            )
            if settled or time.monotonic() > deadline:
                return state
            time.sleep(0.1)

    def loop(self):
        self.out(__doc__.split("\n\n", 1)[1])
        self.screen(self.sim.operator(op="state")["state"])
        while True:
            try:
                line = self.read("ecr> ")
            except EOFError:
                return
            if not self.do(line):
                return
