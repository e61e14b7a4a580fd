"""The screens' benchmark, firmware side (device code, both runtimes): tools/bench/bench_screen.py.

    screen_time.py N      # one JSON line per screen: the median and worst microseconds of a frame

A frame is a scene built from the state and drawn whole on the panel (hal/screen.py), the
worst case a frame costs (the wire then carries only the rows that changed, hal/panel.py):
``operator``: the operator's sale screen (ui/app.py) with a receipt of 30 lines on 800 x 480
RGB565, a line added each frame; ``customer``: the customer's sale scene of 30 lines on
480 x 272.
"""

import json
import sys

from firmware.register.master import load_master
from hal.panel import dirty_rows
from hal.screen import Panel
from tools.workloads.ticks import diff_us, median, now_us
from ui import customer
from ui.app import OperatorApp


def operator(n):
    app = OperatorApp((800, 480), load_master("data/demo-master.json"))
    app.screen = "sale"
    panel = Panel(800, 480)
    lines = [[i + 1, "Artikel Nr. %d mit Namen" % i, 1000, 100 + 37 * i, False, ""] for i in range(30)]
    state = {
        "bon": {"lines": lines, "total": 0, "paid": 0},
        "training": False,
        "operator": {"name": "Anna Kasse"},
    }
    times, last = [], None
    for i in range(n):
        t0 = now_us()
        lines.append([31 + i, "Brötchen", 1000, 45, False, ""])
        state["bon"]["total"] += 45
        scene = app.scene(state)
        dirty_rows(last, scene, 480)
        panel.render(scene)
        times.append(diff_us(now_us(), t0))
        last = scene
    return times


def customer_screen(n):
    panel = Panel(480, 272)
    lines = [("Artikel Nr. %d mit Namen" % i, 100 + 37 * i) for i in range(30)]
    times = []
    for i in range(n):
        t0 = now_us()
        panel.render(customer.sale((480, 272), lines, 123456 + i))
        times.append(diff_us(now_us(), t0))
    return times


def main(n):
    for name, fn in (("operator", operator), ("customer", customer_screen)):
        times = fn(n)
        print(json.dumps({"screen": name, "median_us": median(times), "max_us": max(times)}))


main(int(sys.argv[1]))
