"""The panel wire on both runtimes (hal/panel.py): what the driver puts on the wire is a DCS
controller's CASET/RASET/RAMWR with exactly the rows that changed, the touch controller's
reports decode (and garbage does not), a held panel keeps others' scenes for later, and the
PIN pad on the glass (hal/touchpin.py) takes digits, OK, C and the application choice."""

import asyncio
import struct

from support import raises, run

from hal import panel as wire
from hal import pinscreen
from hal.panel import Panel, dirty_rows
from hal.screen import BLACK, WHITE
from hal.screen import Panel as Screen
from hal.touchpin import PanelPinPad

W, H = 96, 64  # small and mono: the runner's heap


class FakePanel(Panel):
    """A panel whose controller is a byte list; events come from ``feed``."""

    def __init__(self, width=W, height=H):
        Panel.__init__(self, width, height, mono=True)
        self.wire = bytearray()
        self.inbox = []
        self._more = asyncio.Event()

    async def _send(self, data):
        self.wire += bytes(data)

    async def _read_event(self):
        while not self.inbox:
            self._more.clear()
            await self._more.wait()
        return self.inbox.pop(0)

    def feed(self, *events):
        self.inbox += list(events)
        self._more.set()


def _commands(data):
    out, at = [], 0
    while at < len(data):
        cmd, n = struct.unpack("<BI", data[at : at + 5])
        out.append((cmd, bytes(data[at + 5 : at + 5 + n])))
        at += 5 + n
    return out


def test_a_frame_goes_as_caset_raset_ramwr_with_the_changed_rows_only():
    async def go():
        p = FakePanel()
        first = [("fill", 0), ("text", 0, 0, "Summe", 1, 1)]
        assert await p.draw(first)
        cmds = _commands(p.wire)
        assert [c for c, _ in cmds] == [wire.CASET, wire.RASET, wire.RAMWR]
        assert struct.unpack(">HH", cmds[0][1]) == (0, W - 1) and struct.unpack(">HH", cmds[1][1]) == (
            0,
            H - 1,
        )
        assert cmds[2][1] == bytes(p.canvas.buf)  # the whole glass at first
        p.wire = bytearray()
        assert not await p.draw(list(first))  # the same scene: nothing on the wire
        assert p.wire == b""
        second = first + [("text", 0, 32, "12,50 €", 1, 1)]
        assert await p.draw(second)
        cmds = _commands(p.wire)
        assert struct.unpack(">HH", cmds[1][1]) == (32, 47)  # the new line's 16 rows
        stride = (W + 7) // 8
        assert cmds[2][1] == bytes(p.canvas.buf[32 * stride : 48 * stride])
        ref = Screen(W, H, mono=True)
        ref.render(second)
        assert bytes(p.canvas.buf) == bytes(ref.buf)
        p.lost()  # the link went: the next frame is whole again
        p.wire = bytearray()
        await p.draw(second + [("rect", 0, 60, 4, 2, 1, True)])
        assert struct.unpack(">HH", _commands(p.wire)[1][1]) == (0, H - 1)

    run(go())


def test_dirty_rows_cover_what_changed_and_nothing_else():
    a = [("fill", WHITE), ("text", 4, 10, "A", BLACK, 2), ("button", 0, 40, 20, 10, "x", 0, 1, 1)]
    assert dirty_rows(None, a, 64) == (0, 63)
    assert dirty_rows(a, list(a), 64) is None
    b = a[:1] + [("text", 4, 10, "B", BLACK, 2)] + a[2:]
    assert dirty_rows(a, b, 64) == (10, 41)  # the scale-2 glyph: 32 rows
    assert dirty_rows(a, [("fill", BLACK)] + a[1:], 64) == (0, 63)  # a new background: all
    assert dirty_rows(a, a + [("qr", 0, 30, "x", 1, 0, 1)], 64) == (30, 63)


