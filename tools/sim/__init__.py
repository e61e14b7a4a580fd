"""Virtual peripherals of the host simulator (CPython only): the TSE card, emupos (printer,
drawer, scanner), the customer display, pcscd with the virtual card, the launcher. Each is
reached over the wire its real device uses."""

import socket
import subprocess
import threading
import time


def stop_process(proc, timeout=10):
    """Stop a child we started: SIGTERM, and SIGKILL if it is still there after ``timeout`` s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def until(fn, timeout=10, step=0.05):
    """``fn()`` again every ``step`` s until it gives something true, or ``timeout`` s passed;
    its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def listen(name, on_connection):
    """A TCP server on a free loopback port: each connection handed to ``on_connection(conn)``
    in a thread of its own. Returns the listening socket (``close()`` ends it)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(2)

    def accept():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return  # closed
            threading.Thread(target=on_connection, args=(conn,), daemon=True, name=name).start()

    threading.Thread(target=accept, daemon=True, name=name + "-accept").start()
    return srv
