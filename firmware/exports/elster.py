"""The § 146a Abs. 4 AO notification (``Aufzeichnung146a``) as XML for the ELSTER upload.

    xml = aufzeichnung_146a(master, tse, tse_since, config["elster"], VERSION, first_use)
    xml = notification([system_fields(...), system_fields(...)])   # a store's registers

Since 2025 every electronic register and its TSE must be reported to the tax office through
ELSTER within a month of acquisition or decommissioning. The XML holds one
``AngabenAufzeichnungssystem``: kind of system (1 = electronic register), software and version,
the register's serial number, manufacturer and model, the TSE's serial number (hex SHA-256 of
its public key), the date it was first used, its BSI certificate id and form (1 = SD card), the
dates of acquisition and putting into service and, when it is retired, the date and reason.
Dates are ``DD.MM.YYYY``. The taxpayer's name, tax number and Betriebsstätte are entered in the
ELSTER form around the upload. Field names follow the published open-source generators; the
ELSTER schema itself was not available to check against (docs/compliance.md).
"""

from core.calendar import local_iso

NAMESPACE = "http://finkonsens.de/elster/elsternachricht/aufzeichnung146a/v1"


def _xml(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def german_date(iso):
    """``2026-01-15`` -> ``15.01.2026``; ``ValueError`` for anything else."""
    parts = iso.split("-")
    if len(iso) != 10 or len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError("a date must be YYYY-MM-DD, got %r" % (iso,))
    y, m, d = int(parts[0]), int(parts[1]), int(parts[2])
    if not (1 <= m <= 12 and 1 <= d <= 31 and y >= 2000):
        raise ValueError("no such date %r" % (iso,))
    return "%s.%s.%s" % (parts[2], parts[1], parts[0])


def _bsi_id(text):
    parts = text.split("-")
    if (
        len(parts) != 5
        or parts[:3] != ["BSI", "K", "TR"]
        or not all(len(p) == 4 and p.isdigit() for p in parts[3:])
    ):
        raise ValueError("the BSI id must look like BSI-K-TR-0000-2026, got %r" % (text,))
    return text


def aufzeichnung_146a(master, tse, tse_since, settings, software, first_use):
    """The notification of one register as text. ``tse`` is the journal's ``tse`` record data
    and ``tse_since`` its time; ``first_use`` the time the register first recorded anything
    (Unix seconds)."""
    return notification([system_fields(master, tse, tse_since, settings, software, first_use)])


def system_fields(master, tse, tse_since, settings, software, first_use):
    """One register's ``AngabenAufzeichnungssystem``: ``[(field, value)]`` (arguments as for
    ``aufzeichnung_146a``)."""
    register = master.register
    fields = [
        ("Art", "1"),
        ("Software", register.get("software", "smartECR")),
        ("SoftwareVersion", software),
        ("SeriennummerAS", register["serial"]),
        ("Hersteller", register.get("brand", "")),
        ("Modell", register.get("model", "")),
        ("SeriennummerTSE", tse["serial"]),
        ("InbetriebnahmeTSE", german_date(local_iso(tse_since)[:10])),
        ("BSIID", _bsi_id(settings["bsi_id"])),
        ("ArtTSE", str(settings["tse_kind"])),
        ("AnschaffungAS", german_date(settings["acquired"])),
        ("InbetriebnahmeAS", german_date(settings["in_service"] or local_iso(first_use)[:10])),
    ]
    if settings["decommissioned"]:
        if not settings["reason"]:
            raise ValueError("a decommissioned register needs a reason (elster.reason)")
        fields.append(("AusserbetriebnahmeAS", german_date(settings["decommissioned"])))
        fields.append(("GrundAusserbetriebnahme", settings["reason"]))
    return fields


def notification(systems):
    """The notification (one Betriebsstätte) of ``systems``, each ``system_fields``'s list.
    Registers sharing one TSE (the store's TSE service) name the same TSE, described alike."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<Aufzeichnung146a xmlns="%s" version="1">' % NAMESPACE]
    for fields in systems:
        out.append("  <AngabenAufzeichnungssystem>")
        for name, value in fields:
            out.append("    <%s>%s</%s>" % (name, _xml(value), name))
        out.append("  </AngabenAufzeichnungssystem>")
    out.append("</Aufzeichnung146a>")
    return "\n".join(out) + "\n"
