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
- ``55`` (incorrect PIN): DE 52, deciphered with psec under the test PIN key
  (``data/emv/pin-key-test.json``, the simulator PIN pad's too) as an ISO 9564 format 0 block,
  is not the profile's PIN; or the card's CVM Results (9F34) say online PIN and no DE 52 came;
- ``51`` (insufficient funds): the amount is above the profile's ``limit`` (default 1.000 EUR);
- ``00`` with an approval code otherwise; DE 55 then holds 91 = ARPC || response code (ARPC
  method 1, pyemv), and with ``script("pin-unblock")`` an issuer script (72: PIN UNBLOCK with
  its MAC from pyemv's secure-messaging key, which the card checks).

A 0200 with processing code 20 (a refund to the card) is answered with a 0210 by the same
rules, without the cryptogram check (the card gives an AAC for a refund). A 0400 (reversal) is
answered with a 0410: ``00`` and the original (found by DE 90's trace number and the terminal
id) no longer counts, or ``25`` (no such original). A 0500 (end of day) carries the terminal's
totals of what it booked online since its last closing (74/86 refunds, 76/88 purchases); the
0510 says ``00`` when the host counted the same and ``95`` when not, with its own totals, and
starts the next batch.
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
import psec.des
import psec.pinblock
from iso8583.specs import default as SPEC

from tools import upy
from tools.sim.card import recv_exact
from tools.sim.emv_card import AC_TAGS, CVNS, cryptogram, quiet

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
        with open(upy.ROOT / "data" / "emv" / "pin-key-test.json") as f:
            self.pin_key = bytes.fromhex(json.load(f)["zpk"])
        self._fault = None
        self._script = None
        self.reversed = []
        self.batch = {}  # (terminal id, trace) -> (processing code, cents): booked, not reversed
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", port))
        self._srv.listen(8)
        self.port = self._srv.getsockname()[1]
        self._stop = False
        self._thread = None
        self._lock = threading.Lock()  # the log file
        self._state = threading.Lock()  # the batch

    def start(self):
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def fault(self, name):
        if name not in (None, "timeout", "decline", "drop"):
            raise ValueError("unknown acquirer fault %r" % (name,))
        self._fault = name

    def script(self, name):
        """Issuer scripts with the next approvals: ``pin-unblock`` (a MACed PIN UNBLOCK in
        template 72, script id 00000001), or None."""
        if name not in (None, "pin-unblock"):
            raise ValueError("unknown issuer script %r" % (name,))
        self._script = name

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
            with self._state:
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
            original = (doc.get("41"), doc["90"][4:10])
            found = self.batch.pop(original, None) is not None
            if found:
                self.reversed.append(original[1])
            reply["t"], reply["39"] = "0410", "00" if found else "25"
            return bytes(iso8583.encode(reply, SPEC)[0])
        if mti == "0500":
            return self._close(doc, reply)
        reply["t"] = mti[:2] + "1" + mti[3]
        code, icc = self._decide(doc, check_ac=mti == "0100")
        reply["39"] = "05" if self._fault == "decline" else code
        if reply["39"] == "00":
            reply["38"] = "%06d" % (int(doc["11"]) * 7 % 1000000)
            self.batch[(doc.get("41"), doc["11"])] = (doc["3"], int(doc["4"]))
        if icc:
            reply["55"] = icc
        return bytes(iso8583.encode(reply, SPEC)[0])

    def totals(self, terminal_id):
        """What the host booked for a terminal in this batch: ``{"debits": (n, cents), "credits": ...}``."""
        out = {"debits": [0, 0], "credits": [0, 0]}
        for (tid, _), (code, amount) in self.batch.items():
            if tid == terminal_id:
                side = out["credits" if code.startswith("20") else "debits"]
                side[0] += 1
                side[1] += amount
        return {k: tuple(v) for k, v in out.items()}

    def _close(self, doc, reply):
        ours = self.totals(doc.get("41"))
        theirs = {
            "debits": (int(doc.get("76", "0")), int(doc.get("88", "0"))),
            "credits": (int(doc.get("74", "0")), int(doc.get("86", "0"))),
        }
        reply.update(t="0510", **{"39": "00" if ours == theirs else "95"})
        reply.update({"74": "%010d" % ours["credits"][0], "76": "%010d" % ours["debits"][0]})
        reply.update({"86": "%016d" % ours["credits"][1], "88": "%016d" % ours["debits"][1]})
        for key in [k for k in self.batch if k[0] == doc.get("41")]:
            del self.batch[key]  # the batch is closed either way: the next day starts empty
        return bytes(iso8583.encode(reply, SPEC)[0])

    def _decide(self, doc, check_ac=True):
        profile = self.profiles.get(doc.get("2", ""))
        if profile is None:
            return "14", None
        if doc.get("14", "0000") < time.strftime("%y%m"):
            return "54", None
        if not check_ac:
            return "00", None
        icc = tlv.decode(bytes.fromhex(doc.get("55", "")))
        mk = bytes.fromhex(profile["mk_ac"])
        gen = quiet(CVNS[profile["cvn"]], mk, mk, mk, profile["pan"], profile.get("psn", "00"))
        try:
            values = {t: bytes(icc["%X" % t]) for t in AC_TAGS}
            aip, atc, cvr = bytes(icc["82"]), bytes(icc["9F36"]), bytes(icc["9F10"])[3:7]
            expected = cryptogram(gen, values, aip, atc, cvr)
        except KeyError:
            return "05", None
        if expected != bytes(icc.get("9F26", b"")):
            return "05", None
        if not self._pin_ok(doc, profile, bytes(icc.get("9F34", b""))):
            return "55", None
        if int(doc["4"]) > profile.get("limit", 100000):
            return "51", None
        arc = b"00"
        arpc = quiet(gen.generate_arpc, expected, arc)
        answer = {"91": arpc + arc}
        if self._script == "pin-unblock":  # PIN CHANGE/UNBLOCK after the final GENERATE AC
            header = bytes.fromhex("8424000008")
            mac = quiet(gen.generate_command_mac, header, expected, bytes(icc["9F36"]))
            answer["72"] = {"9F18": bytes.fromhex("00000001"), "86": header + mac}
        return "00", tlv.encode(answer).hex().upper()

    def _pin_ok(self, doc, profile, cvm_results):
        block = doc.get("52")
        if block is None:
            return not (cvm_results and cvm_results[0] & 0x3F == 0x02)
        clear = quiet(psec.des.decrypt_tdes_ecb, self.pin_key, bytes.fromhex(block))  # DE 52 comes as hex
        try:
            return psec.pinblock.decode_pinblock_iso_0(clear, doc["2"]) == profile["pin"]
        except ValueError:
            return False

    def stop(self):
        self._stop = True
        self._srv.close()
        if self._thread is not None:
            self._thread.join(2)
