"""The TSE service: keeps the card ready to sign and tells the firmware how it is.

    service = TseService(client, clock, log, client_id="KASSE-1", time_admin_pin=pin)
    await service.boot()               # self-test after power-up, set the card's time
    task = asyncio.create_task(service.run())   # keeps both from falling due
    service.status()                   # dict for the console, the display and the journal

Theory of operation: the card refuses to sign without a passed self-test (due again 25 h
after the last one, and after every power-up) and without a valid time (the card's clock
must be set again within its maximum synchronisation delay, about 30 min on Swissbit cards).
The service reads ``TSE_INFO.DAT`` every ``interval`` seconds and acts *before* either falls
due: self-test when less than ``self_test_margin`` seconds remain, time sync when less than
``sync_margin`` remain. A card that is absent or failing leaves the service in state
``unavailable`` with the reason; the firmware keeps selling (documented TSE failure) and the
next round tries again. Warnings: certificate expiring within ``cert_warn_days``, fewer than
``signature_warn_ratio`` of the signatures left, store more than ``store_warn_ratio`` full.
"""

import asyncio
import binascii

from tse_sd import protocol as p
from tse_sd.errors import TseError, TseUnavailable, describe


class TseService:
    def __init__(
        self,
        client,
        clock,
        log,
        client_id,
        time_admin_pin,
        interval=60,
        self_test_margin=3600,
        sync_margin=300,
        cert_warn_days=90,
        signature_warn_ratio=0.05,
        store_warn_ratio=0.8,
    ):
        self.client = client
        self.clock = clock
        self.log = log
        self.client_id = client_id
        self._time_admin_pin = time_admin_pin
        log.add_secret(time_admin_pin)
        self.interval = interval
        self.self_test_margin = self_test_margin
        self.sync_margin = sync_margin
        self.cert_warn_days = cert_warn_days
        self.signature_warn_ratio = signature_warn_ratio
        self.store_warn_ratio = store_warn_ratio
        self.info = None
        self.state = "unknown"
        self.reason = ""
        self.warnings = []

    async def boot(self):
        """After power-up: a self-test and the time, whatever the card reports."""
        return await self.maintain(force=True)

    async def maintain(self, force=False):
        """One round: read the card, self-test and sync time if due, update status."""
        try:
            info = self.client.info()
            if info.initialization_state == p.STATE_INITIALIZED:
                if force or not info.has_valid_time or info.time_until_next_time_sync < self.sync_margin:
                    await self.sync_time()
                if (
                    force
                    or not info.has_passed_self_test
                    or info.time_until_next_self_test < self.self_test_margin
                ):
                    self.log.info("TSE self-test")
                    await self.client.self_test(self.client_id)
                info = self.client.info()
            self._update(info)
        except TseError as e:
            self.failed(e)
        return self.state

    async def sync_time(self):
        """Set the card's clock to ours (time-admin login for the one command)."""
        now = self.clock.now()
        await self.client.login(p.USER_TIME_ADMIN, self._time_admin_pin)
        try:
            await self.client.update_time(now)
        finally:
            await self.client.logout(p.USER_TIME_ADMIN)
        self.log.info("TSE time set to %d", now)

    def refresh(self):
        """Read the card's status block now (no command, nothing changed on the card). A link
        lost under a card that was put back is opened again for a second read."""
        for attempt in (1, 2):
            try:
                self._update(self.client.info())
                break
            except TseUnavailable as e:
                if attempt == 2 or e.kind != "io":
                    self.failed(e)
                    break
            except TseError as e:
                self.failed(e)
                break
        return self.state

    def _update(self, info):
        self.info = info
        self.reason = ""
        if info.initialization_state == p.STATE_DECOMMISSIONED:
            self.state = "decommissioned"
        elif info.initialization_state != p.STATE_INITIALIZED:
            self.state = "uninitialized"
        elif not (info.has_valid_time and info.has_passed_self_test):
            self.state = "not_ready"
        else:
            self.state = "ready"
        warnings = []
        now = self.clock.now()
        if info.certificate_expiration and info.certificate_expiration - now < self.cert_warn_days * 86400:
            days = (info.certificate_expiration - now) // 86400
            warnings.append("certificate expires in %d days" % days if days >= 0 else "certificate expired")
        if (
            info.max_signatures
            and info.remaining_signatures < info.max_signatures * self.signature_warn_ratio
        ):
            warnings.append("%d signatures left" % info.remaining_signatures)
        if (
            info.capacity_sectors
            and info.tar_export_size > info.capacity_sectors * 512 * self.store_warn_ratio
        ):
            warnings.append("store %d%% full" % (info.tar_export_size * 100 // (info.capacity_sectors * 512)))
        for w in warnings:
            if w not in self.warnings:
                self.log.warning("TSE: %s", w)
        self.warnings = warnings

    def failed(self, error):
        """The card failed (in a round here, or in a sale's command): the status says so at once."""
        self.state = "unavailable" if isinstance(error, TseUnavailable) else "error"
        self.reason = describe(error)
        self.log.error("TSE %s: %s", self.state, error)

    def can(self):
        """What the card can do right now, in words: ``ready``, ``needs time``, ``needs a
        self-test``, ``failed: <reason>``, ``not set up``, ``decommissioned``."""
        if self.state == "not_ready":
            return "needs time" if not self.info.has_valid_time else "needs a self-test"
        if self.state in ("unavailable", "error"):
            return "failed: " + self.reason
        return {"uninitialized": "not set up", "unknown": "not checked yet"}.get(self.state, self.state)

    def status(self):
        """What the console's ``status`` and the operator display show."""
        out = {"state": self.state, "reason": self.reason, "can": self.can(), "warnings": list(self.warnings)}
        info = self.info
        if info is not None:
            out.update(
                serial=binascii.hexlify(info.serial).decode(),
                valid_time=info.has_valid_time,
                self_test_passed=info.has_passed_self_test,
                next_self_test_s=info.time_until_next_self_test,
                next_time_sync_s=info.time_until_next_time_sync,
                signatures_used=info.created_signatures,
                signatures_max=info.max_signatures,
                certificate_expiration=info.certificate_expiration,
                clients=info.registered_clients,
                open_transactions=info.started_transactions,
            )
        return out

    async def run(self):
        """Maintain the card every ``interval`` seconds, for ever (cancel the task to stop)."""
        while True:
            await asyncio.sleep(self.interval)
            await self.maintain()
