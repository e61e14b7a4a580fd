"""The service console: one session on a serial line, run as its own task (device code).

    services = ConsoleServices(config, log, clock, board, journal, till, terminal, tse, tse_client,
                               client_id, platform, boot_ms, reboot)
    console = Console(services, users)
    asyncio.create_task(console.run())        # the board's ``console`` line, reopened after errors
    await console.serve(reader, writer)       # or any asyncio stream pair (tests)

What arrives goes through ``LineBuffer`` (line editing, Ctrl-C, garbage) and ``split``; each
command runs as a task of its own, so the reader keeps reading: Ctrl-C stops a command that
may stop (exports, journal check: nothing is left half-written), lines typed meanwhile wait
their turn, and selling never waits for the console (long work yields to other tasks).

Text mode (the default, for a terminal program): typed keys are echoed, replies are text, a
prompt follows each reply, ``login <user>`` alone asks for the PIN without echo. ``mode json``:
no echo and no prompt; every reply is one JSON line ``{"ok": true, "cmd": ..., "data": ...,
"text": ...}`` or ``{"ok": false, "cmd": ..., "error": ..., "code": ...}``, a long command sends
``{"progress": ...}`` lines before it. Every login, failed login, lockout and privileged command
is journaled (type ``console``); secrets in command lines are masked in journal and log.
"""

import asyncio
import json

from core.errors import EcrError
from firmware import VERSION
from firmware.console import commands
from firmware.console.lines import LineBuffer, split
from firmware.console.users import LoginError
from tse_sd.errors import TseError

MAX_WAITING = 8  # lines typed while a command runs


class ConsoleServices:
    """What the console works with, and all it can reach: the configuration (read; the settings
    a technician changes go through ``firmware.config``), the log, the clock, the board's
    devices, the journal, the Till (sales, closings, journal checks), the terminal (its print
    queue, drawer and last scan), the TSE's service and client (``None`` on a board without a
    TSE), what ``status`` names (the register's client id, the platform, the boot time) and
    ``reboot()``. The firmware builds it at boot (firmware/main.py)."""

    def __init__(
        self,
        config,
        log,
        clock,
        board,
        journal,
        till,
        terminal,
        tse=None,
        tse_client=None,
        client_id="",
        platform="",
        boot_ms=0,
        reboot=None,
    ):
        self.config = config
        self.log = log
        self.clock = clock
        self.board = board
        self.journal = journal
        self.till = till
        self.terminal = terminal
        self.tse = tse
        self.tse_client = tse_client
        self.client_id = client_id
        self.platform = platform
        self.boot_ms = boot_ms
        self.reboot = reboot


def _asks_for_pin(text):
    """``login <user>`` in text mode: the console asks for the PIN on the next line."""
    try:
        words = split(text)
    except ValueError:
        return False
    return len(words) == 2 and words[0] == "login"


