"""TR-03151 log messages in DER, the way real TSEs encode them (reference/TSE.md §1.2).

All fields sit directly in one outer SEQUENCE; the signature is computed over the
concatenated TLVs from ``version`` to the log time (§1.3) and appended as an OCTET STRING
of the plain ``r || s`` value. Only the emulator encodes; verifiers parse independently
(tools/audit).
"""

import struct

OID_TRANSACTION_LOG = bytes.fromhex("0609 04007F0007030701 01".replace(" ", ""))
OID_SYSTEM_LOG = bytes.fromhex("0609 04007F0007030701 02".replace(" ", ""))
OID_AUDIT_LOG = bytes.fromhex("0609 04007F0007030701 03".replace(" ", ""))
ALGORITHM_ECDSA_PLAIN_SHA384 = bytes.fromhex("300C060A04007F00070101040104")
VERSION_2 = b"\x02\x01\x02"


def tlv(tag, value):
    n = len(value)
    if n < 0x80:
        head = bytes((tag, n))
    elif n < 0x100:
        head = bytes((tag, 0x81, n))
    else:
        head = bytes((tag, 0x82)) + struct.pack(">H", n)
    return head + value


def int_content(n):
    """Minimal two's-complement big-endian content of a non-negative INTEGER."""
    return n.to_bytes((n.bit_length() + 8) // 8, "big")  # one spare bit: the sign


def integer(n, tag=0x02):
    return tlv(tag, int_content(n))


def transaction_data(operation, client_id, process_data, process_type, number):
    return (
        tlv(0x80, operation.encode())
        + tlv(0x81, client_id.encode())
        + tlv(0x82, process_data)
        + tlv(0x83, process_type.encode())
        + integer(number, 0x85)
    )


def system_data(operation, operation_data):
    return tlv(0x80, operation.encode()) + tlv(0x81, operation_data)


def log_message(oid, certified_data, serial, counter, log_time, sign, audit_data=None):
    """The complete DER log message; ``sign(dtbs) -> r||s`` signs it. Returns ``(der, dtbs)``."""
    dtbs = VERSION_2 + oid + certified_data + tlv(0x04, serial) + ALGORITHM_ECDSA_PLAIN_SHA384
    if audit_data is not None:
        dtbs += tlv(0x04, audit_data)
    dtbs += integer(counter) + integer(log_time)
    signature = sign(dtbs)
    return tlv(0x30, dtbs + tlv(0x04, signature)), dtbs
