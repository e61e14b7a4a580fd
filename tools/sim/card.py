"""A virtual payment card on the vpcd wire protocol: what the simulator puts in the card reader.

    card = VirtualCard.test_card()              # an EMV-style contact card with a test PAN
    link = CardLink(card, 35963).insert()       # connects to vpcd (pcscd) or the firmware's reader
    link.pull_after(3)                          # leave the slot after three more APDUs (mid-read)
    link.remove()                               # pulled out
    link.close()

The card answers ISO 7816-4 SELECT (by name: the PPSE "2PAY.SYS.DDF01" and its application),
GET PROCESSING OPTIONS and READ RECORD with fixed BER-TLV data, and ``6D00``/``6A82``/``6A83``
for anything else. It is host code and encodes its own frames (``struct``), independent of the
firmware's reader. Contactless cards get a PC/SC-style ATR (``3B 8n 80 01`` + historical
bytes + TCK), contact cards a plain T=0 ATR.
"""

import socket
import struct
import threading


def tlv(tag, value):
    """BER-TLV with a one- or two-byte tag (``int``) and a short or long length."""
    head = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    n = len(value)
    length = bytes([n]) if n < 0x80 else bytes([0x81, n])
    return head + length + value


def contactless_atr(historical):
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes([tck])


class VirtualCard:
    PPSE = b"2PAY.SYS.DDF01"

    def __init__(self, aid, label, pan, expiry, contactless=False):
        self.aid = aid
        self.label = label
        self.pan = pan
        self.expiry = expiry  # YYMMDD
        self.contactless = contactless
        self.atr = contactless_atr(b"smartECR") if contactless else b"\x3b\x0a" + b"smartECR-1"
        self.selected = None
        self.apdus = 0

    @classmethod
    def test_card(cls, contactless=False):
        """A Mastercard-branded test card (the PAN is a public test number, never a real one)."""
        return cls(bytes.fromhex("A0000000041010"), "MASTERCARD", "5413330089010434", "291231", contactless)

    def answer(self, apdu):
        self.apdus += 1
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = apdu[:4]
        data = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        if cla & 0xF0 not in (0x00, 0x80):
            return b"\x6e\x00"
        if ins == 0xA4 and p1 == 0x04:  # SELECT by name
            if data == self.PPSE:
                entry = tlv(0x61, tlv(0x4F, self.aid) + tlv(0x50, self.label.encode()) + tlv(0x87, b"\x01"))
                fci = tlv(0x6F, tlv(0x84, self.PPSE) + tlv(0xA5, tlv(0xBF0C, entry)))
            elif data == self.aid:
                fci = tlv(0x6F, tlv(0x84, self.aid) + tlv(0xA5, tlv(0x50, self.label.encode())))
            else:
                return b"\x6a\x82"
            self.selected = data
            return fci + b"\x90\x00"
        if ins == 0xA8 and cla == 0x80:  # GET PROCESSING OPTIONS
            if self.selected != self.aid:
                return b"\x69\x85"
            return tlv(0x77, tlv(0x82, b"\x19\x80") + tlv(0x94, b"\x08\x01\x01\x00")) + b"\x90\x00"
        if ins == 0xB2:  # READ RECORD: SFI 1, record 1
            if self.selected != self.aid:
                return b"\x69\x85"
            if (p1, p2 >> 3) != (1, 1):
                return b"\x6a\x83"
            track2 = bytes.fromhex(self.pan + "D" + self.expiry[:4] + "2010000000000000F")
            record = (
                tlv(0x57, track2)
                + tlv(0x5A, bytes.fromhex(self.pan))
                + tlv(0x5F24, bytes.fromhex(self.expiry))
            )
            return tlv(0x70, record) + b"\x90\x00"
        return b"\x6d\x00"


class CardLink:
    """Puts a ``VirtualCard`` in a vpcd-protocol reader at ``host:port`` and serves it."""

    def __init__(self, card, port, host="127.0.0.1"):
        self.card = card
        self.port = port
        self.host = host
        self.sock = None
        self.thread = None
        self._pull_after = None
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

    def _recv(self, sock, n):
        out = b""
        while len(out) < n:
            chunk = sock.recv(n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out

    def _serve(self, sock):
        try:
            while True:
                (n,) = struct.unpack(">H", self._recv(sock, 2))
                msg = self._recv(sock, n)
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
