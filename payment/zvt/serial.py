"""ZVT over a serial line (PA00P016 §2.1, §3): framing and acknowledgement, device code, no I/O.

    frame(apdu)                  # DLE STX <APDU, each 10 doubled> DLE ETX CRC-lo CRC-hi
    crc(data)                    # CRC-16/KERMIT over the unstuffed APDU and ETX
    deframer = Deframer()
    deframer.feed(b"\\x06")       # [ACK]: the peer took our frame
    deframer.feed(line_bytes)    # [(FRAME, apdu), (BAD, "CRC ..."), NAK, ...] in order

The spec calls the checksum "CRC-XModem, x16+x15+x10+x3"; what real terminals send is the
reflected form of 0x1021 (table polynomial 0x8408), initial value 0, no final XOR — the CRC
catalogue's CRC-16/KERMIT — sent low byte first. The line runs 9600 (or 115200) baud, 8 data
bits, no parity, 2 stop bits. A receiver answers every frame at once with ``06`` (ACK) or
``15`` (NAK); the timing (T1 200 ms between bytes, T2 5 s for the ACK, two repeats) is the
wire's (``payment.zvt.wire.SerialWire``).
"""

DLE, STX, ETX, ACK, NAK = 0x10, 0x02, 0x03, 0x06, 0x15
FRAME, BAD = "frame", "bad"
MAX_FRAME = 65540  # the longest APDU: 2 control bytes, FF lo hi, 65535 data bytes

_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x8408 if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc(data, value=0):
    """CRC-16/KERMIT of ``data``."""
    for b in data:
        value = (value >> 8) ^ _TABLE[(value ^ b) & 0xFF]
    return value


def frame(apdu):
    """The bytes on the line for one APDU."""
    value = crc(bytes((ETX,)), crc(apdu))
    body = bytes(apdu).replace(b"\x10", b"\x10\x10")
    return b"\x10\x02" + body + b"\x10\x03" + bytes((value & 0xFF, value >> 8))


_IDLE, _START, _BODY, _ESCAPE, _CRC1, _CRC2 = 0, 1, 2, 3, 4, 5


class Deframer:
    """Bytes from the line to events: ``ACK``, ``NAK``, ``(FRAME, apdu)`` for a frame whose CRC
    holds, ``(BAD, why)`` for one that does not (answer it with NAK). Bytes outside a frame
    other than ACK and NAK are line noise and dropped."""

    def __init__(self):
        self.reset()

    def reset(self):
        """Forget a frame half received (T1 ran out between its bytes)."""
        self.state = _IDLE
        self.body = bytearray()
        self.low = 0

    @property
    def inside(self):
        """A frame has begun and not ended."""
        return self.state != _IDLE

    def feed(self, data):
        out = []
        for b in data:
            event = self._byte(b)
            if event is not None:
                out.append(event)
        return out

    def _byte(self, b):
        state = self.state
        if state == _IDLE:
            if b == DLE:
                self.state = _START
            elif b in (ACK, NAK):
                return b
            return None
        if state == _START:
            if b == STX:
                self.state, self.body = _BODY, bytearray()
            else:
                self.state = _IDLE
            return None
        if state == _BODY:
            if b == DLE:
                self.state = _ESCAPE
            else:
                return self._keep(b)
            return None
        if state == _ESCAPE:
            if b == DLE:
                self.state = _BODY
                return self._keep(b)
            if b == ETX:
                self.state = _CRC1
                return None
            if b == STX:  # a new frame began: the old one was cut off
                self.body = bytearray()
                self.state = _BODY
                return BAD, "frame cut off by a new DLE STX"
            self.reset()
            return BAD, "DLE %02X inside a frame" % b
        if state == _CRC1:
            self.low, self.state = b, _CRC2
            return None
        body, got = bytes(self.body), self.low | (b << 8)
        self.reset()
        want = crc(bytes((ETX,)), crc(body))
        if got != want:
            return BAD, "CRC %04X, computed %04X" % (got, want)
        return FRAME, body

    def _keep(self, b):
        if len(self.body) >= MAX_FRAME:
            self.reset()
            return BAD, "frame longer than %d bytes" % MAX_FRAME
        self.body.append(b)
        return None
