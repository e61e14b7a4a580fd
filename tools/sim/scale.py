"""A virtual retail scale on loopback, speaking the NCI/"ECR" protocol of hal/scale.py from
the scale's side (host code).

    scale = VirtualScale().start()       # scale.port: the firmware's serial-scale connects
    scale.put(1250)                      # 1,250 kg lie on it, steady
    scale.put(800, steady=False)         # still swinging: the scale answers with its status only
    scale.put(0)                         # empty
    scale.asked                          # how many weights the till asked for

The weight is sent as a 6-character field with the decimal point and ``KG`` (``01.250KG``),
as an NCI scale with a 5-digit display does; the status bytes say motion, zero and over
capacity (15 kg here).
"""

from tools.sim import listen

CAPACITY_G = 15000


class VirtualScale:
    def __init__(self):
        self.grams = 0
        self.steady = True
        self.asked = 0
        self._srv = None

    def put(self, grams, steady=True):
        self.grams, self.steady = grams, steady

    def reply(self):
        one, two = 0x30, 0x30
        if not self.steady:
            one |= 0x01
        if self.grams == 0:
            one |= 0x02
        if self.grams > CAPACITY_G:
            two |= 0x02
        if self.grams < 0:
            two |= 0x01
        status = b"\nS" + bytes((one, two)) + b"\r\x03"
        if one != 0x30 or two != 0x30:
            return status
        weight = "%02d.%03dKG" % divmod(self.grams, 1000)
        return b"\n" + weight.encode() + b"\r" + status

    def start(self):
        self._srv = listen("scale", self._serve)
        self.port = self._srv.getsockname()[1]
        return self

    def _serve(self, conn):
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(64)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"\r" in buf:
                    command, buf = buf.split(b"\r", 1)
                    if command.strip() == b"W":
                        self.asked += 1
                        conn.sendall(self.reply())
                    else:
                        conn.sendall(b"\n?\r\x03")  # not understood

    def stop(self):
        if self._srv is not None:
            self._srv.close()
            self._srv = None
