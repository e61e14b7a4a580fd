"""The acquirer link's crash rules on both runtimes, with the journal as its ledger: every message
recorded before it goes (without card data), the trace number carried over a restart, a
reversal owed at boot for a request no receipt carries, sent again until the host confirms.
The host here is a loopback server answering by script (the real simulator's side is
tests/host/test_sim.py's power-cut tests)."""

from support import TempDir, listen, run

from firmware.cardledger import CardLedger
from firmware.journal import Journal
from hal.clock import ManualClock
from payment import iso8583
from payment.acquirer import Acquirer
from payment.emv.dol import bcd
from payment.emv.online import GoOnline

PAN = "5413330089010434"


def _action(cents=1250):
    fields = {0x9F02: bcd(cents, 6), 0x9A: b"\x26\x12\x02", 0x9F21: b"\x10\x20\x30"}
    return GoOnline(b"\x9f\x26\x08" + bytes(8), fields, PAN, "2912", 0, False)


class Host:
    """Answers each request with ``codes[mti]`` (39), or not at all while ``silent``."""

    def __init__(self):
        self.codes = {"0100": "00", "0400": "00", "0200": "00"}
        self.silent = False
        self.got = []

    async def serve(self, reader, writer):
        head = await reader.readexactly(2)
        raw = await reader.readexactly((head[0] << 8) | head[1])
        mti, fields = iso8583.decode(raw)
        self.got.append((mti, fields))
        if not self.silent:
            answer = {n: fields[n] for n in (3, 4, 11, 41) if n in fields}
            answer[39] = self.codes[mti]
            writer.write(iso8583.frame(iso8583.encode(mti[:2] + "1" + mti[3], answer)))
            await writer.drain()
        writer.close()
        await writer.wait_closed()


async def _scenario(folder):
    host = Host()
    server, port = await listen(host.serve)
    try:
        journal = Journal(folder, ManualClock())
        link = Acquirer("127.0.0.1", port, "SECR0001", "SMARTECR-SIM-01", 2000, ledger=CardLedger(journal))
        answer = await link.authorise(_action())
        assert answer.approved and answer.trace == "000001" and link.approval is not None
        host.codes["0100"] = "51"
        answer = await link.authorise(_action())
        assert not answer.approved and link.approval is not None  # the first is still outstanding
        # power cut here: the first approval is in no receipt; the second was declined
        journal.close()
        journal = Journal(folder, ManualClock())
        ledger = CardLedger(journal)
        stan, owed = ledger.open()
        assert stan == 2 and [f[11] for _, f in owed] == ["000001"]
        link = Acquirer("127.0.0.1", port, "SECR0001", "SMARTECR-SIM-01", 300, ledger=ledger)
        link.stan, link.owed = stan, owed
        host.silent = True
        assert await link.send_reversals() is False and len(link.owed) == 1  # not confirmed: still owed
        host.silent = False
        assert await link.send_reversals() is True and link.owed == []
        mti, reversal = host.got[-1]
        assert mti == "0400" and reversal[11] == "000004" and reversal[90][:10] == "0100000001"
        assert 2 not in reversal and 55 not in reversal and reversal[4] == "000000001250"
        assert ledger.open() == (4, [])  # settled: nothing owed after the next restart
        # an approval booked with its receipt is owed nothing
        host.codes["0100"] = "00"
        answer = await link.authorise(_action(700))
        journal.append("pending", {"number": 9, "bon": {"cards": [{"trace": answer.trace}]}})
        link.booked()
        assert link.approval is None and ledger.open()[1] == []
        for rec in journal.records(kind="card_sent"):
            assert PAN not in str(rec) and "55" not in rec["data"]["fields"]
        journal.close()
    finally:
        server.close()
        await server.wait_closed()


def test_reversals_owed_after_a_power_cut_are_sent_until_confirmed():
    d = TempDir()
    try:
        run(_scenario(d.path))
    finally:
        d.cleanup()
