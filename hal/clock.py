"""Clock: monotonic milliseconds for timeouts, UTC seconds for what is recorded.

Two kinds of time, never mixed:

- ``ticks_ms()`` is monotonic, wraps on MicroPython, and only differences taken with
  ``ticks_diff(a, b)`` mean anything. Use it for timeouts, polling and back-off.
- ``now()`` is integer Unix seconds (UTC). It can jump when the clock is set and is what
  goes into the journal, the TSE and the receipt.

    clock = SystemClock()
    t0 = clock.ticks_ms()
    ...
    if clock.ticks_diff(clock.ticks_ms(), t0) > 250:
        raise TimeoutError

``ManualClock`` is the test and simulator clock: time moves only when told to. Calendar
arithmetic on those seconds (dates, German local time) is ``core.calendar``. Boards whose
RTC counts from 2000 (older MicroPython ports) are corrected to the Unix epoch here, so every
caller sees Unix seconds.
"""

import time

# Seconds from 1970-01-01 to 2000-01-01: added on ports whose epoch is 2000.
_EPOCH_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0

try:
    _ticks_ms = time.ticks_ms
    _ticks_diff = time.ticks_diff
except AttributeError:  # CPython: no wrap-around, plain differences

    def _ticks_ms():
        return time.monotonic_ns() // 1000000

    def _ticks_diff(a, b):
        return a - b


class Clock:
    """The interface. ``set(utc_seconds)`` is optional: ``can_set`` says if it works."""

    can_set = False

    def ticks_ms(self):
        raise NotImplementedError

    def ticks_diff(self, a, b):
        """Signed ``a - b`` in milliseconds, correct across a wrap of the counter."""
        raise NotImplementedError

    def now(self):
        """Current UTC time in whole Unix seconds."""
        raise NotImplementedError

    def set(self, utc_seconds):
        raise OSError("this clock cannot be set")


class SystemClock(Clock):
    """The runtime's own clocks (the OS clock on Linux, the RTC on a board)."""

    def ticks_ms(self):
        return _ticks_ms()

    def ticks_diff(self, a, b):
        return _ticks_diff(a, b)

    def now(self):
        return int(time.time()) + _EPOCH_OFFSET


class ManualClock(Clock):
    """A clock that moves only by ``advance(ms)`` or ``set(seconds)``: for tests and the simulator."""

    can_set = True

    def __init__(self, utc_seconds=1767225600, ticks_ms=0):
        self._ms = ticks_ms
        self._utc_ms = utc_seconds * 1000

    def ticks_ms(self):
        return self._ms

    def ticks_diff(self, a, b):
        return a - b

    def now(self):
        return self._utc_ms // 1000

    def set(self, utc_seconds):
        if not isinstance(utc_seconds, int) or utc_seconds < 0:
            raise ValueError("UTC seconds must be a non-negative integer")
        self._utc_ms = utc_seconds * 1000

    def advance(self, ms):
        """Let ``ms`` milliseconds pass on both the monotonic and the UTC clock."""
        if ms < 0:
            raise ValueError("time does not run backwards")
        self._ms += ms
        self._utc_ms += ms
