"""``python -m tools.sim.shot docs/browser-terminal.png``: the README's picture of the browser
terminal, made the way a cashier works it (tools/sim/cashier.py): a sale paid in cash (its
receipt printed), then a second one rung up by touch and left open."""

import sys
import tempfile

from tools.sim.cashier import Desk
from tools.sim.launch import Simulator


def main(path):
    with tempfile.TemporaryDirectory() as out:
        sim = Simulator(out, "cpython").start()
        try:
            with Desk(sim, viewport=(1800, 640)) as desk:
                desk.sign_on()
                before = len(sim.emupos.receipts())
                desk.type("2")
                desk.tap(("group", "bakery"), ("plu", "1003"), ("group", "cafe"), ("plu", "1007"))
                desk.tap(("go", "pay"), ("cash", 500))
                desk.printed(before)
                desk.tap(("group", "food"), ("plu", "1001"), ("plu", "1002"))
                desk.type("1,250")
                desk.tap(("group", "produce"), ("plu", "2001"))
                desk.page.wait_for_timeout(1500)  # the status line brings the receipt
                desk.page.screenshot(path=path)
        finally:
            sim.stop()
    print("written: %s" % path)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/browser-terminal.png")
