"""Check an ELSTER § 146a notification (``Aufzeichnung146a``) before it is uploaded.

    problems = check_elster("out/demo/elster-146a.xml")    # [] when it is fine

Well-formed XML in the notification's namespace; every system (``AngabenAufzeichnungssystem``)
with the required fields in order; dates ``DD.MM.YYYY`` that exist and do not lie in the future
of each other (acquired <= in service <= retired); Art 1..; ArtTSE 1 (SD card), 2 (USB) or 3
(cloud); a BSI id ``BSI-K-TR-nnnn-yyyy``; the TSE serial as 64 hex digits (SHA-256 of its
public key); a retired system names its reason; no register listed twice; a TSE that several
registers share (a store's TSE service) described alike by each (put into service, BSI id,
kind): one TSE, listed once with its registers.
"""

import datetime
import re

from lxml import etree

NAMESPACE = "http://finkonsens.de/elster/elsternachricht/aufzeichnung146a/v1"
REQUIRED = (
    "Art",
    "Software",
    "SoftwareVersion",
    "SeriennummerAS",
    "Hersteller",
    "Modell",
    "SeriennummerTSE",
    "InbetriebnahmeTSE",
    "BSIID",
    "ArtTSE",
    "AnschaffungAS",
    "InbetriebnahmeAS",
)
OPTIONAL = ("AusserbetriebnahmeAS", "GrundAusserbetriebnahme")


def _date(text):
    try:
        return datetime.datetime.strptime(text or "", "%d.%m.%Y").date()
    except ValueError:
        return None


def check_elster(path):
    problems = []
    try:
        root = etree.parse(path, etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except (OSError, etree.XMLSyntaxError) as e:
        return ["not well-formed XML: %s" % e]
    if root.tag != "{%s}Aufzeichnung146a" % NAMESPACE:
        problems.append("root element is %s, not Aufzeichnung146a in %s" % (root.tag, NAMESPACE))
    systems = root.findall("{%s}AngabenAufzeichnungssystem" % NAMESPACE)
    if not systems:
        problems.append("no AngabenAufzeichnungssystem")
    seen, tses = {}, {}
    for n, system in enumerate(systems, 1):
        where = "system %d" % n
        names = [etree.QName(child).localname for child in system]
        if names[: len(REQUIRED)] != list(REQUIRED) or any(x not in OPTIONAL for x in names[len(REQUIRED) :]):
            problems.append(
                "%s: fields %s, expected %s [+ %s]" % (where, names, list(REQUIRED), list(OPTIONAL))
            )
            continue
        value = {etree.QName(child).localname: (child.text or "").strip() for child in system}
        for name in REQUIRED:
            if not value[name]:
                problems.append("%s: %s is empty" % (where, name))
        if not re.match(r"^[0-9a-f]{64}$", value["SeriennummerTSE"]):
            problems.append("%s: SeriennummerTSE is not 64 hex digits" % where)
        if not re.match(r"^BSI-K-TR-\d{4}-\d{4}$", value["BSIID"]):
            problems.append("%s: BSIID %r is not BSI-K-TR-nnnn-yyyy" % (where, value["BSIID"]))
        if value["ArtTSE"] not in ("1", "2", "3"):
            problems.append("%s: ArtTSE %r is not 1, 2 or 3" % (where, value["ArtTSE"]))
        if not value["Art"].isdigit():
            problems.append("%s: Art %r is not a number" % (where, value["Art"]))
        dates = {}
        for name in ("InbetriebnahmeTSE", "AnschaffungAS", "InbetriebnahmeAS", "AusserbetriebnahmeAS"):
            if name in value:
                dates[name] = _date(value[name])
                if dates[name] is None:
                    problems.append("%s: %s %r is not a date DD.MM.YYYY" % (where, name, value[name]))
        order = [
            d
            for d in (
                dates.get("AnschaffungAS"),
                dates.get("InbetriebnahmeAS"),
                dates.get("AusserbetriebnahmeAS"),
            )
            if d
        ]
        if order != sorted(order):
            problems.append("%s: acquired, in service and retired dates are out of order" % where)
        if "AusserbetriebnahmeAS" in value and not value.get("GrundAusserbetriebnahme"):
            problems.append("%s: retired without GrundAusserbetriebnahme" % where)
        serial = value["SeriennummerAS"]
        if serial in seen:
            problems.append("%s: register %s is listed already (system %d)" % (where, serial, seen[serial]))
        seen.setdefault(serial, n)
        tse = tuple(value[k] for k in ("InbetriebnahmeTSE", "BSIID", "ArtTSE"))
        first = tses.setdefault(value["SeriennummerTSE"], (n, tse))
        if first[1] != tse:
            problems.append(
                "%s: TSE %s... is described otherwise than in system %d (%s, not %s)"
                % (where, value["SeriennummerTSE"][:16], first[0], ", ".join(tse), ", ".join(first[1]))
            )
    return problems
