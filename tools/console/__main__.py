"""``python -m tools.console --port PORT [--batch FILE] [--baudrate 115200] [--timeout S]``

The technician's client for the terminal's service console (docs/technician.md). Without
``--batch``: an interactive prompt with history (``~/.smartecr_console_history``, lines with
PINs are never kept) and tab completion of the commands you may run. With ``--batch FILE``
(``-`` for stdin): runs the file's command lines in order (blank lines and ``#`` comments are
skipped; the first command is usually ``login``), prints each reply, and stops with exit status
1 at the first command that fails. Exit status 2: the port cannot be opened or the console
does not answer.
"""

import argparse
import os
import sys

import serial

from tools.console.client import ConsoleClient

HISTORY = os.path.expanduser("~/.smartecr_console_history")
SECRET = ("login", "passwd")


def show(reply, out):
    if reply.get("ok"):
        if reply.get("text"):
            out.write(reply["text"] + "\n")
    else:
        out.write("error: %s\n" % reply.get("error"))


def batch(con, lines, out):
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        shown = line if line.split()[0] not in SECRET else " ".join(line.split()[:2] + ["***"])
        out.write("> %s\n" % shown)
        reply = con.run(line, progress=lambda text: out.write("... %s\n" % text))
        show(reply, out)
        if not reply.get("ok"):
            out.write("batch stopped at line %d\n" % n)
            return 1
    return 0


def interactive(con, out):
    import readline

    try:
        readline.read_history_file(HISTORY)
    except OSError:
        pass
    words = []

    def complete(text, state):
        line = readline.get_line_buffer()
        options = [w for w in words + ["login", "mode json", "mode text"] if w.startswith(line)]
        cut = len(line) - len(text)
        return options[state][cut:] if state < len(options) else None

    readline.set_completer(complete)
    readline.set_completer_delims("")
    readline.parse_and_bind("tab: complete")
    try:
        while True:
            try:
                line = input("ecr> ").strip()
            except EOFError:
                break
            except KeyboardInterrupt:
                out.write("\n")
                continue
            if not line:
                continue
            if line.split()[0] in SECRET:  # keep PINs out of the history file
                readline.remove_history_item(readline.get_current_history_length() - 1)
            if line in ("quit", "exit"):
                break
            try:
                reply = con.run(line, progress=lambda text: out.write("... %s\n" % text))
            except KeyboardInterrupt:  # Ctrl-C: the console stops what may be stopped
                con.port.write(b"\x03")
                reply = con.reply()  # the interrupted command's answer
            except TimeoutError as e:
                out.write("console: %s; waiting for the terminal to answer (Ctrl-C gives up)\n" % e)
                con.resync(limit=300)
                out.write("console: the terminal answers again; log in again if it restarted\n")
                continue
            show(reply, out)
            if line.split()[0] in ("login", "logout"):
                words[:] = con.commands() if reply.get("ok") else words
    finally:
        readline.write_history_file(HISTORY)
    return 0


def main(argv=None, out=None):
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m tools.console", description=__doc__.split("\n\n")[1])
    parser.add_argument("--port", required=True, help="serial port (make sim prints 'console: <pty>')")
    parser.add_argument("--baudrate", type=int, default=115200)
    parser.add_argument("--batch", help="run the commands in FILE (- for stdin) and exit")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a reply")
    args = parser.parse_args(argv)
    try:
        port = serial.serial_for_url(args.port, args.baudrate, timeout=0.5)  # a tty, or socket:// (QEMU)
    except (serial.SerialException, OSError) as e:
        print("console: cannot open %s: %s" % (args.port, e), file=sys.stderr)
        return 2
    try:
        con = ConsoleClient(port, args.timeout)
        if args.batch:
            if args.batch == "-":
                return batch(con, sys.stdin.read().splitlines(), out)
            with open(args.batch) as f:
                return batch(con, f.read().splitlines(), out)
        return interactive(con, out)
    except TimeoutError as e:
        print("console: %s" % e, file=sys.stderr)
        return 2
    finally:
        port.close()


if __name__ == "__main__":
    sys.exit(main())
