"""The simulator's PIN pad (both runtimes): the customer's keypad is a peer on loopback that
sends each entry as one line, as a serial keypad would.

    pinpad = KeypadPinPad(9105, key=load_pin_key("data/emv/pin-key-test.json"))  # on 127.0.0.1:9105
    # the keypad (tools/sim/launch.py Simulator.pin): "1234\\n" an entry, "\\n" no PIN, "C\\n" cancel

Entries are taken in order; what the keypad sent while no one asked waits for the next PIN
prompt and is dropped when a payment ends (``clear()``). The firmware listens, the keypad
connects (again after a drop). No entry within ``timeout_s`` seconds is none. SIMULATION: the
customer display says so whenever this PIN pad is asked — a simulator takes no real PIN.
"""

import asyncio
import errno
import socket

from core.errors import DeviceError
from hal.pinpad import PinPad, load_pin_key, wipe


class KeypadPinPad(PinPad):
    simulation = True

    def __init__(self, port, host="127.0.0.1", timeout_s=30, key=None):
        self.timeout_s = timeout_s
        self.key = key
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._srv.bind(socket.getaddrinfo(host, port)[0][-1])
        except OSError as e:
            self._srv.close()
            raise DeviceError("PIN pad cannot listen on %s:%d: %s" % (host, port, e))
        self._srv.listen(1)
        self._srv.setblocking(False)
        self._keypad = None
        self._buf = bytearray()

    def _poll(self):
        if self._keypad is None:
            try:
                self._keypad, _ = self._srv.accept()
                self._keypad.setblocking(False)
            except OSError:
                return
        try:
            data = self._keypad.recv(64)
        except OSError as e:
            if e.errno != errno.EAGAIN:
                self._drop()
            return
        if not data:
            self._drop()
            return
        self._buf += data

    def _drop(self):
        if self._keypad is not None:
            self._keypad.close()
            self._keypad = None

    def _line(self):
        at = self._buf.find(b"\n")
        if at < 0:
            return None
        line = bytearray(self._buf[:at].strip())
        rest = bytearray(self._buf[at + 1 :])
        wipe(self._buf)
        self._buf = rest
        return line

    async def _entry(self):
        waited = 0
        while waited < self.timeout_s * 1000:
            self._poll()
            line = self._line()
            if line is not None:
                if line == b"C" or not line:
                    return None
                return line
            await asyncio.sleep(0.02)
            waited += 20
        return None

    def clear(self):
        """Forget what the keypad sent ahead (at the end of a payment)."""
        self._poll()
        wipe(self._buf)
        self._buf = bytearray()

    def close(self):
        self._drop()
        self._srv.close()


def create(s, board):
    """Board driver ``keypad-pinpad``."""
    key_file = s.str("pin_key", "")
    return KeypadPinPad(
        s.int("port", 9105, 1, 65535),
        s.str("host", "127.0.0.1"),
        s.int("timeout_s", 30, 5, 120),
        load_pin_key(key_file) if key_file else None,
    )
