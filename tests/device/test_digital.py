"""The digital receipt on both runtimes: the document carries every § 6 KassenSichV field and the
TSE data exactly as journaled (or the TSE failure); sealed and wrapped it opens again, and not
with another key or with a byte changed; the outbox makes the URL before any upload, keeps the
key in no file and no journal record, and journals the upload only when the server confirmed it.
(Against ``cryptography`` and the real receipt server: tests/host/test_digital_crypto.py,
test_digital_sim.py.)"""

import json
import os

from support import TempDir, demo_master, raises, run

from core.x25519 import public_key
from firmware.digital import envelope
from firmware.digital.document import document, dumps
from firmware.digital.outbox import Outbox, b64url
from firmware.journal import Journal
from hal.clock import ManualClock

QR = (
    "V0;SMARTECR-SIM-0001;Kassenbeleg-V1;Beleg^5.49_0.00_0.00_0.00_0.00^5.49:Bar;7;31;"
    "2026-12-02T10:00:00.000Z;2026-12-02T10:00:05.000Z;ecdsa-plain-SHA384;unixTime;SIG==;PUBKEY=="
)


def _record(tse=True):
    rec = {
        "bon_nr": 7,
        "bon_id": "7",
        "bon_typ": "Beleg",
        "z_nr": 1,
        "start": 1796205600,
        "end": 1796205605,
        "operator": {"id": "1", "name": "Anna Kasse"},
        "lines": [
            {
                "pos": 1,
                "gv_typ": "Umsatz",
                "text": "Kaffee Crema 250 g",
                "qty": 1000,
                "price": 549,
                "amount": 549,
                "vat_key": 1,
                "storno": False,
            },
        ],
        "payments": [{"typ": "Bar", "name": "Bargeld", "amount": 549}],
        "given": 1000,
        "change": 451,
        "total": 549,
        "vat": [[1, 1900, 549, 461, 88]],
    }
    if tse:
        rec["tse"] = {
            "number": 7,
            "start": 1796205600,
            "end": 1796205605,
            "counter": 31,
            "signature": "SIG==",
            "serial": "72b6",
            "client_id": "SMARTECR-SIM-0001",
            "process_type": "Kassenbeleg-V1",
            "process_data": "Beleg^5.49_0.00_0.00_0.00_0.00^5.49:Bar",
            "qr": QR,
        }
    else:
        rec["tse_failure"] = "TSE-Karte entnommen"
    return rec


def test_the_document_has_every_field_of_section_6():
    doc = document(_record(), demo_master(), 1796205606)
    assert doc["format"] == "smartecr-receipt" and doc["version"] == 1
    assert doc["unternehmen"]["name"] == "Mustermann Feinkost GmbH" and doc["unternehmen"]["ort"] == "Berlin"
    assert doc["unternehmen"]["strasse"] and doc["unternehmen"]["plz"]  # § 6 Nr. 1: the address
    assert doc["bon"]["bon_start"] == "2026-12-02T10:00:00.000Z"  # § 6 Nr. 2
    assert (
        doc["positionen"][0]["artikeltext"] == "Kaffee Crema 250 g" and doc["positionen"][0]["menge"] == 1000
    )
    assert doc["ust"] == [
        {"ust_schluessel": 1, "ust_satz": 1900, "bon_brutto": 549, "bon_netto": 461, "bon_ust": 88}
    ]
    assert doc["kasse"]["kasse_seriennr"] == "SMARTECR-SIM-0001"  # § 6 Nr. 6 with the TSE's serial
    tse = doc["tse"]
    assert (tse["tse_serial"], tse["tse_tanr"], tse["tse_ta_sigz"], tse["tse_ta_sig"]) == (
        "72b6",
        7,
        31,
        "SIG==",
    )
    assert tse["tse_sig_alg"] == "ecdsa-plain-SHA384" and tse["tse_public_key"] == "PUBKEY=="
    assert doc["qr"] == QR and doc["ums_brutto"] == 549 and doc["rueckgeld"] == 451
    failed = document(_record(tse=False), demo_master())
    assert failed["tse"] is None and failed["tse_ta_fehler"] == "TSE-Karte entnommen"
    assert json.loads(dumps(doc)) == doc


def test_sealed_and_wrapped_it_opens_only_with_its_key():
    key, other = os.urandom(32), os.urandom(32)
    blob = envelope.seal(key, b"the receipt " * 40)
    assert envelope.open_sealed(key, blob) == b"the receipt " * 40
    assert "tag" in str(raises(ValueError, envelope.open_sealed, other, blob))
    changed = bytearray(blob)
    changed[30] ^= 0x80
    assert raises(ValueError, envelope.open_sealed, key, bytes(changed))
    secret = os.urandom(32)
    wrapped = envelope.wrap(key, public_key(secret))
    assert envelope.unwrap(secret, wrapped) == key
    assert raises(ValueError, envelope.unwrap, os.urandom(32), wrapped)


