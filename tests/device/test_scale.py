"""The scale on both runtimes (hal/scale.py): the NCI/ECR replies a scale sends become grams,
every status a scale can report is a clear refusal, and garbage is never a weight."""

from support import raises, run

from hal.scale import Scale, ScaleError, parse


def test_weights_in_kilograms_and_grams():
    assert parse(b"\n01.250KG\r\nS00\r\x03") == 1250
    assert parse(b"\n 0.805kg\r\nS00\r\x03") == 805
    assert parse(b"\n00750G\r\nS00\r\x03") == 750
    assert parse(b"\n12.5KG\r\nS\xb0\xb0\r\x03") == 12500  # parity bits set: masked off


def test_every_status_is_a_clear_refusal():
    for status, words in (
        (b"10", "Bewegung"),
        (b"01", "unter Null"),
        (b"02", "überlastet"),
        (b"40", "RAM"),
        (b"08", "kalibriert"),
    ):
        e = raises(ScaleError, parse, b"\nS" + status + b"\r\x03")
        assert words in str(e), (status, e)
    assert "nichts aufgelegt" in str(raises(ScaleError, parse, b"\n00.000KG\r\nS20\r\x03"))
    assert "kein Gewicht" in str(raises(ScaleError, parse, b"\nS00\r\x03"))


def test_garbage_is_never_a_weight():
    for reply in (
        b"",
        b"\n01.250KG\r\nS00\r",  # no ETX
        b"\n01.250LB\r\nS00\r\x03",  # pounds
        b"\n1.2.3KG\r\nS00\r\x03",
        b"\n01.2505KG\r\nS00\r\x03",  # finer than a gram
        b"\n01.250KG\r\nX00\r\x03",
        b"\n01.250KG\r\nS\x00\x00\r\x03",
        b"\n\x1b01.250KG\r\nS00\r\x03",
        b"\n?\r\x03",
        b"a\rb\rc\r\x03",
    ):
        raises(ScaleError, parse, reply)


class Link:
    """A link that answers each request with the next of ``replies`` (bytes or an error)."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.sent = []
        self._pending = b""

    async def send(self, data, timeout_ms=2000):
        self.sent.append(bytes(data))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        self._pending = reply

    async def recv(self, n, timeout_ms=500):
        from core.errors import DeviceError

        if not self._pending:
            raise DeviceError("scale does not answer")
        out, self._pending = self._pending[:3], self._pending[3:]  # in pieces, as a UART gives them
        return out

    def reset(self):
        self._pending = b""

    def close(self):
        pass


def test_the_driver_asks_with_w_cr_and_reads_the_reply_in_pieces():
    from core.errors import DeviceError

    link = Link(b"\n02.000KG\r\nS00\r\x03", b"\nS10\r\x03", DeviceError("no line"), b"\n01.0")
    scale = Scale(link)
    assert run(scale.weight()) == 2000 and link.sent == [b"W\r"]
    assert "Bewegung" in str(raises(ScaleError, run, scale.weight()))
    assert "nicht erreichbar" in str(raises(ScaleError, run, scale.weight()))
    assert "nicht erreichbar" in str(raises(ScaleError, run, scale.weight()))  # cut off mid-reply
