"""The TSE's TAR export read back on the terminal: ustar headers and TR-03151 log messages.

    reader = ExportReader(logs.append)      # each transaction log, parsed, as it arrives
    await client.export_tar(reader.feed, p.EXPORT_TRANSACTIONS, first, last, client_id)
    reader.close()                          # TseProtocolError if the archive ended early
    log = parse_log(der)                    # .operation .client_id .process_data .number ...

Theory of operation: the export is a flat ustar archive (``info.csv``, the logs, the
certificates; ``docs/tse.md``). ``ExportReader`` is fed the archive in chunks of any size as
the card streams it and keeps only the member being read, so memory does not grow with the
export. Transaction logs (``..._Log-Tra_...log``) are parsed and handed over; every other
member is skipped. ``parse_log`` reads one LogMessage (DER, reference/TSE.md §1.2): version,
the log's OID, the TransactionLog fields ([0] operationType, [1] clientId, [2] processData,
[3] processType, [5] transactionNumber), serialNumber, signatureAlgorithm, signatureCounter,
signatureCreationTime (unixTime) and signatureValue. Only definite lengths are accepted: a
card of this driver writes DER. Anything else is the card's fault (``TseProtocolError``,
``by_peer``) and names the member.
"""

from tse_sd.errors import TseProtocolError

BLOCK = 512
OID_TRANSACTION_LOG = b"\x04\x00\x7f\x00\x07\x03\x07\x01\x01"  # 0.4.0.127.0.7.3.7.1.1


def octal(field):
    """The number in a ustar header's octal field (``ValueError`` if it is not one)."""
    text = bytes(field).split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def member_name(header):
    """A ustar header's member name (with its prefix)."""
    name = bytes(header[0:100]).split(b"\0", 1)[0].decode()
    if bytes(header[257:262]) == b"ustar":
        prefix = bytes(header[345:500]).split(b"\0", 1)[0].decode()
        if prefix:
            name = prefix + "/" + name
    return name


def parse_header(header):
    """``(name, size, checksum right)`` of a ustar header (the checksum field counted as
    spaces); ``ValueError`` (``UnicodeError`` is one) if it cannot be read as one at all."""
    checked = octal(header[148:156]) == sum(header[:148]) + 8 * 32 + sum(header[156:])
    return member_name(header), octal(header[124:136]), checked


def log_counter(name):
    """The signature counter in a TR-03153 log file name (``..._Sig-12_...log``), or None."""
    at = name.find("_Sig-")
    if at < 0 or "_Log-" not in name or not name.endswith(".log"):
        return None
    digits = name[at + 5 :].split("_", 1)[0]
    return int(digits) if digits.isdigit() else None


# --- DER ------------------------------------------------------------------------------------


def _tlv(data, pos, end, where):
    """``(tag, value start, value end)`` of the element at ``pos``."""
    if pos + 2 > end:
        raise TseProtocolError("%s: element cut short at byte %d" % (where, pos))
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        count = n & 0x7F
        if count == 0 or count > 4:
            raise TseProtocolError("%s: not DER (length form 0x%02X at byte %d)" % (where, n, pos - 1))
        if pos + count > end:
            raise TseProtocolError("%s: length cut short at byte %d" % (where, pos))
        n = 0
        for i in range(count):
            n = (n << 8) | data[pos + i]
        pos += count
    if pos + n > end:
        raise TseProtocolError("%s: element of %d bytes overruns its container" % (where, n))
    return tag, pos, pos + n


def _uint(data, start, end):
    n = 0
    for i in range(start, end):
        n = (n << 8) | data[i]
    return n


class TransactionLog:
    """One TransactionLog message, as the card signed it."""

    def __init__(self):
        self.operation = ""
        self.client_id = ""
        self.process_data = b""
        self.process_type = ""
        self.number = None
        self.serial = b""
        self.counter = None
        self.log_time = None
        self.signature = b""


