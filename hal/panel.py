"""A graphic panel with touch (device code): the operator's screen and the customer's.

    panel = board.get("operator_panel")       # a driver: TcpPanel (hal/sim), ...
    panel.width, panel.height                 # the board's size
    await panel.draw(scene)                   # rendered (hal/screen.py), the rows that changed sent
    event = await panel.event()               # ("down"|"up"|"move", x, y) or ("key", name)
    panel.hold(owner); await panel.release(owner)   # the PIN pad takes the panel (see below)

The wire is the one of a MIPI-DCS panel controller (ST7789/ILI9488 class: ``CASET`` 0x2A and
``RASET`` 0x2B with big-endian inclusive bounds, ``RAMWR`` 0x2C with the pixels, ``COLMOD``
0x3A 0x55 for 16 bits a pixel, ``RAMCTRL`` 0xB0 with the little-endian bit, so framebuf's
RGB565 bytes go as they are), framed for a byte stream that has no D/C line: a command byte,
its data length (4 bytes, little-endian), the data. Touch comes back as the registers 0x02 to
0x06 of an FT5x06-class controller (``TD_STATUS``, ``P1_XH`` with the event in bits 7-6:
0 down, 1 up, 2 contact; ``P1_XL``, ``P1_YH``, ``P1_YL``), each report ``b"T"`` and those 5
bytes; a key from a keyboard on the same link is ``b"K"``, a length byte and its name in UTF-8.

``hold(owner)``: while the PIN pad holds a panel, nobody else draws on it (their last scene
is kept and drawn at ``release``) and its touches go to the holder only (``owner.touched``).
"""

import asyncio
import struct

from hal.screen import Panel as Screen

SWRESET, SLPOUT, DISPON = 0x01, 0x11, 0x29
CASET, RASET, RAMWR, COLMOD, RAMCTRL = 0x2A, 0x2B, 0x2C, 0x3A, 0xB0
RGB565_LE = bytes((0x00, 0xF8))  # RAMCTRL: RGB interface off, little-endian pixel bytes
EVENTS = {0: "down", 1: "up", 2: "move"}
MAX_KEY = 32


def command(cmd, data=b""):
    """One framed controller command."""
    return struct.pack("<BI", cmd, len(data)) + data


def init_sequence():
    """What the driver sends when it (re)connects: reset, wake, 16-bit little-endian pixels."""
    return (
        command(SWRESET)
        + command(SLPOUT)
        + command(COLMOD, b"\x55")
        + command(RAMCTRL, RGB565_LE)
        + command(DISPON)
    )


def window(x0, y0, x1, y1):
    """CASET and RASET for the inclusive rectangle (x0, y0)-(x1, y1)."""
    return command(CASET, struct.pack(">HH", x0, x1)) + command(RASET, struct.pack(">HH", y0, y1))


def touch_report(event, x, y):
    """The 5 register bytes of one touch point (the virtual panel's side)."""
    code = {"down": 0, "up": 1, "move": 2}[event]
    return bytes((1, code << 6 | (x >> 8) & 0x0F, x & 0xFF, (y >> 8) & 0x0F, y & 0xFF))


def parse_touch(regs):
    """(event, x, y) of the registers 0x02..0x06; a report that is not one is a ValueError."""
    if len(regs) != 5 or regs[0] & 0x0F not in (0, 1):
        raise ValueError("not a touch report: %r" % (bytes(regs),))
    event = EVENTS.get(regs[1] >> 6)
    if event is None:
        raise ValueError("touch event %d is none of down, up, contact" % (regs[1] >> 6))
    if regs[0] & 0x0F == 0:
        event = "up"  # no finger on the glass any more
    return event, (regs[1] & 0x0F) << 8 | regs[2], (regs[3] & 0x0F) << 8 | regs[4]


def _rows_of(widget, height):
    """The rows a widget can touch: (top, bottom), inclusive."""
    kind, y = widget[0], widget[2]
    if kind == "text":
        return y, y + 16 * widget[5] - 1
    if kind in ("rect", "button", "bars"):
        return y, y + widget[4] - 1
    return y, height - 1  # a QR code: as tall as its text makes it


