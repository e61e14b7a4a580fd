"""Virtual touch panels: the controller end of the framed DCS wire of hal/panel.py, on
loopback, for the simulator and its browser terminal (host code).

    panel = VirtualPanel("operator", 800, 480).start()   # panel.port: the firmware connects
    panel.wait_drawn()                 # until a frame came
    panel.tap(400, 300)                # a finger: an FT5x06 report down, then up
    panel.key("Enter")                 # a key of the keyboard on the same link
    panel.image()                      # a PIL image of the glass
    panel.listeners.append(callback)   # callback(top, bottom) after each RAMWR
    panel.errors                       # what the controller did not understand

It keeps the controller's pixel RAM (RGB565, little-endian as ``RAMCTRL`` asks, or
big-endian after a reset), takes ``CASET``/``RASET``/``RAMWR`` as a real controller does
(a write outside the panel, or with a pixel count the window does not hold, is an error and
changes nothing), and sends touch reports and keys to the connection it has. A new
connection (the firmware restarted) replaces the old one.

``PinRobot`` is the simulator's customer finger on the customer panel: ``type(entry)``
queues what a customer types; when the PIN pad's own screen (hal/pinscreen.py) is on the
glass, unchanged since it appeared, the robot touches the keys: the digits and "OK" (``""``:
"OK" only, ``"C"``: cancel); on the application choice, ``"2"`` touches the second one.
"""

import io
import struct
import threading
import time

from hal import panel as wire
from hal import pinscreen
from hal.screen import Panel as Screen
from tools.sim import listen


class VirtualPanel:
    def __init__(self, name, width, height):
        self.name, self.width, self.height = name, width, height
        self.ram = bytearray(width * height * 2)
        self.little = False  # RAMCTRL's endian bit: after a reset the controller is big-endian
        self.window = (0, 0, width - 1, height - 1)
        self.frames = 0
        self.errors = []
        self.listeners = []  # callables(top, bottom) after each RAMWR (on the panel's thread)
        self._lock = threading.Condition()
        self._conn = None
        self._srv = None

    def start(self):
        self._srv = listen("panel-" + self.name, self._serve)
        self.port = self._srv.getsockname()[1]
        return self

    def stop(self):
        if self._srv is not None:
            self._srv.close()
            self._srv = None
        self._drop()

    def _drop(self):
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _serve(self, conn):
        self._drop()  # a new connection (the firmware restarted) replaces the old one
        with self._lock:
            self._conn = conn
        f = conn.makefile("rb")
        try:
            while True:
                head = f.read(5)
                if len(head) < 5:
                    return
                cmd, n = struct.unpack("<BI", head)
                if n > len(self.ram):
                    self.errors.append("command %02x with %d bytes: more than the panel holds" % (cmd, n))
                    return
                data = f.read(n)
                if len(data) < n:
                    return
                self._command(cmd, data)
        except OSError:
            return
        finally:
            f.close()

    def _command(self, cmd, data):
        if cmd == wire.SWRESET:
            self.little, self.window = False, (0, 0, self.width - 1, self.height - 1)
        elif cmd in (wire.SLPOUT, wire.DISPON):
            pass
        elif cmd == wire.COLMOD:
            if data != b"\x55":
                self.errors.append("COLMOD %s: only 16 bits a pixel" % data.hex())
        elif cmd == wire.RAMCTRL and len(data) == 2:
            self.little = bool(data[1] & 0x08)
        elif cmd in (wire.CASET, wire.RASET) and len(data) == 4:
            a, b = struct.unpack(">HH", data)
            limit = self.width if cmd == wire.CASET else self.height
            if not a <= b < limit:
                name = "CASET" if cmd == wire.CASET else "RASET"
                self.errors.append("%s %d..%d outside the panel" % (name, a, b))
                return
            x0, y0, x1, y1 = self.window
            self.window = (a, y0, b, y1) if cmd == wire.CASET else (x0, a, x1, b)
        elif cmd == wire.RAMWR:
            self._write(data)
        else:
            self.errors.append("command %02x with %d bytes not understood" % (cmd, len(data)))

    def _write(self, data):
        x0, y0, x1, y1 = self.window
        row = (x1 - x0 + 1) * 2
        if len(data) % row or len(data) // row > y1 - y0 + 1:
            self.errors.append("RAMWR of %d bytes does not fit the window %r" % (len(data), self.window))
            return
        if not self.little:
            swapped = bytearray(len(data))
            swapped[0::2], swapped[1::2] = data[1::2], data[0::2]
            data = bytes(swapped)
        rows = len(data) // row
        with self._lock:
            for r in range(rows):
                at = ((y0 + r) * self.width + x0) * 2
                self.ram[at : at + row] = data[r * row : (r + 1) * row]
            self.frames += 1
            self._lock.notify_all()
        for listener in self.listeners:
            listener(y0, y0 + rows - 1)

    # --- the finger and the keyboard ------------------------------------------------------

    def _send(self, data):
        with self._lock:
            conn = self._conn
        if conn is None:
            return False
        try:
            conn.sendall(data)
        except OSError:
            return False
        return True

    def touch(self, event, x, y):
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise ValueError("(%d, %d) is not on the %s panel" % (x, y, self.name))
        return self._send(b"T" + wire.touch_report(event, x, y))

    def tap(self, x, y):
        return self.touch("down", x, y) and self.touch("up", x, y)

    def key(self, name):
        data = name.encode()
        if not 1 <= len(data) <= wire.MAX_KEY:
            raise ValueError("a key name is 1 to %d bytes" % wire.MAX_KEY)
        return self._send(b"K" + bytes((len(data),)) + data)

    # --- what is on the glass ---------------------------------------------------------------

    def pixels(self, top=0, bottom=None):
        """The RGB565 little-endian bytes of rows ``top`` to ``bottom`` (inclusive)."""
        bottom = self.height - 1 if bottom is None else bottom
        with self._lock:
            return bytes(self.ram[top * self.width * 2 : (bottom + 1) * self.width * 2])

    def wait_drawn(self, frames=1, timeout=10):
        """Until ``frames`` frames have come since the panel started; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.frames < frames:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def wait_for(self, predicate, timeout=10):
        """Until ``predicate(pixels)`` holds for the glass; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self.ram):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.2))
        return True

    def image(self):
        import PIL.Image

        data = self.pixels()
        rgb = bytearray(self.width * self.height * 3)
        for i in range(self.width * self.height):
            v = data[2 * i] | data[2 * i + 1] << 8
            rgb[3 * i] = (v >> 8) & 0xF8
            rgb[3 * i + 1] = (v >> 3) & 0xFC
            rgb[3 * i + 2] = (v << 3) & 0xF8
        return PIL.Image.frombytes("RGB", (self.width, self.height), bytes(rgb))

    def png(self):
        out = io.BytesIO()
        self.image().save(out, "PNG")
        return out.getvalue()


