"""The vpcd wire for virtual payment cards (host code): a card in a reader's slot.

    card = EmvCard.test_card(ca)                # tools/sim/emv_card.py: a test Mastercard
    link = CardLink(card, 35963).insert()       # connects to vpcd (pcscd) or the firmware's reader
    link.pull_after(3)                          # leave the slot after three more APDUs (mid-read)
    link.hold_at(0xAE, 2)                       # the 2nd GENERATE AC is never answered; link.held is set
    link.remove()                               # pulled out
    link.close()

The wire is vpcd's: a 2-byte big-endian length and the payload; one-byte messages are control
(0 power off, 1 power on, 2 reset, 4 "send your ATR"), anything longer is a C-APDU answered
with the card's R-APDU. It is host code and encodes its own frames (``struct``), independent
of the firmware's reader. ``tlv`` and ``contactless_atr`` help the cards build their answers:
contactless cards get a PC/SC-style ATR (``3B 8n 80 01`` + historical bytes + TCK), contact
cards a plain T=0 ATR.
"""

import socket
import struct
import threading


def tlv(tag, value):
    """BER-TLV with a one- or two-byte tag (``int``) and a short or long length."""
    head = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    n = len(value)
    length = bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else bytes([0x82, n >> 8, n & 0xFF])
    return head + length + value


def contactless_atr(historical):
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes([tck])


def recv_exact(sock, n):
    """``n`` bytes from a blocking socket; EOFError when the peer closes first."""
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return out


class CardLink:
    """Puts a card (``tools.sim.emv_card.EmvCard``: ``answer(apdu)``, ``atr``, ``apdus``) in a
    vpcd-protocol reader at ``host:port`` and serves it."""

    def __init__(self, card, port, host="127.0.0.1"):
        self.card = card
        self.port = port
        self.host = host
        self.sock = None
        self.thread = None
        self._pull_after = None
        self._hold = None
        self.held = threading.Event()
        self.powered = False
        self.log = []  # control messages and APDU headers seen, for tests

    def insert(self, timeout=5):
        self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        self.sock.settimeout(None)
        self.thread = threading.Thread(target=self._serve, args=(self.sock,), daemon=True)
        self.thread.start()
        return self

    def pull_after(self, n):
        """Leave the reader after ``n`` more APDUs, without answering the last one."""
        self._pull_after = self.card.apdus + n

    def hold_at(self, ins, nth=1):
        """Take the ``nth`` command with this INS and never answer it (the terminal waits, as
        for a card that hangs; a test cuts the power there). ``held`` is set when it came."""
        self._hold = [ins, nth]

    def remove(self):
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self.thread is not None:
            self.thread.join(5)
            self.thread = None

    close = remove

    @property
    def inserted(self):
        return self.sock is not None

    def _serve(self, sock):
        try:
            while True:
                (n,) = struct.unpack(">H", recv_exact(sock, 2))
                msg = recv_exact(sock, n)
                if n == 1:
                    self.log.append(("ctrl", msg[0]))
                    if msg[0] == 4:
                        sock.sendall(struct.pack(">H", len(self.card.atr)) + self.card.atr)
                    elif msg[0] == 0:
                        self.powered = False
                    elif msg[0] in (1, 2):
                        self.powered = True
                    continue
                self.log.append(("apdu", msg[:4].hex()))
                if self._hold is not None and msg[1] == self._hold[0]:
                    self._hold[1] -= 1
                    if self._hold[1] == 0:
                        self.held.set()
                        continue  # never answered; the reader waits until the card is removed
                if self._pull_after is not None and self.card.apdus + 1 >= self._pull_after:
                    self.card.apdus += 1
                    break  # pulled mid-read: the reader never gets this answer
                out = self.card.answer(msg)
                sock.sendall(struct.pack(">H", len(out)) + out)
        except (EOFError, OSError):
            pass
        if self.sock is sock:
            self.sock = None
            sock.close()
