"""The console's line discipline and word splitting, on both runtimes, with a fuzz test."""

from support import raises

from firmware.console.lines import MAX_LINE, LineBuffer, split


def events(data, chunk=None):
    """The line/error/interrupt events for ``data`` fed in chunks of ``chunk`` bytes."""
    lb = LineBuffer()
    out = []
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        out.extend(e for e in lb.feed(data[i : i + step]) if e[0] != "echo")
    return out


def test_line_endings_cr_lf_crlf():
    assert events(b"status\r\nhelp\rdate\nlog tail\r") == [
        ("line", "status"),
        ("line", "help"),
        ("line", "date"),
        ("line", "log tail"),
    ]
    assert events(b"\r\n\r\n") == [("line", ""), ("line", "")]


def test_editing_keys_and_escape_sequences():
    # backspace and DEL take back one character (a whole UTF-8 one), Ctrl-U the line,
    # arrow keys (ESC [ A) are ignored, a tab is a space
    assert events(b"statuz\x08s\r") == [("line", "status")]
    assert events("€x\x7f\x7fok\r".encode()) == [("line", "ok")]
    assert events(b"garbage\x15help\r") == [("line", "help")]
    assert events(b"\x1b[Ahe\x1b[1;5Dlp\r") == [("line", "help")]
    assert events(b"log\ttail\r") == [("line", "log tail")]


def test_ctrl_c_drops_the_line():
    assert events(b"factory-re\x03status\r") == [("interrupt",), ("line", "status")]


def test_garbage_and_long_lines_are_errors_not_commands():
    ev = events(b"tse\x00setup\r")
    assert ev[0][0] == "error" and "control" in ev[0][1]
    ev = events(b"x" * (MAX_LINE + 1) + b"\rstatus\r")
    assert ev[0][0] == "error" and "too long" in ev[0][1] and ev[1] == ("line", "status")
    ev = events(b"\xff\xfe\r")
    assert ev[0][0] == "error" and "UTF-8" in ev[0][1]
    assert events(b"x" * MAX_LINE + b"\r") == [("line", "x" * MAX_LINE)]


def test_echo_shows_what_was_typed():
    lb = LineBuffer()
    echo = b"".join(e[1] for e in lb.feed(b"ab\x08c\r") if e[0] == "echo")
    assert echo == b"ab\x08 \x08c\r\n"


def test_split_words_and_quotes():
    assert split('config set elster.reason "Defekt, ersetzt"') == [
        "config",
        "set",
        "elster.reason",
        "Defekt, ersetzt",
    ]
    assert split('  a   "b \\" c" ""  ') == ["a", 'b " c', ""]
    assert split("") == []
    assert "quote" in str(raises(ValueError, split, 'login "tech'))
    assert "many" in str(raises(ValueError, split, "a " * 17))


class Lcg:
    """A seeded generator (MicroPython's ``random`` has no ``Random`` class)."""

    def __init__(self, seed):
        self.x = seed

    def randint(self, lo, hi):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return lo + (self.x >> 8) % (hi - lo + 1)


def test_fuzz_any_bytes_any_chunking():
    """Random bytes (biased to the special ones) never raise, never give a line longer than
    the limit or with control characters, and give the same events whatever the chunking."""
    rng = Lcg(7)
    special = b"\r\n\x03\x08\x7f\x15\x1b[\t\x00\xff\xc3\xa4 az"
    for _ in range(150):
        n = rng.randint(0, 700)
        data = bytes(
            special[rng.randint(0, len(special) - 1)] if rng.randint(0, 1) else rng.randint(0, 255)
            for _ in range(n)
        )
        whole = events(data)
        for ev in whole:
            assert ev[0] in ("line", "error", "interrupt")
            if ev[0] == "line":
                assert len(ev[1].encode()) <= MAX_LINE
                assert all(ord(c) >= 0x20 for c in ev[1])
                try:
                    split(ev[1])
                except ValueError:
                    pass
        assert events(data, 1) == whole
        assert events(data, rng.randint(2, 64)) == whole


def _echo(data, chunk):
    lb = LineBuffer()
    out = b""
    for i in range(0, len(data), chunk):
        for e in lb.feed(data[i : i + chunk]):
            if e[0] == "echo":
                out += e[1]
                e[1].decode()  # every echo is whole UTF-8: a terminal in text mode can show it
    return out


def test_a_character_split_across_reads_is_joined_and_bad_bytes_refuse_the_line():
    text = "config set x 5€ äö\r".encode()
    for chunk in (1, 2, 3, 5):
        assert events(text, chunk) == [("line", "config set x 5€ äö")], chunk
        assert _echo(text, chunk) == "config set x 5€ äö\r\n".encode()
    for bad in (b"\xff", b"\xc3", b"\x80", b"\xe2\x82", b"\xc0\xaf", b"\xc3\xc3\xa4"):
        for chunk in (1, 4):
            ev = events(b"status " + bad + b"\rhelp\r", chunk)
            assert ev[0][0] == "error" and "UTF-8" in ev[0][1], (bad, ev)
            assert ev[1] == ("line", "help"), (bad, ev)
            assert "\ufffd" in _echo(b"status " + bad + b"\r", chunk).decode()
    assert events("ab€\x08c\r".encode()[:-1] + b"\r") == [("line", "abc")]  # backspace takes the €
    assert events(b"ab\xe2\x82\x08c\r") == [("line", "abc")]  # ... or the half of it typed
