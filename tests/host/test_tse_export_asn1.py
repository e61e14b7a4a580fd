"""The terminal's reader of TSE exports (tse_sd/export.py) against asn1crypto, a DER library:
every transaction log of a real emulator export, streamed in random pieces as the card sends
it, gives exactly the fields asn1crypto reads from the same bytes."""

import asyncio
import io
import random
import tarfile

from asn1crypto import core, parser

from firmware.fiscal.processdata import PROCESS_TYPE, kassenbeleg_v1
from hal.clock import SystemClock
from tools.sim.tse.image import ImageBlocks
from tools.sim.tse.server import open_card
from tse_sd.client import TseClient
from tse_sd.export import ExportReader
from tse_sd.transport import BlockTransport


def reference(der):
    """The TransactionLog's fields as asn1crypto reads them (tags as reference/TSE.md §1.2)."""
    outer = core.load(der, strict=True)
    fields = {}
    pos = 0
    while pos < len(outer.contents):
        class_, _method, tag, header, contents, _trailer = parser.parse(outer.contents[pos:])
        fields.setdefault((class_, tag), []).append(contents)
        pos += len(header) + len(contents)
    ctx = 2  # context-specific class
    return {
        "operation": fields[(ctx, 0)][0].decode(),
        "client_id": fields[(ctx, 1)][0].decode(),
        "process_data": fields[(ctx, 2)][0],
        "process_type": fields[(ctx, 3)][0].decode(),
        "number": int.from_bytes(fields[(ctx, 5)][0], "big"),
        "serial": fields[(0, 4)][0],
        "counter": int.from_bytes(fields[(0, 2)][1], "big"),
        "log_time": int.from_bytes(fields[(0, 2)][2], "big"),
        "signature": fields[(0, 4)][1],
    }


def test_every_transaction_log_reads_as_asn1crypto_reads_it(tmp_path):
    card, image = open_card(str(tmp_path / "card"))
    clock = SystemClock()
    client = TseClient(lambda: BlockTransport(ImageBlocks(image)), clock)
    rng = random.Random(7)

    async def work():
        await client.setup("123456", "12345", "54321", "KASSE-7", clock.now())
        for i in range(12):
            start = await client.start_transaction("KASSE-7")
            payments = [  # one per currency, so that processData grows to ~1.5 KiB
                (100 + j, "Bar", "A" + chr(65 + j // 26) + chr(65 + j % 26)) for j in range(i * 9)
            ]
            data = kassenbeleg_v1("Beleg", (sum(p[0] for p in payments), 0, 0, 0, 0), payments)
            await client.finish_transaction("KASSE-7", start.number, data, PROCESS_TYPE)
        whole = io.BytesIO()
        await client.export_tar(whole.write)
        return whole.getvalue()

    try:
        archive = asyncio.run(work())
    finally:
        image.close()
        card.close()
    expected = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if "_Log-Tra_" in member.name:
                expected[member.name] = reference(tar.extractfile(member).read())
    assert len(expected) == 24 and max(len(e["process_data"]) for e in expected.values()) > 300
    got = {}
    reader = ExportReader(lambda log, name: got.update({name: vars(log)}))
    at = 0
    while at < len(archive):
        size = rng.choice((1, 13, 503, 512, 2048, 9000))
        reader.feed(archive[at : at + size])
        at += size
    reader.close()
    assert got == expected
