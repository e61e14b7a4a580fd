"""TSE driver scenarios against the card emulator over NBD, identical on both runtimes.

tests/host/test_tse_nbd.py starts a card (``tools.sim.tse.server.CardServer``) and runs each
scenario on CPython (imported) and on MicroPython (this file as a script):

    micropython tests/device/tse_scenarios.py --nbd 127.0.0.1:PORT --control PORT --out DIR SCENARIO

A scenario raises AssertionError when the driver misbehaves and returns a dict of results
that the host checks further with its independent verifier (QR codes, TAR files in DIR).
Faults are injected through the emulator's JSON-lines control channel.
"""

import asyncio
import json
import sys

from firmware.fiscal.processdata import PROCESS_TYPE, kassenbeleg_v1
from firmware.fiscal.qr import receipt_qr
from hal.clock import SystemClock
from hal.sim.tse_control import TseControl
from tse_sd import errors
from tse_sd import protocol as p
from tse_sd.client import TseClient, initial_credentials
from tse_sd.nbd import NbdBlockDevice
from tse_sd.service import TseService
from tse_sd.transport import BlockTransport

PUK, ADMIN, TIME_ADMIN = "123456", "12345", "54321"
CID = "KASSE-1"
SALE = kassenbeleg_v1("Beleg", (1190, 0, 0, 0, 0), [(1190, "Bar")])


async def expect(exc_type, coro):
    try:
        await coro
    except exc_type as e:
        return e
    raise AssertionError("expected %s" % exc_type.__name__)


class _Log:
    """A minimal logger for the service that keeps its lines."""

    def __init__(self):
        self.lines = []
        self.secrets = []

    def add_secret(self, s):
        self.secrets.append(s)

    def info(self, msg, *args):
        self.lines.append(msg % args if args else msg)

    warning = error = info


async def _setup(client, clock):
    await client.setup(PUK, ADMIN, TIME_ADMIN, CID, clock.now())


async def _sale(client, data=SALE, cid=CID):
    start = await client.start_transaction(cid)
    return start, await client.finish_transaction(cid, start.number, data, PROCESS_TYPE)


async def lifecycle(client, ctl, clock, out):
    info = client.info()
    assert info.initialization_state == p.STATE_UNINITIALIZED and not info.changed_puk
    await expect(errors.NotInitialized, client.start_transaction(CID))
    await expect(errors.NeedsPukChange, client.login(p.USER_ADMIN, ADMIN))
    e = await expect(errors.AuthenticationFailed, client.change_puk("000000", PUK))
    assert e.retries == 9
    first_puk = initial_credentials(info.serial)[0]
    await client.change_puk(first_puk, PUK)
    await expect(errors.NeedsPinChange, client.login(p.USER_ADMIN, "00000"))
    await _setup(client, clock)
    info = client.info()
    assert info.initialization_state == p.STATE_INITIALIZED
    assert info.has_valid_time and info.has_passed_self_test and info.ctss_active
    assert info.changed_admin_pin and info.changed_time_admin_pin
    await _setup(client, clock)  # a second set-up changes nothing
    await client.login(p.USER_ADMIN, ADMIN)
    await expect(errors.AlreadyInitialized, client.initialize())
    await client.logout(p.USER_ADMIN)
    before = client.info().created_signatures
    qrs = []
    last = None
    for i in range(3):
        start = await client.start_transaction(CID)
        if last is None:
            assert start.signature_counter == before + 1  # one counter for every log
        else:
            assert start.number == last.number + 1
            assert start.signature_counter == last.signature_counter + 1
        if i == 1:
            upd = await client.update_transaction(CID, start.number, b'1;"Kaffee";2.50', "Bestellung-V1")
            assert upd.number == start.number and upd.signature_counter == start.signature_counter + 1
        assert await client.list_started() == [start.number]
        finish = await client.finish_transaction(CID, start.number, SALE, PROCESS_TYPE)
        assert finish.number == start.number and finish.serial == info.serial
        assert finish.signature_counter == start.signature_counter + (2 if i == 1 else 1)
        assert start.log_time <= finish.log_time and len(finish.signature) == 96
        qrs.append(receipt_qr(CID, start, finish, PROCESS_TYPE, SALE, info.public_key))
        last = finish
    assert await client.list_started() == []
    assert client.info().created_signatures == last.signature_counter
    assert (await client.last_response()).signature_counter == last.signature_counter
    cert = await client.certificate()
    with open(out + "/cert.der", "wb") as f:
        f.write(cert)
    with open(out + "/export.tar", "wb") as f:
        await client.export_tar(f.write)
    return {"qr": qrs, "serial": info.serial.hex(), "last_counter": last.signature_counter}