def test_touch_reports_decode_and_garbage_is_refused():
    for event in ("down", "up", "move"):
        assert wire.parse_touch(wire.touch_report(event, 799, 479)) == (event, 799, 479)
    assert wire.parse_touch(bytes((0, 0, 1, 0, 2))) == ("up", 1, 2)  # no finger: lifted
    assert "event 3" in str(raises(ValueError, wire.parse_touch, bytes((1, 0xC0, 0, 0, 0))))
    raises(ValueError, wire.parse_touch, b"\x05\x00\x00\x00\x00")  # five fingers: not this controller
    raises(ValueError, wire.parse_touch, b"\x01\x00")
    seq = _commands(wire.init_sequence())
    assert (wire.COLMOD, b"\x55") in seq and (wire.RAMCTRL, wire.RGB565_LE) in seq


def test_a_held_panel_keeps_other_scenes_until_it_is_released():
    async def go():
        p = FakePanel()
        owner = object()
        owner_scene = [("fill", 1)]
        p.hold(owner)
        assert not await p.draw([("fill", 0), ("text", 0, 0, "Summe", 1, 1)])  # waits
        assert p.wire == b""
        assert await p.draw(owner_scene, owner)
        assert bytes(p.canvas.buf) == b"\xff" * len(p.canvas.buf)
        await p.release(owner)
        ref = Screen(W, H, mono=True)
        ref.render([("fill", 0), ("text", 0, 0, "Summe", 1, 1)])
        assert bytes(p.canvas.buf) == bytes(ref.buf)  # the waiting scene, drawn at release

    run(go())


def _centre(keys, name):
    for x, y, w, h, key in keys:
        if key == name:
            return ("down", x + w // 2, y + h // 2)
    raise AssertionError(name)


def test_the_pin_pad_on_the_glass_takes_digits_ok_and_cancel():
    async def go():
        p = FakePanel(480, 272)
        told = []

        async def show(kind, value):
            told.append((kind, value))

        pad = PanelPinPad(p, timeout_s=5)
        pad.on_event = show
        keys = pinscreen.pad_keys((480, 272))
        other = [("fill", 0), ("text", 0, 0, "Summe", 1, 1)]
        p.feed(("key", "1"), _centre(keys, "1"), ("up", 0, 0), _centre(keys, "2"))
        p.feed(_centre(keys, "3"), _centre(keys, "4"), (("down", 1, 1)), _centre(keys, "OK"))
        entry = asyncio.create_task(pad._entry())
        await asyncio.sleep(0)
        await p.draw(other)  # the application draws meanwhile: it waits
        digits = await entry
        assert bytes(digits) == b"1234" and not p.held
        ref = Screen(480, 272, mono=True)
        ref.render(other)
        assert bytes(p.canvas.buf) == bytes(ref.buf)  # the application's scene is back
        p.feed(_centre(keys, "5"), _centre(keys, "C"))
        assert await pad._entry() is None  # cancelled
        p.feed(_centre(keys, "OK"))
        assert await pad._entry() is None  # nothing typed: a bypass
        choice = pinscreen.choice_keys((480, 272), 2)
        p.feed(_centre(choice, "2"))
        assert await pad.choose(["girocard", "Maestro"]) == 1
        assert told[-1] == ("choose", ["girocard", "Maestro"])
        p.feed(_centre(choice, "C"))
        assert await pad.choose(["girocard", "Maestro"]) is None

    run(go())


def test_the_pin_pad_screens_show_stars_never_digits_and_the_banner():
    scene = pinscreen.pad((480, 272), 3)
    texts = [w[3] for w in scene if w[0] == "text"]
    assert texts[:2] == ["PIN eingeben", "***"] and pinscreen.BANNER in texts
    assert [w[5] for w in scene if w[0] == "button"] == list(pinscreen.PAD_KEYS)
    keys = pinscreen.pad_keys((480, 272))
    for x, y, w, h, key in keys:
        assert pinscreen.key_at(keys, x + w // 2, y + h // 2) == key
        assert 0 <= x and x + w <= 480 and 0 <= y and y + h <= 252  # above the banner
    assert pinscreen.key_at(keys, 0, 0) is None
    labels = [w[5] for w in pinscreen.choice((480, 272), ["girocard", "Maestro"]) if w[0] == "button"]
    assert labels == ["1  girocard", "2  Maestro", "Abbruch"]
    Screen(480, 272, mono=True).render(scene)
