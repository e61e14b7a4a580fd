"""Talk to the service console over a serial port in its JSON mode.

    con = ConsoleClient(serial.Serial(port, 115200, timeout=1))
    reply = con.run("status")          # {"ok": True, "cmd": "status", "data": {...}, "text": ...}
    con.run("export dsfinvk", progress=print)   # progress lines go to the callback

The client switches the console to ``mode json`` once and then reads one reply line per
command (``{"progress": ...}`` lines before it go to ``progress``). A reply that does not come
within ``timeout`` seconds of the last line raises ``TimeoutError``.
"""

import json
import time


class ConsoleClient:
    def __init__(self, port, timeout=30.0):
        self.port = port
        self.timeout = timeout
        port.reset_input_buffer()
        self._write("\x03")  # drop whatever half line a previous user left
        self.run("mode json")

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
            if "{" not in text:
                continue  # banner, prompt or echo from text mode: not a reply
            try:
                msg = json.loads(text[text.index("{") :])  # a text-mode prompt may precede it
            except ValueError:
                continue
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
