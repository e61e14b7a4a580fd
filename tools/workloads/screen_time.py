"""The screens' benchmark, firmware side (device code, both runtimes): tools/bench/bench_screen.py.

    screen_time.py N      # one JSON line: the median and worst microseconds of a frame

A frame is the customer screen's sale scene with 30 lines (ui/customer.py, the last that fit
are shown) built and drawn whole on a 480 x 272 RGB565 panel (hal/screen.py): no partial
redraw, so this is the worst case a frame can cost.
"""

import json
import sys

from hal.screen import Panel
from tools.workloads.ticks import diff_us, median, now_us
from ui import customer


def main(n):
    panel = Panel(480, 272)
    lines = [("Artikel Nr. %d mit Namen" % i, 100 + 37 * i) for i in range(30)]
    times = []
    for i in range(n):
        t0 = now_us()
        panel.render(customer.sale((480, 272), lines, 123456 + i))
        times.append(diff_us(now_us(), t0))
    print(json.dumps({"median_us": median(times), "max_us": max(times)}))


main(int(sys.argv[1]))
