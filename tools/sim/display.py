"""A virtual two-line customer display on a pty, speaking the Epson DM-D command set.

    display = VirtualDisplay().start()    # display.path: the pty the firmware opens
    display.lines                         # ['Brötchen            ', '          0,45 EUR']
    display.wait_for("SUMME")             # block until the text is on screen
    display.errors                        # bytes it did not understand (a test fails on them)
    display.seen                          # the last screens shown, oldest first
    display.stop()

It interprets what a DM-D110/DM-D210-class display does: ``ESC @`` initialise, ``ESC t n``
character table (0 PC437, 19 PC858), ``ESC R n`` international set, ``FF``/``CLR`` clear,
``CAN`` clear the cursor line, ``HOM`` (0x0B) home, ``US $ x y`` cursor, ``HT``/``BS``/``LF``/
``CR`` cursor moves, ``US MD1``/``MD2``/``MD3`` overwrite/vertical/horizontal scroll mode,
``US C n`` cursor on/off, ``US X n`` brightness, ``US E n`` blink. Characters are written at
the cursor in the selected table (decoded with CPython's codec, independent of the
firmware's table). Host code (CPython).
"""

import collections
import os
import pty
import threading
import time
import tty

TABLES = {0: "cp437", 19: "cp858", 16: "cp1252"}


class VirtualDisplay:
    def __init__(self, columns=20, rows=2):
        self.columns = columns
        self.rows = rows
        self.errors = []
        self.updates = 0
        self.seen = collections.deque(maxlen=500)  # what each write left on the screen
        self._lock = threading.Condition()
        self._reset()
        self.master = self.slave = None
        self.thread = None

    def _reset(self):
        self.screen = [[" "] * self.columns for _ in range(self.rows)]
        self.x = self.y = 0
        self.table = "cp437"
        self.mode = 1
        self.cursor = True
        self.brightness = 4

    @property
    def lines(self):
        with self._lock:
            return ["".join(row) for row in self.screen]

    def start(self):
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.master is not None:
            os.close(self.slave)
            os.close(self.master)
            self.master = self.slave = None
        if self.thread is not None:
            self.thread.join(5)

    def wait_for(self, text, timeout=5):
        deadline = time.monotonic() + timeout
        with self._lock:
            while text not in "\n".join("".join(r) for r in self.screen):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("display never showed %r; it shows %r" % (text, self.lines))
                self._lock.wait(left)
        return self.lines

    def settle(self, quiet=0.15, limit=1.0):
        """Wait until nothing new has arrived for ``quiet`` seconds (at most ``limit``): what
        the firmware wrote before it answered is on the screen then."""
        deadline = time.monotonic() + limit
        with self._lock:
            seen = self.updates
            while time.monotonic() < deadline:
                self._lock.wait(quiet)
                if self.updates == seen:
                    return
                seen = self.updates

    def _run(self):
        data = b""
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                data = self.feed(data + chunk)
                self.updates += 1
                self.seen.append("\n".join("".join(row) for row in self.screen))
                self._lock.notify_all()

    # --- the command interpreter -------------------------------------------------------

    def _put(self, ch):
        if self.x >= self.columns:  # overwrite mode: wrap to the next line's start
            self.x = 0
            self.y = (self.y + 1) % self.rows
        self.screen[self.y][self.x] = ch
        self.x += 1

    def feed(self, data):
        """Interpret ``data``; returns the bytes of an unfinished command to keep."""
        i = 0
        while i < len(data):
            b = data[i]
            need = self._length(data, i)
            if need is None:
                return data[i:]  # wait for the rest of the command
            cmd = data[i : i + need]
            i += need
            if b >= 0x20:
                self._put(bytes([b]).decode(self.table))
            else:
                self._control(cmd)
        return b""

    def _length(self, data, i):
        b = data[i]
        if b >= 0x20 or b in (0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x18):
            return 1
        if i + 1 >= len(data):
            return None
        second = data[i + 1]
        size = {(0x1B, 0x40): 2, (0x1B, 0x74): 3, (0x1B, 0x52): 3, (0x1F, 0x24): 4, (0x1F, 0x01): 2}
        size.update({(0x1F, 0x02): 2, (0x1F, 0x03): 2, (0x1F, 0x43): 3, (0x1F, 0x58): 3, (0x1F, 0x45): 3})
        n = size.get((b, second), 2)
        return n if i + n <= len(data) else None

    def _control(self, cmd):
        b = cmd[0]
        if b == 0x0C:
            self.screen = [[" "] * self.columns for _ in range(self.rows)]
            self.x = self.y = 0
        elif b == 0x18:
            self.screen[self.y] = [" "] * self.columns
            self.x = 0
        elif b == 0x0B:
            self.x = self.y = 0
        elif b == 0x0D:
            self.x = 0
        elif b == 0x0A:
            self.y = min(self.y + 1, self.rows - 1)
        elif b == 0x08:
            self.x = max(self.x - 1, 0)
        elif b == 0x09:
            self.x = min(self.x + 1, self.columns - 1)
        elif cmd == b"\x1b@":
            self._reset()
        elif cmd[:2] == b"\x1bt" and cmd[2] in TABLES:
            self.table = TABLES[cmd[2]]
        elif cmd[:2] == b"\x1bR":
            pass  # international set: the German set only changes characters we never send
        elif cmd[:2] == b"\x1f$" and 1 <= cmd[2] <= self.columns and 1 <= cmd[3] <= self.rows:
            self.x, self.y = cmd[2] - 1, cmd[3] - 1
        elif cmd in (b"\x1f\x01", b"\x1f\x02", b"\x1f\x03"):
            self.mode = cmd[1]
        elif cmd[:2] == b"\x1fC" and cmd[2] in (0, 1):
            self.cursor = bool(cmd[2])
        elif cmd[:2] == b"\x1fX" and 1 <= cmd[2] <= 4:
            self.brightness = cmd[2]
        elif cmd[:2] == b"\x1fE":
            pass  # blink interval: nothing to show in text
        else:
            self.errors.append(bytes(cmd))