async def auth(client, ctl, clock, out):
    await _setup(client, clock)
    e = await expect(errors.AuthenticationFailed, client.login(p.USER_ADMIN, "99999"))
    assert e.retries == 2
    e = await expect(errors.AuthenticationFailed, client.login(p.USER_ADMIN, "99999"))
    assert e.retries == 1
    await expect(errors.AuthenticationFailed, client.login(p.USER_ADMIN, "99999"))
    await expect(errors.PinBlocked, client.login(p.USER_ADMIN, ADMIN))
    e = await expect(errors.AuthenticationFailed, client.unblock(p.USER_ADMIN, "654321", "11111"))
    assert e.retries == 9
    await client.unblock(p.USER_ADMIN, PUK, "11111")
    await expect(errors.AuthenticationFailed, client.login(p.USER_ADMIN, ADMIN))
    await client.login(p.USER_ADMIN, "11111")
    await client.logout(p.USER_ADMIN)
    await expect(errors.UserNotLoggedIn, client.logout(p.USER_ADMIN))
    await expect(errors.UserNotLoggedIn, client.register_client("KASSE-2"))
    await expect(errors.UserNotLoggedIn, client.update_time(clock.now()))
    await expect(errors.UserNotLoggedIn, client.delete_stored_data())
    await client.login(p.USER_TIME_ADMIN, TIME_ADMIN)
    await expect(errors.UserNotLoggedIn, client.register_client("KASSE-2"))  # the time admin is not admin
    await client.update_time(clock.now())
    await client.logout(p.USER_TIME_ADMIN)
    return {}


async def transactions(client, ctl, clock, out):
    await _setup(client, clock)
    await expect(errors.ClientNotRegistered, client.start_transaction("KASSE-9"))
    await expect(errors.TransactionNotStarted, client.finish_transaction(CID, 9999, SALE, PROCESS_TYPE))
    await client.login(p.USER_ADMIN, ADMIN)
    for i in range(2, 22):  # 21 clients: the list needs two pages and a continuation block
        await client.register_client("KASSE-%d" % i)
    clients = await client.list_clients()
    assert clients == [CID] + ["KASSE-%d" % i for i in range(2, 22)], clients
    other = await client.start_transaction("KASSE-2")
    await expect(
        errors.TransactionNotStarted, client.finish_transaction(CID, other.number, SALE, PROCESS_TYPE)
    )
    await expect(errors.ClientHasUnfinishedTransactions, client.deregister_client("KASSE-2"))
    await client.finish_transaction("KASSE-2", other.number, SALE, PROCESS_TYPE)
    await client.deregister_client("KASSE-21")
    assert "KASSE-21" not in await client.list_clients()
    started = []
    for _ in range(75):  # the card of this test allows 75 open transactions
        started.append((await client.start_transaction(CID)).number)
    await expect(errors.MaxParallelTransactions, client.start_transaction(CID))
    assert await client.list_started() == started  # two pages of 62 and 13
    assert await client.list_started("KASSE-2") == []
    await expect(errors.TseError, client.delete_stored_data())  # open transactions
    for n in started:
        await client.finish_transaction(CID, n, SALE, PROCESS_TYPE)
    await expect(errors.ExportUnacknowledged, client.delete_stored_data())
    with open(out + "/before-delete.tar", "wb") as f:
        await client.export_tar(f.write)
    counter = client.info().created_signatures
    await client.delete_stored_data()
    start, finish = await _sale(client)
    assert start.number == started[-1] + 1
    assert start.signature_counter > counter  # counters continue after the store was emptied
    with open(out + "/after-delete.tar", "wb") as f:
        await client.export_tar(f.write)
    await client.decommission()
    await expect(errors.Decommissioned, client.start_transaction(CID))
    assert client.info().initialization_state == p.STATE_DECOMMISSIONED
    with open(out + "/decommissioned.tar", "wb") as f:
        await client.export_tar(f.write)  # export still works
    await client.logout(p.USER_ADMIN)
    return {"first_after_delete": start.number}


