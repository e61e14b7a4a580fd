"""The card emulator itself: exact DER, persistence across power cuts, export layout, faults,
time rules, the control channel. Driven through the real driver over NBD where it matters."""

import asyncio
import io
import json
import os
import re
import socket
import struct
import tarfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hal.clock import ManualClock, SystemClock
from tools.audit.tse import verify_tar
from tools.sim.tse import der
from tools.sim.tse.server import CardServer
from tools.sim.tse.tar import export
from tse_sd import errors
from tse_sd import protocol as p
from tse_sd.client import TseClient, initial_credentials
from tse_sd.nbd import NbdBlockDevice
from tse_sd.transport import BlockTransport

SALE = b"Beleg^1.19_0.00_0.00_0.00_0.00^1.19:Bar"


def client_of(server, clock=None):
    return TseClient(
        lambda: BlockTransport(NbdBlockDevice.connect("127.0.0.1", server.nbd.port)), clock or SystemClock()
    )


async def setup(client, now):
    await client.setup("123456", "12345", "54321", "K1", now)


async def sales(client, n):
    out = []
    for _ in range(n):
        s = await client.start_transaction("K1")
        out.append(await client.finish_transaction("K1", s.number, SALE, "Kassenbeleg-V1"))
    return out


# --- DER -------------------------------------------------------------------------------


def test_integers_and_lengths_are_minimal_der():
    assert der.integer(1, 0x85) == bytes.fromhex("850101")
    assert der.integer(227, 0x85) == bytes.fromhex("850200E3")  # the real example of §1.2
    assert der.integer(0) == bytes.fromhex("020100")
    assert der.integer(0x7F) == bytes.fromhex("02017F")
    assert der.integer(0x1614F4FD6) == bytes.fromhex("02050161 4F4FD6".replace(" ", ""))
    assert der.tlv(0x04, bytes(200))[:3] == bytes.fromhex("0481C8")
    assert der.tlv(0x04, bytes(300))[:4] == bytes.fromhex("0482012C")


def test_transaction_log_is_exact():
    sig = bytes([0x11]) * 96
    certified = der.transaction_data("FinishTransaction", "K1", b"AB", "Kassenbeleg-V1", 227)
    message, dtbs = der.log_message(
        der.OID_TRANSACTION_LOG, certified, bytes(range(32)), 671, 1630666144, lambda data: sig
    )
    expected_dtbs = bytes.fromhex(
        "020102"
        "0609 04007F000703070101"
        "8011 46696E6973685472616E73616374696F6E"  # "FinishTransaction"
        "8102 4B31"
        "8202 4142"
        "830E 4B617373656E62656C65672D5631"  # "Kassenbeleg-V1"
        "8502 00E3"
        "0420" + bytes(range(32)).hex() + "300C 060A 04007F00070101040104"
        "0202 029F"
        "0204 6131FDA0"
    )
    assert dtbs == expected_dtbs
    body = expected_dtbs + bytes.fromhex("0460") + sig
    assert message == bytes.fromhex("3081") + bytes([len(body)]) + body


# --- persistence -------------------------------------------------------------------------


def test_counters_and_open_transactions_survive_power_cycles(tmp_path):
    state = str(tmp_path / "card")
    server = CardServer(state).start()
    client = client_of(server)

    async def first():
        await setup(client, SystemClock().now())
        done = await sales(client, 3)
        return done[-1], await client.start_transaction("K1")

    last, open_tx = asyncio.run(first())
    client.close()
    server.close()
    server = CardServer(state).start()  # power off and on: a new process would see the same
    client = client_of(server)

    async def second():
        await client.login(p.USER_TIME_ADMIN, "54321")
        await client.update_time(SystemClock().now())
        await client.logout(p.USER_TIME_ADMIN)
        await client.self_test("K1")
        assert await client.list_started() == [open_tx.number]
        return (await sales(client, 1))[0]

    nxt = asyncio.run(second())
    assert nxt.number == open_tx.number + 1
    assert nxt.signature_counter > open_tx.signature_counter > last.signature_counter
    client.close()
    server.close()


def test_a_torn_log_record_is_cut_and_the_card_goes_on(tmp_path):
    state = str(tmp_path / "card")
    server = CardServer(state).start()
    client = client_of(server)
    asyncio.run(setup(client, SystemClock().now()))
    asyncio.run(sales(client, 2))
    stored = len(server.card.logs.records)
    client.close()
    server.close()
    logs = os.path.join(state, "logs.bin")
    with open(logs, "ab") as f:
        f.write(struct.pack(">II", 500, 0) + b"half a record")  # the power went during the append
    server = CardServer(state)
    assert len(server.card.logs.records) == stored + 1  # every whole record, and the power-on audit log
    with open(logs, "rb") as f:
        assert b"half a record" not in f.read()
    report = verify_tar(export(server.card)[0])
    assert report.ok, report.problems
    server.close()


def test_state_file_is_replaced_atomically(tmp_path, monkeypatch):
    state = str(tmp_path / "card")
    server = CardServer(state)
    path = tmp_path / "card" / "card.json"
    before = path.read_text()

    def crash(*args):
        raise OSError("power cut during rename")

    monkeypatch.setattr(os, "replace", crash)
    server.card.state["clients"].append("X")
    with pytest.raises(OSError):
        server.card.state.save()
    monkeypatch.undo()
    assert path.read_text() == before and json.loads(before)["clients"] == []
    server.close()
    server = CardServer(state)
    assert server.card.state["clients"] == []  # the half-written temporary is ignored
    server.close()


