"""Talk to the service console over a serial port in its JSON mode.

    con = ConsoleClient(serial.Serial(port, 115200, timeout=1))
    reply = con.run("status")          # {"ok": True, "cmd": "status", "data": {...}, "text": ...}
    con.run("export dsfinvk", progress=print)   # progress lines go to the callback

The client switches the console to ``mode json`` once and then reads one reply line per
command (``{"progress": ...}`` lines before it go to ``progress``). A reply that does not come
within ``timeout`` seconds of the last line raises ``TimeoutError``; ``resync()`` then waits
for the terminal to answer again. When the terminal restarts (``reboot``, a power cut) its
console comes back new: text mode, nobody logged in. The client sees its banner, switches
it to ``mode json`` again and answers the command it was waiting for with ``{"ok": false,
"code": "restarted"}`` (it was not run: nothing runs before a login).
"""

import json
import time

BANNER = "service console; type help"


def _json(text):
    """The JSON object in a line (a text-mode prompt may precede it), or None."""
    if "{" not in text:
        return None
    try:
        msg = json.loads(text[text.index("{") :])
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None


class ConsoleClient:
    def __init__(self, port, timeout=30.0):
        self.port = port
        self.timeout = timeout
        port.reset_input_buffer()
        self._write("\x03")  # drop whatever half line a previous user left
        self.run("mode json")

    def resync(self, limit=120.0):
        """Until the console answers again (``TimeoutError`` after ``limit`` seconds): Ctrl-C
        and ``mode json`` every few seconds; lines sent while a terminal boots are lost."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            self._write("\x03")
            self._write("mode json")
            wait = min(deadline, time.monotonic() + 3)
            try:
                while True:
                    msg = _json(self._line(wait))
                    if msg is not None and msg.get("cmd") == "mode":
                        return
            except TimeoutError:
                continue
        raise TimeoutError("the console did not come back within %.0f s" % limit)

    def _write(self, text):
        self.port.write(text.encode() + b"\r")
        self.port.flush()

    def _line(self, deadline):
        buf = b""
        while time.monotonic() < deadline:
            buf += self.port.readline()
            if buf.endswith(b"\n"):
                return buf.decode(errors="replace").strip()
        raise TimeoutError("no answer from the console within %.0f s" % self.timeout)

    def run(self, line, progress=None):
        """One command line; the console's reply as a dict."""
        self._write(line)
        return self.reply(progress, line.split())

    def reply(self, progress=None, words=()):
        """The next reply (after a Ctrl-C: the interrupted command's). With the line's
        ``words``, a late reply to another command (a line sent before a reboot, say) is
        passed over: a reply names its command (``"tse selftest"``), or is about the line as a
        whole (``""``: bad quoting, over-long)."""
        deadline = time.monotonic() + self.timeout
        while True:
            text = self._line(deadline)
            if BANNER in text:  # the terminal restarted under us
                self.resync()
                return {
                    "ok": False,
                    "cmd": " ".join(words[:1]),
                    "error": "the terminal restarted (reboot or power cut): log in again;"
                    " the command was not run",
                    "code": "restarted",
                }
            msg = _json(text)
            if msg is None:
                continue  # prompt or echo from text mode: not a reply
            if "progress" in msg:
                deadline = time.monotonic() + self.timeout
                if progress is not None:
                    progress(msg["progress"])
                continue
            named = msg.get("cmd", "").split()
            if words and named != list(words[: len(named)]):
                continue
            return msg

    def commands(self):
        """The command words this user may run (for completion)."""
        reply = self.run("help")
        return [usage.split(" <")[0].split(" [")[0] for usage in reply.get("data", {}).get("commands", [])]
