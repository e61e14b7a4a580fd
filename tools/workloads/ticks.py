"""Microseconds for the benchmarks' workloads on both runtimes (``time.ticks_us`` exists only on
MicroPython; CPython counts with ``perf_counter_ns``).

    t0 = now_us(); ...; elapsed = diff_us(now_us(), t0)
"""

import time

try:
    now_us, diff_us = time.ticks_us, time.ticks_diff
except AttributeError:
    now_us, diff_us = (lambda: time.perf_counter_ns() // 1000), (lambda a, b: a - b)


def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
