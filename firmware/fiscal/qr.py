"""The receipt's QR code (DSFinV-K Anhang I): the 12 fields of a signed transaction, ``V0;...``.

    qr = receipt_qr(client_id, start, finish, "Kassenbeleg-V1", process_data, info.public_key)
    # 'V0;KASSE-1;Kassenbeleg-V1;Beleg^...;7;42;2026-12-01T19:32:06.000Z;...'

``start``/``finish`` are the TSE's answers (``tse_sd.protocol.TransactionResult``); times in the
QR's ISO form, signature and public key (the raw point) in base64. The same string is printed
on the receipt, journaled and exported: nothing may round or reformat its parts later.
"""

import binascii

from core.calendar import iso8601
from tse_sd.client import LOG_TIME_FORMAT, SIGNATURE_ALGORITHM


def b64(data):
    """Base64 text of ``data``, as the QR code, the journal and the export carry signatures."""
    return binascii.b2a_base64(data).decode().strip()


def receipt_qr(client_id, start, finish, process_type, process_data, public_key):
    """The receipt QR string ``V0;...`` (DSFinV-K Anhang I, 12 fields) of a finished
    transaction: ``start``/``finish`` are the ``TransactionResult`` of its Start and Finish."""
    if isinstance(process_data, bytes):
        process_data = process_data.decode()
    return ";".join(
        (
            "V0",
            client_id,
            process_type,
            process_data,
            str(finish.number),
            str(finish.signature_counter),
            iso8601(start.log_time),
            iso8601(finish.log_time),
            SIGNATURE_ALGORITHM,
            LOG_TIME_FORMAT,
            b64(finish.signature),
            b64(public_key),
        )
    )