def parse_log(data, where="log message"):
    """The ``TransactionLog`` in the DER ``data``; None for a system or audit log."""
    tag, pos, end = _tlv(data, 0, len(data), where)
    if tag != 0x30 or end != len(data):
        raise TseProtocolError("%s: not one DER SEQUENCE" % where)
    items = []
    while pos < end:
        tag, start, stop = _tlv(data, pos, end, where)
        items.append((tag, start, stop))
        pos = stop
    if len(items) < 2 or items[0][0] != 0x02 or items[1][0] != 0x06:
        raise TseProtocolError("%s: no version and log type" % where)
    if bytes(data[items[1][1] : items[1][2]]) != OID_TRANSACTION_LOG:
        return None
    log = TransactionLog()
    rest = []
    for tag, start, stop in items[2:]:
        value = data[start:stop]
        if tag == 0x80:
            log.operation = bytes(value).decode()
        elif tag == 0x81:
            log.client_id = bytes(value).decode()
        elif tag == 0x82:
            log.process_data = bytes(value)
        elif tag == 0x83:
            log.process_type = bytes(value).decode()
        elif tag == 0x85:
            log.number = _uint(data, start, stop)
        elif tag not in (0x84, 0x86):
            rest.append((tag, start, stop))
    # serialNumber, signatureAlgorithm, signatureCounter, signatureCreationTime, signatureValue
    if len(rest) != 5 or [t for t, _, _ in rest[:3]] != [0x04, 0x30, 0x02] or rest[4][0] != 0x04:
        raise TseProtocolError("%s: not a TransactionLog of TR-03151" % where)
    if log.number is None or not log.operation:
        raise TseProtocolError("%s: a TransactionLog without operation or number" % where)
    log.serial = bytes(data[rest[0][1] : rest[0][2]])
    log.counter = _uint(data, rest[2][1], rest[2][2])
    tag, start, stop = rest[3]
    log.log_time = _uint(data, start, stop) if tag == 0x02 else bytes(data[start:stop]).decode()
    log.signature = bytes(data[rest[4][1] : rest[4][2]])
    return log


# --- the archive, streamed --------------------------------------------------------------------


class ExportReader:
    """Feed a TAR export in chunks (``feed`` is a ``sink`` for ``TseClient.export_tar``);
    ``on_log(log, name)`` gets every transaction log."""

    def __init__(self, on_log):
        self.on_log = on_log
        self.buf = b""
        self.name = None  # the transaction log being read (None: a header is next)
        self.size = 0
        self.skip = 0  # bytes still to pass over: a member we do not read, or padding
        self.ended = False
        self.members = 0

    def feed(self, chunk):
        self.buf += chunk
        while not self.ended:
            if self.skip:
                drop = min(self.skip, len(self.buf))
                self.buf = self.buf[drop:]
                self.skip -= drop
                if self.skip:
                    return
            elif self.name is None:
                if len(self.buf) < BLOCK:
                    return
                header, self.buf = self.buf[:BLOCK], self.buf[BLOCK:]
                self._header(header)
            else:
                if len(self.buf) < self.size:
                    return
                data, self.buf = self.buf[: self.size], self.buf[self.size :]
                name, self.name = self.name, None
                self.skip = -self.size % BLOCK
                log = parse_log(data, name)
                if log is not None:
                    self.on_log(log, name)

    def _header(self, header):
        if header == bytes(BLOCK):
            self.ended = True
            return
        try:
            name, size, ok = parse_header(header)
        except ValueError:
            ok = False
        if not ok:
            raise TseProtocolError("TSE export: not a TAR header after %d members" % self.members)
        self.members += 1
        if "_Log-Tra_" in name and name.endswith(".log") and header[156] in (0, 0x30):
            self.name, self.size = name, size
        else:
            self.skip = (size + BLOCK - 1) // BLOCK * BLOCK

    def close(self):
        if not self.ended:
            raise TseProtocolError("TSE export ended without its two zero blocks (cut short)")
