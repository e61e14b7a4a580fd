"""The receipt as a document for the customer's phone (device code): every field § 6 KassenSichV
asks of a receipt, in JSON, with the same TSE data as the paper one. Field by field in
docs/digital-receipt.md.

    doc = document(record, master)       # a dict; record: a whole receipt (journal.receipts)
    raw = dumps(doc)                     # its bytes: what is sealed (firmware/digital/envelope.py)

The DFKA's EKaBS schema is not public (docs/digital-receipt.md): the field names here are the
DSFinV-K's, in lower case, wherever the DSFinV-K has one (``bon_id``, ``bon_nr``, ``bon_typ``,
``artikeltext``, ``menge``, ``ust_schluessel``, ``zahlart_typ``, ``tse_tanr``, ``tse_ta_sig`` ...),
so a mapping to either is mechanical. Money is integer cents, quantities thousandths, VAT rates
hundredths of a percent, times ISO 8601 UTC as in the receipt's QR code. ``format`` and
``version`` say what this is; a reader refuses a version it does not know.
"""

import json

from core.calendar import iso8601
from firmware.receipts import receipt, to_text
from firmware.register.vat import VAT_KEYS

FORMAT = "smartecr-receipt"
VERSION = 1


def _tse(record):
    tse = record.get("tse")
    if tse is None:
        return None
    qr = tse.get("qr", "").split(";")
    return {
        "tse_serial": tse["serial"],
        "tse_client_id": tse.get("client_id", ""),
        "tse_tanr": tse["number"],
        "tse_ta_start": iso8601(tse["start"]),
        "tse_ta_ende": iso8601(tse["end"]),
        "tse_ta_vorgangsart": tse["process_type"],
        "tse_vorgangsdaten": tse["process_data"],
        "tse_ta_sigz": tse["counter"],
        "tse_ta_sig": tse["signature"],
        "tse_sig_alg": qr[8] if len(qr) == 12 else "",
        "tse_zeitformat": qr[9] if len(qr) == 12 else "",
        "tse_public_key": qr[11] if len(qr) == 12 else "",
    }


def document(record, master, issued=None):
    """The receipt ``record`` (a whole one, as ``journal.receipts`` gives it) as a document."""
    business, register = master.business, master.register
    lines = []
    for ln in record["lines"]:
        row = {
            "pos_zeile": ln["pos"],
            "artikeltext": ln["text"],
            "gv_typ": ln["gv_typ"],
            "menge": ln["qty"],
            "einheit": ln.get("unit") or "Stk",
            "preis": ln["price"],
            "betrag": ln["amount"],
            "ust_schluessel": ln["vat_key"],
            "ust_satz": VAT_KEYS[ln["vat_key"]][0],
            "p_storno": bool(ln.get("storno")),
        }
        lines.append(row)
    vat = [
        {"ust_schluessel": key, "ust_satz": rate, "bon_brutto": gross, "bon_netto": net, "bon_ust": tax}
        for key, rate, gross, net, tax in record["vat"]
    ]
    payments = [
        {"zahlart_typ": p["typ"], "zahlart_name": p["name"], "betrag": p["amount"]}
        for p in record["payments"]
    ]
    tse = _tse(record)
    out = {
        "format": FORMAT,
        "version": VERSION,
        "unternehmen": {
            "name": business["name"],
            "strasse": business.get("street", ""),
            "plz": business.get("zip", ""),
            "ort": business.get("city", ""),
            "land": business.get("country", ""),
            "stnr": business.get("stnr", ""),
            "ustid": business.get("ustid", ""),
        },
        "kasse": {
            "kasse_seriennr": register["serial"],
            "kasse_brand": register.get("brand", ""),
            "kasse_modell": register.get("model", ""),
            "kasse_waehrung": register.get("currency", "EUR"),
        },
        "bon": {
            "bon_id": record.get("bon_id", str(record["bon_nr"])),
            "bon_nr": record["bon_nr"],
            "bon_typ": record["bon_typ"],
            "bon_name": record.get("bon_name", ""),
            "z_nr": record.get("z_nr"),
            "bon_start": iso8601(record["start"]),
            "bon_ende": iso8601(record["end"]),
            "bediener_name": (record.get("operator") or {}).get("name", ""),
        },
        "positionen": lines,
        "ust": vat,
        "zahlungen": payments,
        "ums_brutto": record["total"],
        "gegeben": record.get("given", 0),
        "rueckgeld": record.get("change", 0),
        "tse": tse,
        "qr": (record.get("tse") or {}).get("qr", ""),
        "druck": to_text(receipt(record, master, 42)),
    }
    if tse is None:
        out["tse_ta_fehler"] = record.get("tse_failure", "")
    if issued is not None:
        out["ausgestellt"] = iso8601(issued)
    return out


def dumps(doc):
    """The document's bytes: compact UTF-8 JSON (what is sealed and what the page reads)."""
    return json.dumps(doc, separators=(",", ":")).encode()