async def faults(client, ctl, clock, out):
    log = _Log()
    service = TseService(client, clock, log, CID, TIME_ADMIN)
    await _setup(client, clock)
    ctl.set(busy_polls=5, latency_ms=30)
    await _sale(client)
    ctl.set(busy_polls=0, latency_ms=0)
    for mode in ("eio", "drop"):
        ctl.set(removed=True, remove_mode=mode)
        await expect(errors.TseUnavailable, client.start_transaction(CID))
        assert await service.maintain() == "unavailable" and service.reason
        ctl.set(removed=False)  # put back: the card powers up without time and self-test
        e = await expect(errors.CardError, client.start_transaction(CID))
        assert isinstance(e, (errors.NoTimeSet, errors.NeedsSelfTestPassed)), e
        assert await service.boot() == "ready"
        await _sale(client)
    ctl.set(store_full=True)
    await expect(errors.StoreFull, client.start_transaction(CID))
    ctl.set(store_full=False)
    ctl.set(self_test_fails=True)
    await expect(errors.SelfTestFailed, client.self_test(CID))
    assert not client.info().has_passed_self_test
    await expect(errors.NeedsSelfTestPassed, client.start_transaction(CID))
    assert await service.maintain() == "error"
    ctl.set(self_test_fails=False)
    assert await service.maintain() == "ready"
    ctl.set(certificate_expired=True)
    await expect(errors.CertificateExpired, client.start_transaction(CID))
    await service.maintain()
    assert "certificate expired" in service.warnings
    ctl.set(certificate_expired=False)
    start = await client.start_transaction(CID)
    ctl.set(power_loss_after_sign=1)
    await expect(errors.TseUnavailable, client.finish_transaction(CID, start.number, SALE, PROCESS_TYPE))
    assert await service.boot() == "ready"  # reconnected, time and self-test again
    lost = await client.last_response()
    assert lost.number == start.number and start.number not in await client.list_started()
    nxt, _ = await _sale(client)
    assert nxt.number == start.number + 1 and nxt.signature_counter > lost.signature_counter
    ctl.set(busy_polls=1000000)
    slow = TseClient(client._open_transport, clock, timeout_ms=200)
    e = await expect(errors.TseUnavailable, slow.start_transaction(CID))
    assert "no answer" in str(e)
    ctl.set(busy_polls=0)
    await _sale(slow)  # the next command re-synchronises with the card
    slow.close()
    assert not any(TIME_ADMIN in line for line in log.lines)
    with open(out + "/export.tar", "wb") as f:
        await client.export_tar(f.write)
    return {"lost_number": lost.number, "lost_counter": lost.signature_counter}


async def service(client, ctl, clock, out):
    log = _Log()
    svc = TseService(client, clock, log, CID, TIME_ADMIN, sync_margin=10**6, self_test_margin=10**6)
    assert await svc.maintain() == "uninitialized"
    await _setup(client, clock)
    before = client.info().created_signatures
    assert await svc.maintain() == "ready"  # margins so large that both are always due
    after = client.info().created_signatures
    assert after >= before + 4, (before, after)  # login, updateTime, logout, selfTest logs
    status = svc.status()
    assert status["state"] == "ready" and status["valid_time"] and status["self_test_passed"]
    assert status["signatures_used"] == after and status["clients"] == 1 and status["warnings"] == []
    relaxed = TseService(client, clock, log, CID, TIME_ADMIN, sync_margin=0, self_test_margin=0)
    assert await relaxed.maintain() == "ready"
    assert client.info().created_signatures == after  # nothing was due: nothing was signed
    assert TIME_ADMIN in log.secrets
    svc.interval = 0.02  # the service's own loop keeps maintaining until cancelled
    task = asyncio.create_task(svc.run())
    await asyncio.sleep(0.3)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    assert client.info().created_signatures >= after + 8  # at least two more rounds ran
    return {"status": status}


async def exports(client, ctl, clock, out):
    await _setup(client, clock)
    await client.login(p.USER_ADMIN, ADMIN)
    await client.register_client("KASSE-2")
    await client.logout(p.USER_ADMIN)
    numbers = []
    for cid in (CID, "KASSE-2", CID, "KASSE-2", CID):
        numbers.append((await _sale(client, cid=cid))[0].number)
    for name, kind, first, last, cid in (
        ("all", p.EXPORT_ALL, 0, 0, ""),
        ("range", p.EXPORT_TRANSACTIONS, numbers[1], numbers[3], ""),
        ("client", p.EXPORT_ALL, 0, 0, "KASSE-2"),
        ("range-client", p.EXPORT_TRANSACTIONS, numbers[0], numbers[4], CID),
        ("time", p.EXPORT_TIME, 0, 2**40, ""),
        ("time-none", p.EXPORT_TIME, 1, 2, ""),
    ):
        with open(out + "/" + name + ".tar", "wb") as f:
            await client.export_tar(f.write, kind, first, last, cid)
    return {"numbers": numbers}


SCENARIOS = {f.__name__: f for f in (lifecycle, auth, transactions, faults, service, exports)}


def run(name, host, nbd_port, control_port, out):
    clock = SystemClock()
    client = TseClient(lambda: BlockTransport(NbdBlockDevice.connect(host, nbd_port, "tse")), clock)
    ctl = TseControl(control_port)
    try:
        return asyncio.run(SCENARIOS[name](client, ctl, clock, out))
    finally:
        client.close()
        ctl.close()


def main(argv):
    opts = {}
    while len(argv) > 1 and argv[0].startswith("--"):
        opts[argv[0][2:]] = argv[1]
        argv = argv[2:]
    host, _, port = opts["nbd"].rpartition(":")
    print(json.dumps(run(argv[0], host, int(port), int(opts["control"]), opts["out"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