class Client:
    """The receipt server's answers, in order (an ``OSError``: it cannot be reached)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.got = []

    async def put(self, rid, blob, account="", wrapped=""):
        self.got.append((rid, blob, account, wrapped))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_the_outbox_makes_the_url_first_and_uploads_when_it_can():
    d = TempDir()
    try:
        journal = Journal(d.path + "/journal", ManualClock())
        box = Outbox(d.path + "/outbox", journal, ManualClock(), "https://bon.example/r/")
        issued = box.issue(_record(), demo_master(), "digital")
        rid, fragment = issued["url"][len("https://bon.example/r/") :].split("#")
        assert rid == issued["id"] and len(rid) == 22 and len(fragment) == 43  # 16 and 32 bytes
        assert box.pending() == ["1-" + rid]
        for name in os.listdir(d.path + "/outbox") + os.listdir(d.path + "/journal"):
            folder = d.path + ("/outbox/" if name.startswith("1-") else "/journal/")
            with open(folder + name, "rb") as f:
                assert fragment.encode() not in f.read()  # the key is in the URL alone
        records = [r for r in journal.records() if r["type"] == "receipt_issue"]
        assert [r["data"] for r in records] == [{"bon_nr": 7, "how": "digital", "id": rid}]
        # the network is down, then the server has it
        assert not run(box.drain(Client(OSError("ECONNREFUSED"))))
        assert box.pending() and not [r for r in journal.records() if r["type"] == "receipt_upload"]
        client = Client(201)
        assert run(box.drain(client)) and box.pending() == []
        key = bytes(b64url_decode(fragment))
        sealed = client.got[0][1]
        assert json.loads(envelope.open_sealed(key, sealed))["bon"]["bon_nr"] == 7
        uploads = [r["data"] for r in journal.records() if r["type"] == "receipt_upload"]
        assert uploads == [{"id": rid, "bon_nr": 7}]
        # a loyalty customer's receipt carries the key wrapped to the account
        secret = os.urandom(32)
        issued = box.issue(_record(), demo_master(), "both", ("ACCOUNT-0000000001", public_key(secret)))
        client = Client(409)
        assert not run(box.drain(client)) and box.pending()  # another receipt under this id: kept
        _, sealed, account, wrapped = client.got[0]
        assert account == "ACCOUNT-0000000001"
        key = envelope.unwrap(secret, bytes(b64url_decode(wrapped)))
        assert json.loads(envelope.open_sealed(key, sealed))["bon"]["bon_typ"] == "Beleg"
        journal.close()
    finally:
        d.cleanup()


def b64url_decode(text):
    import binascii

    text = text.replace("-", "+").replace("_", "/")
    return binascii.a2b_base64(text + "=" * (-len(text) % 4))


def test_b64url_has_no_padding_and_no_plus_or_slash():
    assert b64url(b"\xfb\xff") == "-_8"
    assert b64url(bytes(16)) == "AAAAAAAAAAAAAAAAAAAAAA"


def test_loyalty_accounts_are_validated_and_points_come_from_the_receipts():
    import json as _json

    from support import ROOT

    from core.errors import ConfigError
    from firmware.digital.loyalty import PointsBook
    from firmware.receipts import receipt, to_text
    from firmware.register.master import MasterData

    with open(ROOT + "/data/demo-master.json") as f:
        data = _json.load(f)
    master = MasterData.from_dict(data)
    erika = master.loyalty.account("4000100017")
    assert erika.name == "Erika Musterfrau" and len(erika.public_key) == 32
    for key, bad, words in (
        ("card", "4000 1001", "A-Z 0-9"),
        ("account", "short", "16 to 64"),
        ("public_key", "AAAA", "32 bytes"),
        ("name", "", "empty"),
    ):
        broken = _json.loads(_json.dumps(data))
        broken["loyalty"]["accounts"][0][key] = bad
        e = raises(ConfigError, MasterData.from_dict, broken)
        assert ("loyalty.accounts[0]." + key) in str(e) and words in str(e), str(e)
    broken = _json.loads(_json.dumps(data))
    broken["loyalty"]["accounts"].append(dict(broken["loyalty"]["accounts"][0]))
    assert "twice" in str(raises(ConfigError, MasterData.from_dict, broken))
    book = PointsBook(master.loyalty)
    assert book.points(1647) == 16 and book.points(-500) == 0
    first = dict(_record(), kunde=book.entry(erika, 1647, 0))
    book.add(first)
    assert book.balance(erika.card) == 16
    second = dict(_record(), kunde=book.entry(erika, 549, 10))
    assert second["kunde"] == {
        "card": "4000100017",
        "name": "Erika Musterfrau",
        "points": 5,
        "redeemed": 10,
        "balance": 11,
    }
    book.add(second)
    book.add(dict(_record(), bon_typ="AVTraining", kunde=book.entry(erika, 10000, 0)))  # training: no points
    assert book.balance(erika.card) == 11
    text = to_text(receipt(second, master))
    assert "Kundenkarte" in text and "Punkte eingelöst" in text and "Punktestand" in text
