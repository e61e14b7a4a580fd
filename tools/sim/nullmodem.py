"""A null-modem cable between two ptys: the terminal's console UART and the technician's port.

    cable = NullModem().start()
    cable.device       # /dev/pts/N: the firmware opens this as its console UART
    cable.path         # /dev/pts/M: the technician's serial port (tools.console --port)
    cable.stop()

Bytes written on one end come out of the other, as over a cable. Like a real line, the cable
stays up when either end is closed and reopened (the firmware reboots, the technician's client
quits): both slave ends are held open here, so the masters never hang up. What is sent while
nobody reads the other end waits in that pty (a client drops it when it opens the port); when
the pty is full the cable throws the stale input away rather than stall the sender, as a line
with nobody listening loses bytes.
"""

import os
import select
import termios
import threading
import tty


class NullModem:
    def __init__(self):
        self.ends = []  # (master fd, held slave fd, slave path)
        self._thread = None
        self._stop_r, self._stop_w = os.pipe()

    def start(self):
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self.ends.append((master, slave, os.ttyname(slave)))
        self._thread = threading.Thread(target=self._run, name="nullmodem", daemon=True)
        self._thread.start()
        return self

    @property
    def device(self):
        return self.ends[0][2]

    @property
    def path(self):
        return self.ends[1][2]

    def _send(self, data, end):
        master, slave, _ = end
        while data:
            try:
                n = os.write(master, data)
            except BlockingIOError:
                termios.tcflush(slave, termios.TCIFLUSH)  # nobody reads there: drop the backlog
                continue
            data = data[n:]

    def _run(self):
        poller = select.poll()
        for master, _, _ in self.ends:
            poller.register(master, select.POLLIN)
        poller.register(self._stop_r, select.POLLIN)
        a, b = self.ends
        while True:
            for fd, _event in poller.poll():
                if fd == self._stop_r:
                    return
                try:
                    data = os.read(fd, 4096)
                except (BlockingIOError, OSError):
                    continue
                self._send(data, b if fd == a[0] else a)

    def stop(self):
        if self._thread is not None:
            os.write(self._stop_w, b"x")
            self._thread.join(5)
            self._thread = None
        for master, slave, _ in self.ends:
            os.close(master)
            os.close(slave)
        self.ends = []
        os.close(self._stop_r)
        os.close(self._stop_w)
