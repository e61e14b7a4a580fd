"""The console's line discipline and command-line splitting, sans I/O (device code).

    lines = LineBuffer()
    for event in lines.feed(data):      # bytes as they come off the UART, any chunking
        kind = event[0]                 # "line" (text), "error" (message), "interrupt", "echo" (bytes)
    split('config set log.level "debug"')   # ['config', 'set', 'log.level', 'debug']

A serial line delivers whatever the technician's terminal (or line noise) sends. The buffer
ends a line at CR, LF or CR LF; Ctrl-C (ETX) drops the line being typed and is reported as
``interrupt`` (the console cancels a running command with it); backspace/DEL and Ctrl-U edit
the line; ANSI escape sequences (arrow keys) are skipped. A line longer than ``MAX_LINE``
bytes, one with other control bytes or one that is not UTF-8 becomes one ``error`` event and
is never run. Bytes are decoded as they come: a character split across two reads ("€" is
three bytes) is joined, an invalid byte is shown as U+FFFD and refuses its line. ``echo``
events carry what a terminal should show for the keys typed (only asked for in text mode),
always whole UTF-8 characters. The line, error and interrupt events do not depend on how the
input was cut into chunks.
"""

from micropython import const

MAX_LINE = const(512)
MAX_ARGS = const(16)
_ETX = const(3)  # Ctrl-C
_BS = const(8)
_TAB = const(9)
_LF = const(10)
_CR = const(13)
_NAK = const(21)  # Ctrl-U
_ESC = const(27)
_DEL = const(127)


class LineBuffer:
    def __init__(self, max_line=MAX_LINE):
        self.max_line = max_line
        self.buf = bytearray()
        self.too_long = False
        self.garbage = False
        self.after_cr = False
        self.esc = 0  # 1: after ESC, 2: inside an ESC [ ... sequence
        self.char = bytearray()  # the bytes of a character not yet whole
        self.need = 0  # continuation bytes it still needs
        self.invalid = False

    def _reset(self):
        self.buf = bytearray()
        self.too_long = False
        self.garbage = False
        self.char = bytearray()
        self.need = 0
        self.invalid = False

    def _broken(self, echo):
        """A byte that cannot be UTF-8 here: the line is refused; the terminal shows U+FFFD."""
        self.invalid = True
        self.need = 0
        self.char = bytearray()
        echo.extend(b"\xef\xbf\xbd")

    def _text(self, b, echo):
        """One byte of text: ASCII at once, a multi-byte character once it is whole."""
        if b < 0x80 or b >= 0xC0:  # ASCII or a lead byte: a character still open is broken
            if self.need:
                self._broken(echo)
            if b < 0x80:
                self.buf.append(b)
                echo.append(b)
                return
            need = 1 if 0xC2 <= b <= 0xDF else 2 if 0xE0 <= b <= 0xEF else 3 if 0xF0 <= b <= 0xF4 else 0
            if not need:
                self._broken(echo)
                return
            self.need = need
            self.char = bytearray((b,))
            return
        if not self.need:  # a continuation byte without a lead byte
            self._broken(echo)
            return
        self.char.append(b)
        self.need -= 1
        if not self.need:
            self.buf.extend(self.char)
            echo.extend(self.char)
            self.char = bytearray()

    def _end(self, out):
        if self.too_long:
            out.append(("error", "line too long (more than %d bytes): ignored" % self.max_line))
        elif self.garbage:
            out.append(("error", "control characters in the line: ignored"))
        elif self.invalid:
            out.append(("error", "the line is not UTF-8 text: ignored"))
        else:
            try:
                text = bytes(self.buf).decode()
            except UnicodeError:
                text = None
            if text is None:
                out.append(("error", "the line is not UTF-8 text: ignored"))
            else:
                out.append(("line", text))
        self._reset()

    def feed(self, data):
        """Events for the bytes ``data`` (see the module text)."""
        out = []
        echo = bytearray()
        for b in data:
            if self.esc:
                if self.esc == 1:
                    self.esc = 2 if b == 0x5B else 0  # ESC [ opens a CSI sequence
                elif 0x40 <= b <= 0x7E:
                    self.esc = 0  # the final byte ends it
                continue
            if b == _LF and self.after_cr:
                self.after_cr = False
                continue
            self.after_cr = b == _CR
            if b == _CR or b == _LF:
                if self.need:  # the line ends inside a character
                    self._broken(echo)
                if echo:
                    out.append(("echo", bytes(echo)))
                    echo = bytearray()
                out.append(("echo", b"\r\n"))
                self._end(out)
            elif b == _ETX:
                if echo:
                    out.append(("echo", bytes(echo)))
                    echo = bytearray()
                out.append(("echo", b"^C\r\n"))
                out.append(("interrupt",))
                self._reset()
            elif (b == _BS or b == _DEL) and self.need:
                self.need = 0  # the character not yet whole goes
                self.char = bytearray()
            elif b == _BS or b == _DEL:
                if self.buf and not self.too_long:
                    # drop a whole UTF-8 character: continuation bytes are 10xxxxxx
                    end = len(self.buf) - 1
                    while end > 0 and self.buf[end] & 0xC0 == 0x80:
                        end -= 1
                    self.buf = self.buf[:end]
                    echo.extend(b"\x08 \x08")
            elif b == _NAK:
                echo.extend(b"\x08 \x08" * len(self.buf))
                self._reset()
            elif b == _ESC:
                self.esc = 1
            elif b < 0x20 and b != _TAB:
                self.garbage = True
            elif len(self.buf) + len(self.char) >= self.max_line:
                self.too_long = True
            else:
                self._text(0x20 if b == _TAB else b, echo)
        if echo:
            out.append(("echo", bytes(echo)))
        return out


def split(line):
    """The words of a command line. Double quotes keep spaces in a word; inside them ``\\"``
    and ``\\\\`` stand for ``"`` and ``\\``. ``ValueError`` for an unclosed quote or too many
    words."""
    words = []
    word = None
    quoted = False
    i = 0
    n = len(line)
    while i < n:
        c = line[i]
        if quoted:
            if c == "\\" and i + 1 < n and line[i + 1] in '"\\':
                word += line[i + 1]
                i += 1
            elif c == '"':
                quoted = False
            else:
                word += c
        elif c == '"':
            quoted = True
            word = word or ""
        elif c == " ":
            if word is not None:
                words.append(word)
                word = None
        else:
            word = (word or "") + c
        i += 1
    if quoted:
        raise ValueError("unclosed quote")
    if word is not None:
        words.append(word)
    if len(words) > MAX_ARGS:
        raise ValueError("too many words (at most %d)" % MAX_ARGS)
    return words
