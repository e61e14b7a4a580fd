"""The simulator's hand on the emulated TSE card: pull it, put it back, inject faults.

    card = TseControl(port)                 # the card emulator's control channel on loopback
    card.set(removed=True)                  # pull the card (I/O errors from now on)
    card.set(removed=False)                 # put it back: it powers up again
    card.status()                           # {"card": {...}, "faults": {...}, "stats": {...}}

One JSON object per line each way (tools/sim/tse/server.py). Runs on both runtimes; a refusal
from the emulator is ``ValueError`` with its message.
"""

import json
import socket


class TseControl:
    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.socket()
        self.sock.connect(socket.getaddrinfo(host, port)[0][-1])

    def call(self, **request):
        self.sock.send((json.dumps(request) + "\n").encode())
        line = b""
        while not line.endswith(b"\n"):
            chunk = self.sock.recv(4096)
            if not chunk:
                raise OSError("the card emulator closed its control channel")
            line += chunk
        answer = json.loads(line)
        if not answer.get("ok"):
            raise ValueError(answer.get("error", "refused"))
        return answer

    def set(self, **faults):
        return self.call(op="fault", set=faults)

    def status(self):
        return self.call(op="status")

    def close(self):
        self.sock.close()
