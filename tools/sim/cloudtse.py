"""The simulator's cloud TSE (host code): the TSE service (tseservice/api.py) with an emulated
card (tools/sim/tse) for each TSS, in this process, and the faults of a service on the internet.

    cloud = CloudTseSim("out/sim/cloud-tse").start()      # on HTTPS, its test CA: cloud.ca
    tse = cloud.settings()                                 # a register's tse section, add host and ca
    cloud.api.faults.update(latency_ms=300)               # or outage=True, hang_next=1 ...
    cloud.stop()

``CloudTse`` is the API itself (an aiohttp app, its TSSs kept under the folder), for a server of
one's own (``AppThread("cloud-tse", CloudTse(folder).app)``).

One account (``api_key``, ``api_secret``), not bound to a register, as a cloud TSE's customer
has. Faults (``faults``): ``latency_ms`` before each answer; ``outage`` (the internet is down:
every connection dropped unanswered); ``fail_next`` (that many 503s), ``hang_next`` (that many
requests never answered), ``lose_next`` (that many requests carried out, their answers lost).
``stats["dropped"]`` counts the requests a fault took.
"""

import asyncio
import os

from aiohttp import web

from tools.sim.certs import sim_tls, tls_context
from tools.sim.tse.image import ImageBlocks
from tools.sim.tse.server import open_card
from tools.threaded import AppThread
from tse_sd.client import TseClient
from tse_sd.transport import BlockTransport
from tseservice.api import Card, TseApi, error_response


def emulated_cards(clock=None, **manufacture):
    """``cards`` for ``TseApi``: each TSS's own emulated card, in its folder (``card/``)."""

    def cards(folder, new):
        card, image = open_card(os.path.join(folder, "card"), clock, **manufacture)
        return Card(TseClient(lambda: BlockTransport(ImageBlocks(image)), card.clock), card.clock)

    return cards


class CloudTse(TseApi):
    def __init__(
        self, folder, api_key="sim-api-key", api_secret="sim-api-secret", token_s=600, clock=None, **card
    ):
        super().__init__(folder, emulated_cards(clock, **card), {api_key: {"secret": api_secret}}, token_s)
        self.api_key, self.api_secret = api_key, api_secret
        self.faults = {"latency_ms": 0, "outage": False, "fail_next": 0, "hang_next": 0, "lose_next": 0}
        self.stats["dropped"] = 0

    def middlewares(self):
        return [self._faults_mw] + super().middlewares()

    def _take(self, name):
        if self.faults.get(name, 0) > 0:
            self.faults[name] -= 1
            return True
        return False

    @web.middleware
    async def _faults_mw(self, request, handler):
        if self.faults["outage"] or self._take("hang_next"):
            self.stats["dropped"] += 1
            if self.faults["outage"]:
                request.transport.abort()  # no route to the internet: nothing comes back
                raise web.HTTPServiceUnavailable()
            while request.transport is not None and not request.transport.is_closing():
                await asyncio.sleep(0.05)  # until the client gives up
            raise web.HTTPServiceUnavailable()
        if self._take("fail_next"):
            return error_response(503, "Service Unavailable", "injected failure")
        if self.faults["latency_ms"]:
            await asyncio.sleep(self.faults["latency_ms"] / 1000)
        response = await handler(request)
        if self._take("lose_next"):
            self.stats["dropped"] += 1
            request.transport.abort()  # carried out, the answer lost on the way
        return response


class CloudTseSim:
    """The cloud TSE on HTTPS with a test CA the registers trust (``ca``), as
    tools/sim/sharedtse.SharedTseSim offers the store's: ``api`` (the ``CloudTse``: its faults,
    stats and TSSs), ``port``."""

    def __init__(self, folder):
        self.folder = os.path.abspath(folder)
        self.api = self.server = self.ca = None
        self.port = 0

    def start(self):
        self.ca, cert, key = sim_tls(os.path.join(self.folder, "tls"))
        self.api = CloudTse(self.folder)
        self.server = AppThread("cloud-tse", self.api.app, ssl_context=tls_context(cert, key)).start()
        self.port = self.server.port
        return self

    def settings(self):
        """A register's ``tse`` settings for this cloud (its ``host`` and ``ca`` as it sees them
        to be added): the one account of the cloud's customer."""
        cloud = {"port": self.port, "api_key": self.api.api_key, "api_secret": self.api.api_secret}
        return {"backend": "cloud", "cloud": cloud}

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None
