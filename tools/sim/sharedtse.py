"""The store's shared TSE for the simulator (host code): one emulated card (tools/sim/tse) in
the store's reader, served over NBD, offered to the registers by the TSE service
(tseservice/share.py) on HTTPS with a test CA the registers trust.

    shared = SharedTseSim("out/sim/shared-tse", max_clients=3).start()
    sim = Simulator(out, "cpython", tse="shared", shared=shared).start()   # each register enrols
    shared.stop_service(); shared.start_service()   # the service killed, and back on its port
    shared.export("out/tse-export.tar")              # the whole card, every register's logs
    shared.stop()

The card's client limit is the emulator's ``max_clients``, read from the card by the service.
"""

import asyncio
import os

from hal import platform as platforms
from tools.sim.certs import sim_tls, tls_context
from tools.sim.tse.server import CardServer
from tools.threaded import AppThread
from tseservice.share import SharedTse

ADMIN_PIN = "246813"  # the shared TSS's admin PIN (simulation only), set on every register


class SharedTseSim:
    def __init__(self, folder, max_clients=100):
        self.folder = os.path.abspath(folder)
        self.max_clients = max_clients
        self.card = self.share = self.server = None
        self.port = 0
        self.admin_puk = None

    def start(self):
        self.card = CardServer(os.path.join(self.folder, "card"), max_clients=self.max_clients).start()
        self.ca, self.cert, self.key = sim_tls(os.path.join(self.folder, "tls"))
        self.share = SharedTse(os.path.join(self.folder, "service"), ("127.0.0.1", self.card.nbd.port, "tse"))
        self.start_service()
        self.tls = platforms.tls_client(platforms.read_certificate(self.ca))  # the service's own, as a client
        self.admin_puk = asyncio.run(self.share.setup("127.0.0.1", self.port, self.tls, ADMIN_PIN))
        return self

    def start_service(self):
        """The service (again on the port it had, so the registers find it back)."""
        self.server = AppThread(
            "shared-tse", self.share.app, port=self.port, ssl_context=tls_context(self.cert, self.key)
        ).start()
        self.port = self.server.port

    def stop_service(self):
        if self.server is not None:
            self.server.stop()
            self.server = None

    def export(self, path):
        """The shared TSE's whole TAR export (every register's logs) into ``path``."""
        asyncio.run(self.share.export("127.0.0.1", self.port, self.tls, path))

    def enrol(self, serial):
        """The ``tse`` settings of register ``serial``: its own account at the service."""
        key, secret = self.share.enrol(serial)
        return {
            "backend": "shared",
            "cloud": {
                "port": self.port,
                "api_key": key,
                "api_secret": secret,
                "tss_id": self.share.tss_id,
                "admin_pin": ADMIN_PIN,
            },
        }

    def stop(self):
        self.stop_service()
        if self.card is not None:
            self.card.close()
            self.card = None
