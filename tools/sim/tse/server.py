"""One emulated card, served: NBD for the host, a JSON-lines control channel for tests and
the simulator's operator ("pull the TSE card", faults, statistics).

    server = CardServer("out/tse-card").start()       # manufactures the card on first use
    server.nbd.address                                 # nbd://127.0.0.1:PORT/tse
    server.set_faults({"removed": True})               # pull the card; {"removed": False} puts it back
    server.close()

Control protocol (one JSON object per line, one answer per line, on loopback only)::

    {"op": "status"}                      -> {"ok": true, "card": {...}, "faults": {...}, "stats": {...}}
    {"op": "fault", "set": {"busy_polls": 3}}
    {"op": "power_cycle"}
    anything else                         -> {"ok": false, "error": "..."}
"""

import json
import os
import socket
import threading

from tools.sim.nbd import NbdServer
from tools.sim.tse.card import PowerLoss, TseCard
from tools.sim.tse.image import CardImage, Disconnect, build_image


def open_card(state_dir, clock=None, store_blocks=8192, fsync=False, **manufacture):
    """The card kept in ``state_dir`` (made there first if the folder has none) and its image."""
    if not os.path.exists(os.path.join(state_dir, "card.json")):
        card = TseCard.manufacture(state_dir, clock=clock, fsync=fsync, **manufacture)
        build_image(os.path.join(state_dir, "card.img"), store_blocks)
    else:
        card = TseCard(state_dir, clock, fsync)
    return card, CardImage(card, os.path.join(state_dir, "card.img"))


class CardServer:
    def __init__(
        self,
        state_dir,
        host="127.0.0.1",
        port=0,
        unix_path=None,
        control_port=None,
        clock=None,
        store_blocks=8192,
        fsync=False,
        **manufacture,
    ):
        self.card, self.image = open_card(state_dir, clock, store_blocks, fsync, **manufacture)
        self.nbd = NbdServer(
            self.image,
            "tse",
            host,
            port,
            unix_path,
            disconnect_on=(Disconnect, PowerLoss),
            on_disconnect=self._dropped,
        )
        self.control = None
        if control_port is not None:
            self.control = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.control.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.control.bind(("127.0.0.1", control_port))
            self.control.listen(4)
            self.control_port = self.control.getsockname()[1]

    def start(self):
        self.nbd.start()
        if self.control is not None:
            threading.Thread(target=self._control_loop, name="tse-control", daemon=True).start()
        return self

    def _dropped(self, exc):
        if isinstance(exc, PowerLoss):
            self.image.power_cycle()

    def set_faults(self, values):
        """Change faults; pulling the card cuts links (drop mode), putting it back powers it up."""
        with self.image.lock:
            was_removed = self.card.faults.removed
            self.card.faults.update(values)
            now_removed = self.card.faults.removed
        if now_removed and not was_removed and self.card.faults.remove_mode == "drop":
            self.nbd.drop_all()
        if was_removed and not now_removed:
            self.nbd.drop_all()
            self.image.power_cycle()

    def power_cycle(self):
        self.nbd.drop_all()
        self.image.power_cycle()

    def status(self):
        with self.image.lock:
            return {
                "card": self.card.summary(),
                "faults": self.card.faults.as_dict(),
                "stats": dict(self.card.stats),
            }

    def handle(self, request):
        """One control request (a dict) -> its answer (a dict)."""
        op = request.get("op") if isinstance(request, dict) else None
        try:
            if op == "status":
                pass
            elif op == "fault":
                if not isinstance(request.get("set"), dict):
                    raise ValueError('"fault" needs "set": {name: value}')
                self.set_faults(request["set"])
            elif op == "power_cycle":
                self.power_cycle()
            else:
                raise ValueError("unknown op %r (status, fault, power_cycle)" % (op,))
        except ValueError as e:
            return {"ok": False, "error": str(e)}
        return dict(self.status(), ok=True)

    def _control_loop(self):
        while True:
            try:
                conn, _ = self.control.accept()
            except OSError:
                return
            threading.Thread(target=self._control_conn, args=(conn,), daemon=True).start()

    def _control_conn(self, conn):
        with conn, conn.makefile("rwb") as f:
            for line in f:
                try:
                    answer = self.handle(json.loads(line))
                except ValueError as e:
                    answer = {"ok": False, "error": "not JSON: %s" % e}
                f.write(json.dumps(answer).encode() + b"\n")
                f.flush()

    def close(self):
        if self.control is not None:
            try:
                self.control.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.control.close()
        self.nbd.close()
        self.image.close()
        self.card.close()
