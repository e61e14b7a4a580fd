"""What the emulated card keeps across power cuts, and how it keeps it intact.

A card's state directory::

    card.json      administrative state (users, clients, flags, counters snapshot)
    key.pem        the signing key
    chain/N.der    certificates: 0 = TSE certificate, 1 = sub-CA, 2 = root
    logs.bin       every signed log message, appended as it is made
    card.img       the FAT volume the host sees (mailbox files, store)

Invariants:

1. ``card.json`` is replaced atomically (write a temporary file, fsync, rename, fsync the
   directory): a power cut leaves the old or the new state, never a mix.
2. A log record is appended (one ``write`` into the kernel) *before* its answer is visible to
   the host, so a signature the host has seen is in the store even if the emulator process
   dies the next moment. With ``fsync=True`` each record is also fdatasync'd first, which
   survives a power cut of the machine running the emulator too (``card serve --fsync``).
3. Each record carries its length and a CRC-32; loading stops at the first torn or corrupt
   record and cuts the file there (that record's answer was never given).
4. Counters never go back: on loading, the signature counter and the transaction number are
   the larger of the state snapshot and the highest value in the log store.
"""

import json
import os
import struct
import zlib

KIND_TRANSACTION = 0
KIND_SYSTEM = 1
KIND_AUDIT = 2

_RECORD = ">II"  # length of payload, CRC-32 of payload
_META = ">BQQQB"  # kind, signature counter, log time, transaction number, event


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dfd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class LogRecord:
    """One stored log message with the facts the card needs to find it again."""

    __slots__ = ("kind", "counter", "log_time", "number", "event", "client", "operation", "der")

    def __init__(self, kind, counter, log_time, number, event, client, operation, der):
        self.kind = kind
        self.counter = counter
        self.log_time = log_time
        self.number = number
        self.event = event
        self.client = client
        self.operation = operation
        self.der = der

    def encode(self):
        client = self.client.encode()
        op = self.operation.encode()
        return (
            struct.pack(_META, self.kind, self.counter, self.log_time, self.number, self.event)
            + bytes((len(client),))
            + client
            + bytes((len(op),))
            + op
            + self.der
        )

    @classmethod
    def decode(cls, payload):
        kind, counter, log_time, number, event = struct.unpack_from(_META, payload, 0)
        pos = struct.calcsize(_META)
        n = payload[pos]
        client = payload[pos + 1 : pos + 1 + n].decode()
        pos += 1 + n
        n = payload[pos]
        operation = payload[pos + 1 : pos + 1 + n].decode()
        return cls(kind, counter, log_time, number, event, client, operation, payload[pos + 1 + n :])


class LogStore:
    """The append-only log store ``logs.bin``."""

    def __init__(self, path, fsync=False):
        self.path = path
        self.fsync = fsync
        self.records = []
        self.size = 0  # bytes of DER stored, for the capacity rule
        good = 0
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
            pos = 0
            while pos + 8 <= len(data):
                length, crc = struct.unpack_from(_RECORD, data, pos)
                payload = data[pos + 8 : pos + 8 + length]
                if len(payload) != length or zlib.crc32(payload) != crc:
                    break
                record = LogRecord.decode(payload)
                self.records.append(record)
                self.size += len(record.der)
                pos += 8 + length
            good = pos
            if good != len(data):  # a torn tail: the answer for it was never given
                with open(path, "r+b") as f:
                    f.truncate(good)
                    os.fsync(f.fileno())
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def append(self, record):
        payload = record.encode()
        os.write(self._fd, struct.pack(_RECORD, len(payload), zlib.crc32(payload)) + payload)
        if self.fsync:
            os.fdatasync(self._fd)
        self.records.append(record)
        self.size += len(record.der)

    def clear(self):
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)
        self.records = []
        self.size = 0

    def close(self):
        os.close(self._fd)


class CardState:
    """``card.json``: a dict with defaults, saved atomically."""

    def __init__(self, path, data):
        self.path = path
        self.data = data

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls(path, json.load(f))

    def save(self):
        write_atomic(self.path, json.dumps(self.data, indent=1, sort_keys=True).encode())

    def __getitem__(self, key):
        return self.data[key]

    def __setitem__(self, key, value):
        self.data[key] = value
