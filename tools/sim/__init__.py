"""Virtual peripherals of the host simulator (CPython only): the TSE card, emupos (printer,
drawer, scanner), the customer display, pcscd with the virtual card, the launcher. Each is
reached over the wire its real device uses."""

import subprocess


def stop_process(proc, timeout=10):
    """Stop a child we started: SIGTERM, and SIGKILL if it is still there after ``timeout`` s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
