"""The EMV kernel (device code, both runtimes) against the simulator's virtual cards over the
vpcd wire: each card profile of data/cards/ with real keys under a fresh test CA, through the
firmware's own vpcd reader; every cryptogram the terminal reports is recomputed by pyemv from
the profile's issuer master key, apart from the kernel. Online: the acquirer link against the
acquirer simulator, whose message log pyiso8583 decodes."""

import json
import os
import subprocess
import sys
import time
import warnings

import iso8583 as peer8583
import psec.des
import psec.pinblock
import pytest
from iso8583.specs import default as peer_spec
from pyemv import tlv as peer_tlv

from tools import upy
from tools.bench import bench_emv
from tools.sim.acquirer import AcquirerSim
from tools.sim.card import CardLink
from tools.sim.emv_card import CVNS, EmvCard, SimCa
from tools.sim.launch import free_port_pair
from tools.sim.pcsc import Pcscd

RUNTIMES = ("cpython", "micropython")
PROBE = str(upy.ROOT / "tests" / "device" / "kernel_probe.py")


@pytest.fixture(scope="module")
def ca():
    return SimCa.make()


def transact(runtime, ca, profile, amount, tmp_path, *options, **changes):
    capk = tmp_path / "capk.json"
    capk.write_text(json.dumps(ca.store()))
    card = EmvCard.load(str(upy.ROOT / "data" / "cards" / (profile + ".json")), ca, **changes)
    port = free_port_pair()
    argv = upy.command([]) if runtime == "micropython" else [sys.executable]
    proc = subprocess.Popen(
        argv + [PROBE, str(port), str(capk), str(amount), *options],
        cwd=upy.ROOT,
        env=upy.env({"PYTHONPATH": str(upy.ROOT)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    link = None
    try:
        deadline = time.monotonic() + 20
        while link is None:
            try:
                link = CardLink(card, port).insert(timeout=1)
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    finally:
        if link is not None:
            link.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), card


def recompute(card, entry):
    """The cryptogram pyemv computes for the values this card was given."""
    values = entry["values"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generator = CVNS[card.profile["cvn"]](
            *(bytes.fromhex(card.profile["mk_ac"]),) * 3, card.pan, card.profile["psn"]
        )
        return generator.generate_ac(
            values[0x9F02], values[0x9F03], values[0x9F1A], values[0x95], values[0x5F2A], values[0x9A],
            values[0x9C], values[0x9F37], card.aip, entry["atc"].to_bytes(2, "big"), entry["cvr"],
        ).hex().upper()  # fmt: skip


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_chip_with_offline_pin_dda_and_an_offline_tc(runtime, ca, tmp_path):
    got, card = transact(runtime, ca, "mastercard-debit", 1250, tmp_path, "pin=1234")
    assert got["result"] == "approved" and got["arc"] == "5931"  # "Y1"
    assert got["cryptogram_type"] == "TC" and got["pins_asked"] == [1]
    # the TVR says only "floor limit exceeded": this terminal's floor limit is 0 (data/emv/)
    assert got["cvm"] == "410302" and got["tvr"] == "0000008000" and got["tsi"] == "E800"
    assert got["pan"] == "************0434" and got["scheme"] == "mastercard"
    assert got["cryptogram"] == card.log[-1]["ac"].hex().upper() == recompute(card, card.log[-1])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_above_the_cards_offline_limit_the_default_codes_decide_without_a_host(runtime, ca, tmp_path):
    got, card = transact(runtime, ca, "visa-credit", 6000, tmp_path, "pin=4321")
    assert got["result"] == "approved" and got["arc"] == "5933" and got["online"] is False  # "Y3"
    # its CVM list's first rule: the PIN enciphered with the card's key (GET CHALLENGE, VERIFY 88)
    assert got["cvm"] == "440302" and got["pins_asked"] == [4]
    assert [e["cid"] for e in card.log] == [0x80, 0x40]  # ARQC, then TC at the second
    de55 = bytes.fromhex(got["de55"])
    first = card.log[0]
    assert first["ac"] in de55 and recompute(card, first) == first["ac"].hex().upper()
    assert got["cryptogram"] == recompute(card, card.log[1])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_broken_certificate_an_expired_card_and_a_wrong_pin_set_their_bits(runtime, ca, tmp_path):
    got, _ = transact(runtime, ca, "broken-oda", 1250, tmp_path, "pin=1234")
    assert int(got["tvr"][0:2], 16) & 0x04  # CDA failed: its ICC key does not recover
    got, _ = transact(runtime, ca, "expired", 1250, tmp_path, "pin=1234")
    assert int(got["tvr"][2:4], 16) & 0x40  # expired application
    got, card = transact(runtime, ca, "pin-one-try", 1250, tmp_path, "pin=9999")
    # the one try spent: "PIN try limit exceeded"; the list's next rule, online PIN, is taken
    assert int(got["tvr"][4:6], 16) == 0x24 and got["cvm"] == "420300" and card.pin_tries == 0
    assert got["pins_asked"] == [1, 2]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_phone_above_the_cvm_limit_verified_on_the_device(runtime, ca, tmp_path):
    got, card = transact(runtime, ca, "wallet", 7500, tmp_path, "contactless")
    assert got["result"] == "approved" and got["cdcvm"] is True and got["pins_asked"] == []
    assert got["cryptogram"] == recompute(card, card.log[-1])


@pytest.fixture
def acquirer(tmp_path):
    host = AcquirerSim(str(tmp_path / "acquirer")).start()
    yield host
    host.stop()


def _decoded(host):
    return [(m["dir"], peer8583.decode(bytes.fromhex(m["hex"]), peer_spec)[0]) for m in host.messages()]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_online_authorisation_through_the_acquirer_simulator(runtime, ca, tmp_path, acquirer):
    host = "host=%d" % acquirer.port
    got, card = transact(runtime, ca, "visa-credit", 6000, tmp_path, "pin=4321", host)
    assert got["result"] == "approved" and got["online"] is True and got["arc"] == "3030"  # "00"
    assert [e["cid"] for e in card.log] == [0x80, 0x40]  # ARQC, then the TC with the host's ARC
    assert card.log[1]["values"][0x95] == card.log[0]["values"][0x95]
    (d_in, req), (d_out, resp) = _decoded(acquirer)
    assert (d_in, req["t"], d_out, resp["t"], resp["39"]) == ("in", "0100", "out", "0110", "00")
    assert req["2"] == card.pan and req["4"] == "000000006000" and req["22"] == "051" and req["49"] == "978"
    assert req["55"].find(card.log[0]["ac"].hex().upper()) >= 0  # the ARQC the acquirer checked
    # declines: over the card's limit at the issuer; the issuer not answering (reversal)
    acquirer.profiles[card.pan]["limit"] = 5000  # the issuer's limit for this card: 50 EUR
    got, _ = transact(runtime, ca, "visa-credit", 6000, tmp_path, "pin=4321", host)
    assert got["result"] == "declined" and "issuer (51)" in got["reason"]
    acquirer.fault("timeout")
    got, _ = transact(runtime, ca, "visa-credit", 6000, tmp_path, "pin=4321", host)
    assert got["online"] is False and got["arc"] == "5933"  # no answer: Y3 by the default codes
    request, reversal, confirmed = [doc for _, doc in _decoded(acquirer)[-3:]]
    assert [request["t"], reversal["t"], confirmed["t"]] == ["0100", "0400", "0410"]
    assert reversal["90"][:10] == "0100" + request["11"]  # the one that got no answer is reversed
    assert confirmed["39"] == "25"  # which the host had not booked
    acquirer.fault("drop")  # approved and booked, but the answer never reached the terminal
    acquirer.profiles[card.pan]["limit"] = 100000
    booked = dict(acquirer.batch)
    got, _ = transact(runtime, ca, "visa-credit", 6000, tmp_path, "pin=4321", host)
    assert got["online"] is False and acquirer.reversed and acquirer.batch == booked  # reversed again


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_online_pin_goes_enciphered_in_de52_and_the_issuer_checks_it(runtime, ca, tmp_path, acquirer):
    host = "host=%d" % acquirer.port
    got, card = transact(runtime, ca, "girocard", 2500, tmp_path, "pin=0000", host)
    assert got["result"] == "approved" and got["cvm"] == "420300" and got["pins_asked"] == [2]
    (_, req), _ = _decoded(acquirer)[-2:]
    block = bytes.fromhex(req["52"])  # never the clear PIN on the wire: psec deciphers it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clear = psec.des.decrypt_tdes_ecb(acquirer.pin_key, block)
    assert psec.pinblock.decode_pinblock_iso_0(clear, card.pan) == "0000"
    icc_tags = peer_tlv.decode(bytes.fromhex(req["55"]))  # DE 55 read by pyemv, tag by tag
    assert b"0000" not in block and "52" not in icc_tags and "99" not in icc_tags
    got, _ = transact(runtime, ca, "girocard", 2500, tmp_path, "pin=1111", host)
    assert got["result"] == "declined" and "issuer (55)" in got["reason"]  # incorrect PIN


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_kernel_benchmark_replays_a_whole_transaction(runtime, ca, tmp_path):
    """make bench's kernel timing (tools/bench/bench_emv.py) feeds a recorded card's answers:
    it must be the whole transaction, with the card's own cryptogram, on both runtimes."""
    capk = str(tmp_path / "capk.json")
    (tmp_path / "capk.json").write_text(json.dumps(ca.store()))
    path = bench_emv.transcript(ca, capk, str(tmp_path))
    recorded = json.loads((tmp_path / "transcript.json").read_text())
    got = bench_emv._run(runtime, "kernel", path, 2)["out"]
    assert got["result"] == "approved" and got["tsi"].startswith("A")  # ODA performed
    assert got["cryptogram"] == recorded["ac"]  # the card's, recovered from its CDA signature
    assert "9f4b" in recorded["answers"][-1][:40]  # the answer was signed (format 2 with 9F4B)
    assert not int(got["tvr"][:2], 16) & 0xCC  # ODA performed, neither SDA nor DDA nor CDA failed


EMVTOOL = str(upy.ROOT / ".venv-emv" / "bin" / "emvtool")  # the `emv` package (deps/emv.lock)


def _emvtool(env, *args):
    proc = subprocess.run(
        [EMVTOOL, "--no-redact", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_the_emv_package_reads_our_virtual_contact_cards_through_pcscd(ca, tmp_path):
    """An independent reader (the `emv` package on pyscard, as `emvtool` runs it) finds each
    card's application in its payment directory (PSE) and reads its records as the card
    profile says. (emv 1.0.14 parses a PAN as a number and so fails on the girocard's
    19-digit PAN with its ``F`` pad, which EMV allows: for that card only the directory.)"""
    port = free_port_pair()
    pcsc = Pcscd(str(tmp_path / "pcsc"), port=port).start()
    try:
        env = dict(os.environ, **pcsc.client_env())
        for name in ("mastercard-debit", "visa-credit", "girocard"):
            card = EmvCard.load(str(upy.ROOT / "data" / "cards" / (name + ".json")), ca)
            p = card.profile
            link = CardLink(card, port).insert()
            try:
                assert pcsc.wait_present(10)
                apps = _emvtool(env, "listapps")
                aid = " ".join(p["aid"][i : i + 2] for i in range(0, len(p["aid"]), 2))
                assert '"%s"' % p["label"] in apps and "[%s]" % aid in apps, apps
                if len(p["pan"]) % 2:
                    continue
                data = _emvtool(env, "appdata", "0")  # SELECT, GET PROCESSING OPTIONS, READ RECORD
                aip = bytes.fromhex(p["aip"])
                expiry = "%s/%s/%s" % (p["expiry"][:2], p["expiry"][2:4], p["expiry"][4:])
                assert "[%d, %d]" % (aip[0], aip[1]) in data and p["pan"] in data and expiry in data
                retries = _emvtool(env, "info").split("pin_retries", 1)[1][:40]
                assert " %d " % p["pin_tries"] in retries
            finally:
                link.remove()
            time.sleep(0.5)  # pcscd notices the card left
    finally:
        pcsc.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_an_issuer_script_unblocks_the_pin_after_the_final_generate_ac(runtime, ca, tmp_path, acquirer):
    """The issuer sends a PIN UNBLOCK (template 72, MACed by pyemv); the terminal passes it to
    the card after the second GENERATE AC, the card checks the MAC and resets its counter."""
    acquirer.script("pin-unblock")
    host = "host=%d" % acquirer.port
    got, card = transact(runtime, ca, "girocard", 2500, tmp_path, "pin=0000", host, pin_tries_left=1)
    assert got["result"] == "approved" and card.pin_tries == 3  # reset by the script
    assert got["scripts"] == "2000000001"  # successful, script id 00000001
    assert int(got["tsi"], 16) & 0x0400  # script processing performed
    assert not int(got["tvr"][8:10], 16) & 0x30  # no script failed