def dirty_rows(old, new, height):
    """The rows where scene ``new`` can differ from ``old`` when drawn over it: the widgets
    in one and not the other (both drawn whole each time; overlapping widgets keep their
    order). (top, bottom), or None if the scenes are the same."""
    if old is None or not old or not new or old[0] != new[0]:
        return 0, height - 1
    if old == new:
        return None
    before, after = set(old), set(new)
    top, bottom = height, -1
    for widget in before.symmetric_difference(after):
        a, b = _rows_of(widget, height)
        top, bottom = min(top, a), max(bottom, b)
    if bottom < 0:
        return None
    return max(0, top), min(height - 1, bottom)


class Panel:
    """The interface: a driver gives ``_send(data)`` and ``_read_event()``; one task (started
    by the first ``event()`` or ``listen()``) reads the events and hands each to the holder
    or to the queue ``event()`` takes from (the latest ``QUEUE`` kept)."""

    QUEUE = 16
    CHUNK = 16  # rows a write

    def __init__(self, width, height, mono=False):
        self.width, self.height, self.mono = width, height, mono
        self._scene = None  # the scene on the glass (None: unknown, the next is sent whole)
        self._holder = None
        self._pending = None  # a frame drawn while held, shown at release
        self._events = []
        self._ready = asyncio.Event()
        self._pump_task = None
        self._lock = asyncio.Lock()
        self.canvas = None  # the framebuffer (hal.screen.Panel), made at the first draw

    async def _send(self, data):
        """Write ``data`` (bytes or a memoryview) to the controller."""
        raise NotImplementedError

    async def _read_event(self):
        raise NotImplementedError

    def listen(self):
        if self._pump_task is None:
            self._pump_task = asyncio.create_task(self._pump())

    async def _pump(self):
        while True:
            ev = await self._read_event()
            holder = self._holder
            if holder is not None:
                holder.touched(ev)
            else:
                self._events.append(ev)
                del self._events[: -self.QUEUE]
                self._ready.set()

    async def event(self):
        """The next touch or key for whoever does not hold the panel."""
        self.listen()
        while not self._events:
            self._ready.clear()
            await self._ready.wait()
        return self._events.pop(0)

    def hold(self, owner):
        """``owner`` (with ``touched(event)``) alone draws and gets the touches until ``release``."""
        self.listen()
        self._holder = owner
        self._events = []  # a touch from before is nobody's

    @property
    def held(self):
        return self._holder is not None

    async def draw(self, scene, owner=None):
        """Render ``scene`` (hal/screen.py widgets, tuples all through) on the panel's
        framebuffer and send the rows where it differs from the last one. While another
        owner holds the panel the scene waits and is drawn at ``release``. True if pixels
        went to the panel."""
        if self._holder is not None and owner is not self._holder:
            self._pending = scene
            return False
        async with self._lock:  # one frame at a time on the wire
            rows = dirty_rows(self._scene, scene, self.height)
            if rows is None:
                return False
            if self.canvas is None:
                self.canvas = Screen(self.width, self.height, self.mono)
            self.canvas.render(scene)
            self._scene = None  # until it is on the glass
            await self._flush(*rows)
            self._scene = scene
        return True

    async def _flush(self, top, bottom):
        """Rows ``top`` to ``bottom`` of the framebuffer to the controller, ``CHUNK`` rows a
        write (no copy of the whole frame; the loop runs between the chunks)."""
        buf = self.canvas.buf
        stride = len(buf) // self.height
        view = memoryview(buf)
        head = window(0, top, self.width - 1, bottom) + struct.pack("<BI", RAMWR, (bottom + 1 - top) * stride)
        await self._send(head)
        for row in range(top, bottom + 1, self.CHUNK):
            end = min(bottom + 1, row + self.CHUNK)
            await self._send(view[row * stride : end * stride])

    async def release(self, owner):
        """``owner`` is done: the scene others drew meanwhile goes on the glass."""
        if self._holder is not owner:
            return
        self._holder = None
        scene, self._pending = self._pending, None
        if scene is not None:
            await self.draw(scene)

    def lost(self):
        """The link went: the next frame is sent whole."""
        self._scene = None

    def stop(self):
        if self._pump_task is not None:
            self._pump_task.cancel()
            self._pump_task = None
