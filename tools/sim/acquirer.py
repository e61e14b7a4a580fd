"""The simulator's acquirer (host code): an ISO 8583 host on loopback that answers the terminal's
authorisations by documented rules, checking every cryptogram with pyemv, apart from the
terminal.

    host = AcquirerSim("out/sim/acquirer").start()    # host.port; make sim prints it
    host.fault("timeout")                             # or "decline", "drop"; fault(None) clears
    host.messages()                                   # the JSON-lines log as dicts

Messages are decoded with pyiso8583 (``specs.default``). A 0100 is answered with a 0110:

- ``14`` (invalid card number): the PAN is none of the profiles in ``data/cards/``;
- ``54`` (expired card): the card's expiry (DE 14) is before this month;
- ``05`` (do not honour): the ARQC (9F26) is not what pyemv computes from the profile's issuer
  master key for the DE 55 data (amount, country, TVR, currency, date, type, UN, AIP, ATC and
  the CVR in 9F10);
- ``51`` (insufficient funds): the amount is above the profile's ``limit`` (default 1.000 EUR);
- ``00`` with an approval code otherwise; DE 55 then holds 91 = ARPC || response code (ARPC
  method 1, pyemv).

A 0400 (reversal) is answered with a 0410 and the reversed trace number is remembered.
Faults: ``timeout`` (read an authorisation, never answer it), ``decline`` (``05`` for
everything), ``drop`` (approve, then close the connection before the answer). Every message
in and out is a JSON line ``{"dir": "in"|"out", "mti": ..., "hex": ...}`` in
``<folder>/acquirer.jsonl``.
"""

import json
import os
import socket
import struct
import threading
import time
import warnings

import iso8583
from iso8583.specs import default as SPEC

from tools import upy
from tools.sim.card import recv_exact
from tools.sim.emv_card import CVNS, quiet

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pyemv import tlv


def _profiles():
    out = {}
    folder = upy.ROOT / "data" / "cards"
    for name in sorted(os.listdir(folder)):
        with open(folder / name) as f:
            p = json.load(f)
        out[p["pan"]] = p
    return out


class AcquirerSim:
    def __init__(self, folder, port=0):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.log_path = os.path.join(folder, "acquirer.jsonl")
        self.profiles = _profiles()
        self._fault = None
        self.reversed = []
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", port))
        self._srv.listen(8)
        self.port = self._srv.getsockname()[1]
        self._stop = False
        self._thread = None
        self._lock = threading.Lock()

    def start(self):
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def fault(self, name):
        if name not in (None, "timeout", "decline", "drop"):
            raise ValueError("unknown acquirer fault %r" % (name,))
        self._fault = name

    def messages(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            return [json.loads(line) for line in f]

    def _log(self, direction, raw):
        with self._lock, open(self.log_path, "a") as f:
            f.write(json.dumps({"dir": direction, "mti": raw[:4].decode(), "hex": raw.hex().upper()}) + "\n")

    def _serve(self):
        self._srv.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self._srv.accept()
            except OSError:
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(5)
        try:
            head = recv_exact(conn, 2)
            raw = recv_exact(conn, struct.unpack(">H", head)[0])
            self._log("in", raw)
            answer = self.answer(raw)
            if answer is None:  # timeout fault: say nothing until the terminal gives up
                time.sleep(30)
                return
            if self._fault == "drop" and raw[:4] == b"0100":
                return
            self._log("out", answer)
            conn.sendall(struct.pack(">H", len(answer)) + answer)
        except (OSError, EOFError):
            pass
        finally:
            conn.close()

    def answer(self, raw):
        doc, _ = iso8583.decode(bytes(raw), SPEC)
        mti = doc["t"]
        reply = {k: doc[k] for k in ("2", "3", "4", "11", "12", "13", "41", "42", "49") if k in doc}
        if mti == "0100" and self._fault == "timeout":
            return None
        if mti == "0400":
            self.reversed.append(doc["90"][4:10])
            reply["t"], reply["39"] = "0410", "00"
            return bytes(iso8583.encode(reply, SPEC)[0])
        reply["t"] = "0110"
        code, icc = self._decide(doc)
        reply["39"] = "05" if self._fault == "decline" else code
        if reply["39"] == "00":
            reply["38"] = "%06d" % (int(doc["11"]) * 7 % 1000000)
        if icc:
            reply["55"] = icc
        return bytes(iso8583.encode(reply, SPEC)[0])

    def _decide(self, doc):
        profile = self.profiles.get(doc.get("2", ""))
        if profile is None:
            return "14", None
        if doc.get("14", "0000") < time.strftime("%y%m"):
            return "54", None
        icc = tlv.decode(bytes.fromhex(doc.get("55", "")))
        mk = bytes.fromhex(profile["mk_ac"])
        gen = quiet(CVNS[profile["cvn"]], mk, mk, mk, profile["pan"], profile.get("psn", "00"))
        try:
            values = [
                bytes(icc[t])
                for t in ("9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82", "9F36")
            ]
            cvr = bytes(icc["9F10"])[3:7]
            expected = quiet(gen.generate_ac, *values, cvr)
        except KeyError:
            return "05", None
        if expected != bytes(icc.get("9F26", b"")):
            return "05", None
        if int(doc["4"]) > profile.get("limit", 100000):
            return "51", None
        arc = b"00"
        arpc = quiet(gen.generate_arpc, expected, arc)
        return "00", tlv.encode({"91": arpc + arc}).hex().upper()

    def stop(self):
        self._stop = True
        self._srv.close()
        if self._thread is not None:
            self._thread.join(2)
