"""Digital receipts on their way to the receipt server (device code): issued at once, uploaded
when the server can be reached.

    outbox = Outbox(data_dir + "/outbox", journal, clock, base_url)
    issued = outbox.issue(record, master, "digital")     # {"id", "url", "how"}: the QR's URL
    await outbox.drain(client)                           # uploads, oldest first; True when empty
    client = ReceiptClient(host, port, serial, token)

Issuing: a random 32-byte key and a random 16-byte id; the receipt's document
(firmware/digital/document.py) sealed with the key (firmware/digital/envelope.py) and, for a
loyalty customer, the key wrapped to the account's public key; the sealed bytes and what the
upload needs written to the outbox (durable before the URL is shown); then ``receipt_issue``
``{"bon_nr", "how", "id", "account"}`` journaled. The URL is ``<base_url><id>#<key>``
(base64url, no padding): made here, so it works on a terminal without network, and the key is
in the fragment, which a browser never sends. The key is kept nowhere else: not in the journal,
the log or the outbox.

Draining: each receipt is PUT to ``/api/receipts/<id>``; the server's ``201`` or ``200`` (it has
these very bytes) confirms it: ``receipt_upload`` ``{"id", "bon_nr"}`` is journaled and the files
removed. A ``409`` (the id holds other bytes: never from us) is logged and the receipt kept for
a technician. Anything else stops the round; the terminal tries again later.
"""

import asyncio
import binascii
import json
import os

from core.errors import ProtocolError
from core.storage import exists, makedirs, write_atomic
from firmware.digital.document import document, dumps
from firmware.digital.envelope import seal, wrap
from hal.http import request

HOW = ("paper", "digital", "both", "none")


def b64url(data):
    return binascii.b2a_base64(data).decode().strip().replace("+", "-").replace("/", "_").rstrip("=")


class ReceiptClient:
    """The terminal's enrolment at the receipt server: its serial and token."""

    def __init__(self, host, port, serial, token, timeout_ms=5000):
        self.host = host
        self.port = port
        self.serial = serial
        self.token = token
        self.timeout_ms = timeout_ms

    async def put(self, rid, blob, account="", wrapped=""):
        headers = {"Authorization": "Bearer " + self.token, "X-Register": self.serial}
        if account:
            headers["X-Account"] = account
            headers["X-Wrapped-Key"] = wrapped
        status, _ = await request(
            self.host, self.port, "PUT", "/api/receipts/" + rid, None, self.timeout_ms, headers, blob
        )
        return status


class Outbox:
    def __init__(self, folder, journal, clock, base_url, log=None):
        self.folder = folder
        self.journal = journal
        self.clock = clock
        self.base_url = base_url
        self.log = log
        makedirs(folder)
        self._next = 0
        for name in self.pending():
            self._next = max(self._next, int(name.split("-", 1)[0]))

    def pending(self):
        """The names of the receipts not yet uploaded, oldest first."""
        names = [n[:-5] for n in os.listdir(self.folder) if n.endswith(".json")]
        names.sort(key=lambda n: int(n.split("-", 1)[0]))
        return names

    def issue(self, record, master, how, account=None):
        """Issue ``record`` digitally (``how``: digital or both); ``account``: ``(id, public key)``
        of a loyalty customer. Returns ``{"id", "url", "how"}``."""
        key, rid = os.urandom(32), b64url(os.urandom(16))
        blob = seal(key, dumps(document(record, master, self.clock.now())))
        meta = {"id": rid, "bon_nr": record["bon_nr"]}
        if account is not None:
            meta["account"] = account[0]
            meta["wrapped"] = b64url(wrap(key, account[1]))
        self._next += 1
        name = "%d-%s" % (self._next, rid)
        write_atomic(self.folder + "/" + name + ".bin", blob)
        write_atomic(self.folder + "/" + name + ".json", json.dumps(meta))
        entry = {"bon_nr": record["bon_nr"], "how": how, "id": rid}
        if account is not None:
            entry["account"] = account[0]
        self.journal.append("receipt_issue", entry)
        return {"id": rid, "url": self.base_url + rid + "#" + b64url(key), "how": how}

    async def drain(self, client):
        """Upload what waits, oldest first; True when nothing is left."""
        for name in self.pending():
            path = self.folder + "/" + name
            with open(path + ".json") as f:
                meta = json.load(f)
            with open(path + ".bin", "rb") as f:
                blob = f.read()
            try:
                status = await client.put(meta["id"], blob, meta.get("account", ""), meta.get("wrapped", ""))
            except (OSError, ProtocolError, EOFError, asyncio.TimeoutError) as e:
                if self.log is not None:
                    self.log.warning("receipt server: %s; %d receipt(s) wait", e, len(self.pending()))
                return False
            if status == 409:
                if self.log is not None:
                    self.log.error("receipt server: id %s holds another receipt; kept", meta["id"])
                return False
            if status not in (200, 201):
                return False
            self.journal.append("receipt_upload", {"id": meta["id"], "bon_nr": meta["bon_nr"]})
            for ext in (".bin", ".json"):
                if exists(path + ext):
                    os.remove(path + ext)
        return True