def rendered(size, scene):
    """The bytes hal/screen.py draws for ``scene`` (the firmware's own renderer)."""
    screen = Screen(size[0], size[1])
    screen.render(scene)
    return bytes(screen.buf)


class PinRobot(threading.Thread):
    """The customer's finger on the customer panel (see the module's doc)."""

    def __init__(self, panel):
        threading.Thread.__init__(self, daemon=True, name="pin-robot")
        self.panel = panel
        size = (panel.width, panel.height)
        self.fresh_pad = rendered(size, pinscreen.pad(size, 0))
        title_rows = 40 * panel.width * 2  # the choice screen: its title strip says what it is
        self.choice_title = rendered(size, pinscreen.choice(size, []))[:title_rows]
        self.queue = []
        self._cond = threading.Condition()
        self._stop = False

    def type(self, entry):
        with self._cond:
            self.queue.append(entry)
            self._cond.notify_all()

    def clear(self):
        with self._cond:
            self.queue = []

    def stop(self):
        self._stop = True
        with self._cond:
            self._cond.notify_all()

    def _screen(self, ram):
        if bytes(ram) == self.fresh_pad:
            return "pad"
        if bytes(ram[: len(self.choice_title)]) == self.choice_title:
            return "choice"
        return None

    def run(self):
        size = (self.panel.width, self.panel.height)
        while not self._stop:
            with self._cond:
                while not self.queue and not self._stop:
                    self._cond.wait(0.5)
                if self._stop:
                    return
            if not self.panel.wait_for(lambda ram: self._screen(ram) is not None, timeout=0.5):
                continue
            with self._cond:
                if not self.queue:
                    continue
                entry = self.queue.pop(0)
            before = self.panel.pixels()
            if self._screen(before) == "pad":
                keys = {k: (x + w // 2, y + h // 2) for x, y, w, h, k in pinscreen.pad_keys(size)}
                presses = ["C"] if entry == "C" else list(entry) + ["OK"]
            else:
                keys = {k: (x + w // 2, y + h // 2) for x, y, w, h, k in pinscreen.choice_keys(size, 4)}
                presses = [entry if entry in keys and entry != "" else "C"]
            for press in presses:
                if press in keys:
                    self.panel.tap(*keys[press])
                    time.sleep(0.02)
            # the pad goes (or shows stars) before the next entry may be typed
            self.panel.wait_for(lambda ram, shown=before: bytes(ram) != shown, timeout=3)
