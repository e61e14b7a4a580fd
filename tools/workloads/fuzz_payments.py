"""Seeded mutation fuzzing of the payment parsers that take outside bytes, on either runtime:
ZVT (the TCP stream, BMPs and TLV, every PT message a register reads, every command our PT
side reads, the serial deframer) and QR (EMVCo merchant- and consumer-presented codes, the
GiroCode, the wallet-token test).

    fuzz_payments.py [--count 100000] [--seed 1] [--session 1000]

Each input is a valid sample (the reference's frames, our own codes) mutated: bytes flipped,
inserted, deleted, the data cut short or a piece repeated. A parser may accept an input or
refuse it with ``ProtocolError``; any other exception is a crash, reported with the seed and
the input (hex), and the run fails. ``--session``: that many mutated commands also go through
our PT session over an in-memory wire, where a refused command must leave the session's state
(registration, config byte, TLV, turnover) exactly as it was and call the terminal for
nothing. Prints one JSON line: inputs per parser, refused, accepted, crashes.
"""

import asyncio
import binascii
import json
import random
import sys

from core.cli import options
from core.errors import ProtocolError
from payment.qr import emvco, epc, wallet
from payment.zvt import codec, serial
from payment.zvt import messages as m
from payment.zvt.pt import PtServer

H = binascii.unhexlify

STATUS = H(
    "27000400000000204" + "00B0004700C2239530D10060E2512170001197022F0F8EEEEEEEEEEEE477129280048692A"
    "3130303436313736332020202020203B36313138303400003CF0F1F447454E2E4E522E3A363131383034490978870470"
    "880004708A2E8BF1F74465626974204D61737465726361726400"
)
INTERMEDIATE = H("0A01062A24280726") + b"Karte vorhalten\neinstecken/durchziehen"
ZVT_SAMPLES = {
    "status information": (m.status_information, [STATUS, m.status_information_data({"result": 5})]),
    "intermediate status": (m.intermediate, [INTERMEDIATE, H("0E")]),
    "completion": (m.completion, [H("19002929001234490978"), b""]),
    "status enquiry completion": (m.enquiry_completion, [m.enquiry_completion_data("smartECR 1.0")]),
    "abort": (m.aborted, [m.aborted_data(0x7D, "Host nicht erreichbar"), H("6C")]),
    "print line": (m.print_line, [m.print_line_data(0x81, "Zahlung erfolgt")]),
    "print text block": (m.print_block, [m.print_block_data(2, ["KUNDENBELEG", "EUR 3,14"])]),
}
COMMANDS = [
    (m.REGISTRATION, m.registration("000000", 0xBA, objects=[(0x26, H("0A0206D3")), (0x12, b"\x28")])),
    (m.AUTHORIZATION, m.authorization(314, 978, None, 30, 3)),
    (m.REVERSAL, m.reversal("000000", 12, 314)),
    (m.REFUND, m.refund("000000", 500, 978)),
    (m.END_OF_DAY, m.with_password("000000")),
    (m.STATUS_ENQUIRY, m.status_enquiry("000000", 0x02)),
]
ACCOUNT = ("de.smartecr.pay", "SMARTECR-SIM-0001")


def _cpm():
    from payment.emv import tlv

    data = tlv.encode(0x9F26, bytes(8)) + tlv.encode(0x9F36, b"\x00\x07") + tlv.encode(0x9F10, H("0601"))
    app = tlv.encode(0x4F, H("A0000000041010")) + tlv.encode(0x5A, H("5413330089020011"))
    app += tlv.encode(0x5F24, H("291231")) + tlv.encode(0x63, data)
    return binascii.b2a_base64(tlv.encode(0x85, b"CPV01") + tlv.encode(0x61, app)).strip()


def _text(fn):
    def parse(data):
        try:
            text = bytes(data).decode()
        except UnicodeError:
            raise ProtocolError("not UTF-8")
        return fn(text)

    return parse


QR_SAMPLES = {
    "emvco merchant-presented": (
        _text(emvco.read_merchant_presented),
        [emvco.merchant_presented(1250, "Laden", "Berlin", "R-1", ACCOUNT).encode()],
    ),
    "emvco consumer-presented": (_text(emvco.read_consumer_presented), [_cpm()]),
    "girocode": (
        _text(epc.read_girocode),
        [epc.girocode("X", "DE02100500000054540402", 1234, "Bon 1").encode()],
    ),
    "wallet token": (_text(wallet.kind), [b"98802123456789012345", b"281234567890123456"]),
}


