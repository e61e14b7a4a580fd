"""A small logger: levels, a ring buffer for the console's ``log tail``, no secrets ever.

    log = Logger(level=INFO, ring=200, clock=SystemClock())
    log.add_secret(admin_pin)            # this exact text is never written
    tse = log.child("tse")
    tse.info("login admin pin=%s", pin)  # -> "... I tse: login admin pin=***"
    log.tail(10)                         # the last ten lines, oldest first

Every line passes through ``redact`` before it reaches the ring or a stream:

1. values of secret-looking keys (``pin=``, ``puk:``, ``password=``, ``secret=``, ``key=``,
   ``token=``...) become ``***``;
2. card numbers (13 to 19 digits, spaces or dashes allowed between digit groups, that pass
   the Luhn check) keep only their last four digits: ``************1111``;
3. every text registered with ``add_secret`` becomes ``***``.

Formatting is ``%``-style and lazy: a message below the level is never formatted.
"""

DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40

LEVELS = {"debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR}
_LETTER = {DEBUG: "D", INFO: "I", WARNING: "W", ERROR: "E"}

# Key names whose value is masked; matched case-insensitively at the end of a word
# ("admin_pin=", "api-key:"), followed by "=" or ":".
_SECRET_KEYS = ("pin", "puk", "password", "passwd", "secret", "key", "token")
_MASK = "***"
_VALUE_END = " \t\r\n,;)]}\"'"


def _luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_keys(text):
    low = text.lower()
    out = []
    pos = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch not in "=:":
            i += 1
            continue
        # the word before the separator, allowing spaces and quotes ('"pin": "1234"')
        j = i
        while j > 0 and text[j - 1] == " ":
            j -= 1
        if j > 0 and text[j - 1] in "\"'":
            j -= 1
        start = j
        while start > 0 and (low[start - 1].isalpha() or low[start - 1] in "_-"):
            start -= 1
        word = low[start:j]
        if word and any(word == k or word.endswith("_" + k) or word.endswith("-" + k) for k in _SECRET_KEYS):
            v = i + 1
            while v < n and text[v] == " ":
                v += 1
            if v < n and text[v] in "\"'":
                v += 1
            end = v
            while end < n and text[end] not in _VALUE_END:
                end += 1
            if end > v:
                out.append(text[pos:v])
                out.append(_MASK)
                pos = end
                i = end
                continue
        i += 1
    out.append(text[pos:])
    return "".join(out)


def _mask_cards(text):
    out = []
    pos = 0
    i = 0
    n = len(text)
    while i < n:
        if not text[i].isdigit() or (i > 0 and text[i - 1].isdigit()):
            i += 1
            continue
        # a run of digits, single spaces or dashes allowed between digits
        digits = []
        end = i
        j = i
        while j < n:
            if text[j].isdigit():
                digits.append(text[j])
                end = j + 1
                j += 1
            elif text[j] in " -" and j + 1 < n and text[j + 1].isdigit() and digits:
                j += 1
            else:
                break
        number = "".join(digits)
        if 13 <= len(number) <= 19 and _luhn_ok(number):
            out.append(text[pos:i])
            out.append("*" * (len(number) - 4) + number[-4:])
            pos = end
        i = end
    out.append(text[pos:])
    return "".join(out)


def redact(text, secrets=()):
    """``text`` with secrets, secret-keyed values and card numbers masked."""
    for s in secrets:
        if s:
            text = text.replace(s, _MASK)
    return _mask_cards(_mask_keys(text))


class _Sink:
    """What a logger and its children share: ring buffer, secrets, output stream."""

    def __init__(self, ring, stream, clock):
        if ring < 1:
            raise ValueError("ring must hold at least one line")
        self.lines = [None] * ring
        self.next = 0
        self.count = 0
        self.secrets = []
        self.stream = stream
        self.clock = clock

    def emit(self, line):
        self.lines[self.next] = line
        self.next = (self.next + 1) % len(self.lines)
        self.count += 1
        if self.stream is not None:
            self.stream.write(line + "\n")


class Logger:
    """A named logger. ``child(name)`` shares ring, secrets and stream with its parent."""

    def __init__(self, name="ecr", level=INFO, ring=200, stream=None, clock=None, _sink=None):
        self.name = name
        self.level = level
        self._sink = _sink if _sink is not None else _Sink(ring, stream, clock)

    def child(self, name):
        return Logger(name, self.level, _sink=self._sink)

    def add_secret(self, text):
        """Never write ``text`` (a PIN, a PUK, a key) in any line of this logger family."""
        if isinstance(text, (bytes, bytearray)):
            text = text.decode()
        if text and text not in self._sink.secrets:
            self._sink.secrets.append(text)

    def log(self, level, msg, *args):
        if level < self.level:
            return
        if args:
            try:
                msg = msg % args
            except (TypeError, ValueError):
                msg = msg + " " + " ".join(repr(a) for a in args)
        clock = self._sink.clock
        stamp = (str(clock.now()) + " ") if clock is not None else ""
        line = stamp + _LETTER.get(level, "?") + " " + self.name + ": " + msg
        self._sink.emit(redact(line, self._sink.secrets))

    def debug(self, msg, *args):
        self.log(DEBUG, msg, *args)

    def info(self, msg, *args):
        self.log(INFO, msg, *args)

    def warning(self, msg, *args):
        self.log(WARNING, msg, *args)

    def error(self, msg, *args):
        self.log(ERROR, msg, *args)

    def tail(self, n=20):
        """The last ``n`` lines, oldest first."""
        sink = self._sink
        size = len(sink.lines)
        have = min(sink.count, size, n)
        return [sink.lines[(sink.next - have + i) % size] for i in range(have)]
