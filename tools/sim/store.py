"""The simulator's store server (host code): its PostgreSQL cluster under ``<out>/store/pg``, the
server on a free loopback port (HTTPS with ``tls=True``: a test CA under ``<out>/store/tls``
the terminals trust, tools/sim/certs.py), the demo master data as version 1, the demo owner of
the back office, and each simulated register enrolled through an enrolment code, as a
technician would enrol a real one.

    shop = SimStore("out/sim").start()
    token = shop.enrol("SMARTECR-SIM-0001")      # the firmware's store.token
    shop.url                                     # the back office
    shop.stop()
"""

import os

from storeserver import auth
from storeserver.__main__ import seed_master
from storeserver.api import enrol, new_code
from storeserver.app import StoreServer
from storeserver.cluster import Cluster
from tools import upy
from tools.sim.certs import sim_tls

OWNER, OWNER_PASSWORD = "inhaber", "Kasse-Demo-2026"  # README: the demo owner's login


class SimStore:
    def __init__(self, out, tls=False):
        self.folder = os.path.join(os.path.abspath(out), "store")
        self.cluster = None
        self.server = None
        # tls: HTTPS with a test CA the terminals are told to trust (store.ca); off in make sim,
        # whose back office a browser opens without that CA (docs/store-server.md, "TLS")
        self.ca = self._cert = self._key = None
        if tls:
            self.ca, self._cert, self._key = sim_tls(os.path.join(self.folder, "tls"))

    @property
    def url(self):
        return self.server.url

    @property
    def port(self):
        return self.server.port

    def start(self):
        self.cluster = Cluster(os.path.join(self.folder, "pg")).start()
        try:
            tls = (self._cert, self._key) if self.ca else None
            self.server = StoreServer(self.cluster.dsn(), tls=tls).start()
            master = str(upy.ROOT / "data" / "demo-master.json")
            self.server.call(lambda s: seed_master(s.pool, master))
            self.server.call(lambda s: auth.add_user(s.pool, OWNER, "owner", OWNER_PASSWORD))
        except BaseException:
            self.stop()
            raise
        return self

    def enrol(self, serial):
        async def go(s):
            return await enrol(s.pool, serial, await new_code(s.pool, serial))

        return self.server.call(go)

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None