def mutate(rng, data):
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        what = rng.randint(0, 5)
        n = len(out)
        if what == 0 and n:  # flip a byte
            out[rng.randint(0, n - 1)] = rng.getrandbits(8)
        elif what == 1:  # insert one
            i = rng.randint(0, n)
            out = out[:i] + bytes((rng.getrandbits(8),)) + out[i:]
        elif what == 2 and n:  # delete one
            i = rng.randint(0, n - 1)
            out = out[:i] + out[i + 1 :]
        elif what == 3 and n:  # cut short
            out = out[: rng.randint(0, n - 1)]
        elif what == 4 and n:  # repeat a piece
            i = rng.randint(0, n - 1)
            j = rng.randint(i, min(n, i + 16))
            out = out[:j] + out[i:j] + out[j:]
        elif n:  # a length byte set to something else
            out[rng.randint(0, min(n - 1, 3))] = rng.choice((0x00, 0x7F, 0x80, 0x81, 0x82, 0xFF, 0xF9))
    return bytes(out)


class Tally:
    def __init__(self, seed):
        self.seed = seed
        self.rows = {}
        self.crashes = []

    def run(self, name, fn, data):
        row = self.rows.setdefault(name, [0, 0, 0])  # inputs, refused, accepted
        row[0] += 1
        try:
            fn(data)
        except ProtocolError:
            row[1] += 1
            return False
        except Exception as e:  # anything else is a crash: kept with its input to replay
            self.crashes.append(
                {
                    "parser": name,
                    "seed": self.seed,
                    "input": binascii.hexlify(data).decode(),
                    "error": "%s: %s" % (type(e).__name__, e),
                }
            )
            return False
        row[2] += 1
        return True


def _stream(data):
    s = codec.Stream()
    for i in range(0, len(data), 7):
        s.feed(data[i : i + 7])


def _command(control):
    return lambda data: m.command(control, data)


def _deframe(data):
    d = serial.Deframer()
    d.feed(data)


class _Wire:
    """An in-memory wire: the register's APDUs in, ours recorded."""

    def __init__(self, apdus):
        self.apdus = list(apdus)
        self.sent = []

    async def send(self, control, data=b""):
        self.sent.append((control, bytes(data)))

    async def receive(self, timeout_ms=None):
        if not self.apdus:
            raise EOFError("done")
        return self.apdus.pop(0)

    def close(self):
        pass


class _Backend:
    tid = "52000001"
    version = "fuzz"

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        async def call(*args):
            self.calls.append(name)
            return {"result": 0x05}

        return call

    def last(self):
        return None


def _state(server):
    return (server.config, server.registered, server.tlv, server.block, server.width)


async def _session(tally, rng, count):
    server = PtServer(_Backend(), "000000", t3_ms=50)
    server.registered, server.config = True, m.CONFIG
    changed = 0
    for _ in range(count):
        control, data = rng.choice(COMMANDS)
        bad = mutate(rng, data)
        try:
            m.command(control, bad)
            continue  # a command that parses may change the state: that is what it is for
        except ProtocolError:
            pass
        before, calls = _state(server), len(server.backend.calls)
        wire = _Wire([(control, bad)])
        await server.serve(wire)
        if _state(server) != before or len(server.backend.calls) != calls or wire.sent != [(0x849A, b"")]:
            changed += 1
            tally.crashes.append(
                {
                    "parser": "pt session",
                    "seed": tally.seed,
                    "input": binascii.hexlify(bad).decode(),
                    "error": "a refused command changed the state or was answered %r" % wire.sent,
                }
            )
        tally.rows.setdefault("pt session (refused commands)", [0, 0, 0])[0] += 1
    return changed


def fuzz(count, seed, session):
    rng = random.Random(seed) if hasattr(random, "Random") else random
    if rng is random:
        random.seed(seed)
    tally = Tally(seed)
    for name, (fn, samples) in list(ZVT_SAMPLES.items()) + list(QR_SAMPLES.items()):
        for _ in range(count):
            tally.run(name, fn, mutate(rng, rng.choice(samples)))
    frames = [codec.encode(m.STATUS_INFO, STATUS), codec.encode(m.INTERMEDIATE, INTERMEDIATE)]
    for _ in range(count):
        raw = mutate(rng, rng.choice(frames))
        tally.run("apdu stream", _stream, raw)
        tally.run("bmps", codec.bmps, raw[3:])
        tally.run("serial deframer", _deframe, mutate(rng, serial.frame(rng.choice(frames))))
        control, data = rng.choice(COMMANDS)
        tally.run("pt commands", _command(control), mutate(rng, data))
    asyncio.run(_session(tally, rng, session))
    return tally


def main(argv):
    opts = options(
        argv,
        "usage: fuzz_payments.py [--count N] [--seed N] [--session N]",
        ("count", "seed", "session"),
        defaults={"count": "100000", "seed": "1", "session": "1000"},
    )
    tally = fuzz(int(opts["count"]), int(opts["seed"]), int(opts["session"]))
    print(
        json.dumps(
            {
                "runtime": sys.implementation.name,
                "seed": tally.seed,
                "parsers": tally.rows,
                "crashes": tally.crashes[:20],
                "crash_count": len(tally.crashes),
            }
        )
    )
    return 1 if tally.crashes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