# --- export ------------------------------------------------------------------------------


def test_export_layout_chain_and_reported_size(tmp_path):
    server = CardServer(str(tmp_path / "card")).start()
    client = client_of(server)
    asyncio.run(setup(client, SystemClock().now()))
    asyncio.run(sales(client, 2))
    buf = io.BytesIO()
    asyncio.run(client.export_tar(buf.write))
    data = buf.getvalue()
    assert client.info().tar_export_size == len(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        info = tar.extractfile("info.csv").read()
        certs = {
            m.name: x509.load_der_x509_certificate(tar.extractfile(m).read())
            for m in members
            if m.name.endswith("_X509.der")
        }
    assert names[0] == "info.csv" and all("/" not in n for n in names)
    assert (
        info == b'"description:","smartECR emulated TSE","manufacturer:","smartECR",'
        b'"version:","smartECR TSE emulator 1.0"'
    )
    logs = [n for n in names if n.endswith(".log")]
    assert logs[0].startswith("Unixt_") and logs[0].endswith("_Sig-1_Log-Aud.log")
    assert re.fullmatch(r"Unixt_\d+_Sig-%d_Log-Tra_No-2_Finish_Client-K1\.log" % len(logs), logs[-1])
    serial = server.card.serial.hex()
    leaf, sub, root = certs[serial + "_X509.der"], None, None
    for cert in certs.values():
        if cert.subject == cert.issuer:
            root = cert
        elif cert is not leaf:
            sub = cert
    assert leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == serial
    leaf.verify_directly_issued_by(sub)
    sub.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    point = leaf.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert point == client.info().public_key and len(point) == 97
    client.close()
    server.close()


# --- time rules, bad commands, faults, control ---------------------------------------------


def test_time_and_self_test_fall_due(tmp_path):
    clock = ManualClock(utc_seconds=1767225600)
    server = CardServer(str(tmp_path / "card"), clock=clock).start()
    client = client_of(server)

    async def scenario():
        await setup(client, clock.now())
        await sales(client, 1)
        clock.advance(1801 * 1000)  # past the maximum synchronisation delay
        assert not client.info().has_valid_time
        with pytest.raises(errors.NoTimeSet):
            await client.start_transaction("K1")
        await client.login(p.USER_TIME_ADMIN, "54321")
        for _ in range(60):  # keep the time valid while a day passes
            clock.advance(1500 * 1000)
            await client.update_time(clock.now())
        await client.logout(p.USER_TIME_ADMIN)
        assert not client.info().has_passed_self_test
        with pytest.raises(errors.NeedsSelfTestPassed):
            await client.start_transaction("K1")
        await client.self_test("K1")
        info = client.info()
        assert info.has_passed_self_test and info.time_until_next_self_test == 25 * 3600
        return (await sales(client, 1))[0]

    finish = asyncio.run(scenario())
    assert finish.log_time == clock.now()
    client.close()
    server.close()


def test_malformed_and_unknown_commands_are_refused(tmp_path):
    server = CardServer(str(tmp_path / "card")).start()
    client = client_of(server)

    async def scenario():
        with pytest.raises(errors.CardError) as e:
            await client.command(0x55)
        assert e.value.status == 0xF000 and e.value.name == "CMD_NOT_FOUND"
        with pytest.raises(errors.CardError) as e:
            await client.command(p.CMD_LOGIN, b"\x01\x09ab")  # the PIN's length overruns
        assert e.value.status == 0x1005
        with pytest.raises(errors.CardError) as e:
            await client.command(p.CMD_LOGOUT, b"\x01extra")
        assert e.value.status == 0x1005
        with pytest.raises(errors.NoResponseToFetch):
            await client.command(p.CMD_FETCH_MORE)
        with pytest.raises(errors.CardError) as e:
            await client.change_puk(initial_credentials(client.info().serial)[0], "12")  # a PUK has 6 digits
        assert e.value.status == 0x1007

    asyncio.run(scenario())
    assert server.card.counter == 1  # only the power-on audit log: nothing was signed
    client.close()
    server.close()


def test_faults_are_validated_and_the_control_channel_answers(tmp_path):
    server = CardServer(str(tmp_path / "card"), control_port=0).start()
    with pytest.raises(ValueError):
        server.set_faults({"busy_polls": -1, "latency_ms": 5})
    with pytest.raises(ValueError):
        server.set_faults({"no_such_fault": True})
    with pytest.raises(ValueError):
        server.set_faults({"removed": "yes"})
    assert server.card.faults.latency_ms == 0  # nothing changed
    with socket.create_connection(("127.0.0.1", server.control_port)) as s, s.makefile("rwb") as f:

        def ask(line):
            f.write(line + b"\n")
            f.flush()
            return json.loads(f.readline())

        status = ask(b'{"op": "status"}')
        assert status["ok"] and status["card"]["serial"] == server.card.serial.hex()
        assert ask(b'{"op": "fault", "set": {"latency_ms": 7}}')["faults"]["latency_ms"] == 7
        assert not ask(b'{"op": "fault", "set": {"latency_ms": "x"}}')["ok"]
        assert "unknown op" in ask(b'{"op": "explode"}')["error"]
        assert "not JSON" in ask(b"{nope")["error"]
        assert ask(b'{"op": "power_cycle"}')["ok"]
    server.close()