class Console:
    def __init__(self, svc, users):
        self.svc = svc
        self.users = users
        self.log = svc.log.child("console")
        self.lines = LineBuffer()
        self.writer = None
        self.json = False
        self.user = None  # {"name", "role", "must_change"} while logged in
        self.pin_for = None  # ``login <user>`` waits for the PIN on the next line
        self.hiding = False  # the next line is a PIN: not echoed, even when typed ahead
        self.task = None
        self.cancellable = False
        self.waiting = []
        self.last = svc.clock.ticks_ms()

    # --- the line ------------------------------------------------------------------------

    async def run(self):
        """Serve the board's console line for ever; an I/O error closes and reopens it."""
        line = self.svc.board.get("console")
        while True:
            writer = None
            try:
                reader, writer = await line.open()
                self.log.info("service console on %s", line.where)
                await self.serve(reader, writer)
            except (OSError, EcrError) as e:
                self.log.warning("console line %s: %s; reopening", line.where, e)
            finally:
                if writer is not None:
                    writer.close()
            await asyncio.sleep(2)

    async def serve(self, reader, writer):
        """Until the line ends (``OSError``) or the task is cancelled."""
        self.writer = writer
        watch = asyncio.create_task(self._watch())
        try:
            await self._send("smartECR %s service console; type help\r\n" % VERSION)
            await self._prompt()
            while True:
                data = await reader.read(256)
                if not data:
                    raise OSError("the console line closed")
                for event in self.lines.feed(data):
                    await self._event(event)
        finally:
            watch.cancel()
            if self.task is not None:
                self.task.cancel()
            self.writer = None

    async def _send(self, text):
        if self.writer is None:
            return
        self.writer.write(text.encode())
        await self.writer.drain()

    # --- events from the line buffer -------------------------------------------------------

    async def _event(self, event):
        kind = event[0]
        self.last = self.svc.clock.ticks_ms()
        if kind == "echo":
            if not self.json and self.pin_for is None and not self.hiding:
                await self._send(event[1].decode())
            return
        if kind == "line":
            # Decided here, as the line arrives, not when its command runs: keys typed ahead
            # (the PIN right after ``login <user>``, in the same read) must not be echoed.
            if self.hiding:
                self.hiding = False
            elif not self.json and _asks_for_pin(event[1]):
                self.hiding = True
        if kind == "interrupt":
            self.pin_for = None
            self.hiding = False
            self.waiting = []
            if self.task is None:
                await self._prompt()
            elif self.cancellable:
                self.task.cancel()
            else:
                await self._send_reply(False, "", error="this command cannot be interrupted: wait for it")
        elif kind == "error":
            await self._reply(False, "", error=event[1], code="input")
        elif self.task is not None:
            if len(self.waiting) >= MAX_WAITING:
                await self._send_reply(False, "", error="busy: line dropped (%d waiting)" % MAX_WAITING)
            else:
                self.waiting.append(event[1])
        else:
            self.task = asyncio.create_task(self._worker(event[1]))

    async def _worker(self, text):
        try:
            while text is not None:
                await self._line(text)
                text = self.waiting.pop(0) if self.waiting else None
        finally:
            self.task = None
            self.cancellable = False

    async def _watch(self):
        """Log out an idle session after ``console.timeout_s``."""
        while True:
            await asyncio.sleep(1)
            limit = self.svc.config["console"]["timeout_s"] * 1000
            idle = self.svc.clock.ticks_diff(self.svc.clock.ticks_ms(), self.last)
            if self.user is not None and self.task is None and idle > limit:
                self.end_session("timeout")
                await self._send_reply(False, "", error="session timed out: logged out", code="timeout")

    # --- replies ---------------------------------------------------------------------------

    async def _prompt(self):
        if not self.json:
            await self._send(
                "PIN: " if self.pin_for else "ecr[%s]> " % self.user["name"] if self.user else "ecr> "
            )

    async def _send_reply(self, ok, cmd, text="", data=None, error="", code="error"):
        if self.json:
            reply = {"ok": ok, "cmd": cmd}
            if ok:
                reply["data"] = data
                reply["text"] = text
            else:
                reply["error"] = error
                reply["code"] = code
            await self._send(json.dumps(reply) + "\r\n")
        elif ok:
            if text:
                await self._send(text.replace("\n", "\r\n") + "\r\n")
        else:
            await self._send("error: %s\r\n" % error)

    async def _reply(self, ok, cmd, text="", data=None, error="", code="error"):
        await self._send_reply(ok, cmd, text, data, error, code)
        await self._prompt()

    async def progress(self, text, **data):
        """A line about a long command's progress (text, or ``{"progress": ...}`` in JSON)."""
        if self.json:
            data["progress"] = text
            await self._send(json.dumps(data) + "\r\n")
        else:
            await self._send("... %s\r\n" % text)

    # --- sessions -----------------------------------------------------------------------------

    def record(self, event, **data):
        """Journal a console event (type ``console``) and log it."""
        data["event"] = event
        if self.user is not None and "user" not in data:
            data["user"] = self.user["name"]
        self.svc.journal.append("console", data)
        self.log.info("%s", " ".join("%s=%s" % (k, data[k]) for k in sorted(data)))

    def start_session(self, who):
        self.user = who
        self.record("login", role=who["role"])

    def end_session(self, why):
        if self.user is not None:
            self.record("logout", why=why)
        self.user = None

    async def _login(self, name, pin):
        self.users.master = self.svc.till.master  # managers as the master data in use say
        try:
            who = self.users.login(name, pin)
        except LoginError:
            self.record(
                "login_failed",
                user=self.users.public_name(name),
                failures=self.users.failures,
                locked_s=self.users.locked_for(),
            )
            raise
        if self.user is not None:
            self.end_session("new login")
        self.start_session(who)
        if who["must_change"]:
            return "logged in as %s; this is the factory PIN: set your own with passwd <PIN> <new PIN>" % name
        return "logged in as %s (%s)" % (name, who["role"])

    # --- one command line ------------------------------------------------------------------

    async def _line(self, text):
        if self.pin_for is not None:
            name, self.pin_for = self.pin_for, None
            await self._send("\r\n")
            await self._run("login", self._login(name, text))
            return
        try:
            words = split(text)
        except ValueError as e:
            await self._reply(False, "", error=str(e), code="input")
            return
        if not words:
            await self._prompt()
            return
        cmd = words[0]
        if cmd == "login":
            if len(words) == 2 and not self.json:
                self.pin_for = words[1]
                await self._prompt()
            elif len(words) != 3:
                await self._reply(False, cmd, error="usage: login <user> <PIN>", code="usage")
            else:
                await self._run(cmd, self._login(words[1], words[2]))
            return
        if cmd == "mode" and len(words) == 2 and words[1] in ("text", "json"):
            self.json = words[1] == "json"
            await self._reply(True, cmd, "mode " + words[1], {"mode": words[1]})
            return
        entry = commands.find(words)
        if entry is None:
            subs = [row[0].split()[1] for row in commands.COMMANDS if row[0].startswith(cmd + " ")]
            error = (
                ("%s what? one of: %s" % (cmd, ", ".join(subs)))
                if subs
                else "unknown command %r: type help" % cmd
            )
            await self._reply(False, cmd, error=error, code="usage" if subs else "unknown")
            return
        name, roles, handler, usage, _doc, flags = entry
        if roles and self.user is None:
            await self._reply(False, name, error="log in first: login <user> <PIN>", code="auth")
            return
        if roles and self.user["must_change"] and name not in ("passwd", "logout", "help"):
            await self._reply(
                False, name, error="set your own PIN first: passwd <PIN> <new PIN>", code="auth"
            )
            return
        if roles and self.user["role"] not in roles:
            await self._reply(
                False,
                name,
                error="%s may not run %s (needs %s)" % (self.user["role"], name, " or ".join(roles)),
            )
            return
        args = words[len(name.split()) :]
        self.cancellable = "cancel" in flags
        if "journal" in flags:
            self.record("command", command=commands.public(words))
        await self._run(name, handler(self, args), usage)

    async def _run(self, name, work, usage=""):
        try:
            result = await work
        except asyncio.CancelledError:
            await self._reply(False, name, error="interrupted: nothing was changed", code="interrupted")
            return
        except commands.UsageError as e:
            await self._reply(
                False, name, error="%s; usage: %s" % (e, usage) if usage else str(e), code="usage"
            )
            return
        except LoginError as e:
            await self._reply(False, name, error=str(e), code="auth")
            return
        except TseError as e:
            await self._reply(False, name, error="TSE: %s" % e, code="tse")
            return
        except EcrError as e:
            await self._reply(False, name, error=str(e), code=e.code)
            return
        except (ValueError, KeyError, OSError) as e:
            await self._reply(False, name, error=str(e.args[0]) if e.args else repr(e))
            return
        finally:
            self.cancellable = False
        if isinstance(result, str):
            result = (result, None)
        await self._reply(True, name, result[0], result[1])
