"""The EMV kernel's first layers without a reader: BER-TLV, DOLs, APDUs and the T=0 exchange,
application selection on contact and contactless cards, and reading a card's PAN, all driven
with scripted card answers (the kernel is sans-I/O). Both runtimes."""

from support import ROOT, raises

from core.errors import ConfigError, ProtocolError
from core.schema import validate
from payment.emv import apdu, dol, kernel, selection, tlv
from payment.emv.capk import ca_keys, load_ca_keys
from payment.emv.config import SCHEMA, TerminalAid, load_terminal, terminal_from

H = bytes.fromhex
OK = b"\x90\x00"


def feed(step, answer, choose=None):
    """Run a kernel step with ``answer(capdu) -> rapdu`` and the cardholder's
    ``choose(labels)`` (none: ``NO_CHOICE``); returns (result, C-APDUs sent)."""
    sent = []
    try:
        action = step.send(None)
        while True:
            if isinstance(action, selection.Choose):
                action = step.send(choose(action.labels) if choose else selection.NO_CHOICE)
                continue
            sent.append(action.apdu)
            action = step.send(answer(action.apdu))
    except StopIteration as e:
        return e.value, sent


def test_tlv_tags_lengths_templates_and_padding():
    # a three-byte tag, a two-byte length, a template in a template, padding between objects
    value = bytes(range(200))
    data = tlv.encode(
        0x6F, [(0x84, b"2PAY.SYS.DDF01"), (0xA5, [(0xBF0C, [(0x61, [(0x4F, H("A0000000041010"))])])])]
    )
    data += b"\x00\xff" + tlv.encode(0xDF8126, value) + b"\x00"
    assert tlv.encode(0xDF8126, value)[:5] == H("DF81268" + "1C8")  # 81 C8: one length byte
    assert tlv.encode(0x9F02, bytes(300))[:5] == H("9F0282012C")
    assert [t for t, _ in tlv.items(data)] == [0x6F, 0xDF8126]
    tree = tlv.decode(data)
    assert tree[0x6F][0xA5][0xBF0C][0x61][0x4F] == H("A0000000041010") and tree[0xDF8126] == value
    assert tlv.flatten(data) == {0x84: b"2PAY.SYS.DDF01", 0x4F: H("A0000000041010"), 0xDF8126: value}
    assert tlv.find(data, (0x6F, 0xA5, 0xBF0C, 0x61, 0x4F)) == H("A0000000041010")
    assert tlv.find(data, (0x70,)) is None
    assert tlv.constructed(0xBF0C) and tlv.constructed(0x70) and not tlv.constructed(0x9F02)


def test_tlv_that_does_not_parse_says_what_and_where():
    for bad, why in (
        ("9F", "cut off"),
        ("9F02", "length of tag 9F02 missing"),
        ("9F0206000000", "runs past"),
        ("5A80", "length form 80"),
        ("5A85" + "00" * 5, "length form 85"),
        ("5A8201", "cut off"),
        ("DF818101" + "01", "longer than 3 bytes"),
    ):
        e = raises(ProtocolError, tlv.items, H(bad))
        assert why in str(e), (bad, str(e))
    deep = b"\x01"
    for _ in range(12):
        deep = tlv.encode(0x70, deep)
    assert "deeper" in str(raises(ProtocolError, tlv.decode, deep))
    assert "deeper" in str(raises(ProtocolError, tlv.flatten, deep))


def test_dol_values_are_fitted_by_format():
    pdol = dol.parse(H("9F66049F02069F37049F1A025A0A5F2D049F1B0270039C01"))
    assert pdol == [
        (0x9F66, 4),
        (0x9F02, 6),
        (0x9F37, 4),
        (0x9F1A, 2),
        (0x5A, 10),
        (0x5F2D, 4),
        (0x9F1B, 2),
        (0x70, 3),
        (0x9C, 1),
    ]
    values = {
        0x9F66: H("3600"),  # b, short: trailing zeros
        0x9F02: dol.bcd(1250, 6),
        0x9F37: H("0102030405"),  # b, long: the rightmost byte goes
        0x9F1A: H("000276"),  # n, long: the leftmost byte goes
        0x5A: H("5413330089010434"),  # cn, short: trailing FF
        0x5F2D: b"de",  # an: trailing zeros
        0x9C: H("00"),
        0x70: H("010203"),  # constructed: zeros whatever the terminal has
    }
    built = dol.build(pdol, values)
    assert built == H("360000000000000012500102030402765413330089010434FFFF64650000000000000000")
    assert dol.fit(0x9F02, H("1250"), 6) == H("000000001250")  # n, short: leading zeros
    assert dol.bcd(0, 1) == b"\x00" and dol.from_bcd(H("000000001250")) == 1250
    raises(ValueError, dol.bcd, 1000, 1)
    raises(ValueError, dol.bcd, -1, 2)
    raises(ProtocolError, dol.from_bcd, H("1A"))
    raises(ProtocolError, dol.parse, H("9F66"))


def test_command_apdus_are_the_documented_bytes():
    assert apdu.select(selection.PPSE) == H("00A404000E325041592E5359532E444446303100")
    assert apdu.select(H("A0000000041010"), next_one=True) == H("00A4040207A000000004101000")
    assert apdu.read_record(1, 1) == H("00B2010C00")
    assert apdu.read_record(2, 3) == H("00B2031400")
    assert apdu.get_processing_options() == H("80A8000002830000")
    assert apdu.get_data(0x9F17) == H("80CA9F1700")
    assert apdu.verify(H("241234FFFFFFFFFF")) == H("0020008008241234FFFFFFFFFF")
    assert apdu.verify(bytes(128), enciphered=True)[:5] == H("0020008880")
    assert apdu.generate_ac(apdu.ARQC, b"\x01", cda=True) == H("80AE9000010100")
    assert apdu.get_challenge() == H("0084000000")
    raises(ValueError, apdu.read_record, 31, 1)
    raises(ValueError, apdu.generate_ac, 0x20, b"\x01")
    raises(ValueError, apdu.external_authenticate, b"\x01")
    assert apdu.meaning(0x63C2) == "63C2 wrong PIN, 2 tries left"
    assert apdu.meaning(0x6A82) == "6A82 file or application not found"


def test_t0_answers_61xx_and_6cxx_are_followed():
    script = [
        (H("00B2010C00"), H("6C05")),  # wrong Le: asked again with Le 05
        (H("00B2010C05"), H("7003") + H("6104")),
        (H("00C0000004"), H("5A0212") + H("6102")),  # more, then more again
        (H("00C0000002"), H("3456") + OK),
    ]
    answers = dict(script)
    (data, sw), sent = feed(apdu.exchange(apdu.read_record(1, 1)), answers.__getitem__)
    assert sw == apdu.OK and data == H("70035A02123456")
    assert sent == [c for c, _ in script]
    e = raises(
        apdu.CardRefused, feed, apdu.command(apdu.select(selection.PSE), "SELECT PSE"), lambda c: H("6A82")
    )
    assert e.sw == 0x6A82 and "SELECT PSE: 6A82 file or application not found" in str(e)
    endless = raises(ProtocolError, feed, apdu.exchange(apdu.get_challenge()), lambda c: H("6101"))
    assert "61xx" in str(endless)
    raises(ProtocolError, feed, apdu.exchange(apdu.get_challenge()), lambda c: b"\x90")


VISA = H("A0000000031010")
MC = H("A0000000041010")
MAESTRO = H("A0000000043060")
AIDS = [
    TerminalAid(MC, "mastercard", kernel=2),
    TerminalAid(VISA, "visa", partial=True),
    TerminalAid(MAESTRO, "maestro", partial=False),
]


def fci(name, label=b"", prio=None, pdol=None):
    a5 = [(0x50, label)] if label else []
    if prio is not None:
        a5.append((0x87, bytes((prio,))))
    if pdol is not None:
        a5.append((0x9F38, pdol))
    return tlv.encode(0x6F, [(0x84, name), (0xA5, a5)]) + OK


def entry(aid, label, prio=None, kernel=None):
    parts = [(0x4F, aid), (0x50, label)]
    if prio is not None:
        parts.append((0x87, bytes((prio,))))
    if kernel is not None:
        parts.append((0x9F2A, bytes((kernel,))))
    return (0x61, parts)


class Card:
    """A scripted chip: ``apps`` {AID: rapdu of its SELECT}; ``pse`` a list of directory
    records (each a list of entries) or None; ``ppse`` entries or None."""

    def __init__(self, apps, pse=None, ppse=None, blocked=False):
        self.apps = apps
        self.pse = pse
        self.ppse = ppse
        self.blocked = blocked
        self.next_of = {}

    def __call__(self, c):
        if c[:2] == H("00A4"):
            name = c[5 : 5 + c[4]]
            if self.blocked:
                return H("6A81")
            if name == selection.PSE:
                if self.pse is None:
                    return H("6A82")
                return tlv.encode(0x6F, [(0x84, name), (0xA5, [(0x88, b"\x01")])]) + OK
            if name == selection.PPSE:
                if self.ppse is None:
                    return H("6A82")
                return tlv.encode(0x6F, [(0x84, name), (0xA5, [(0xBF0C, self.ppse)])]) + OK
            matches = [aid for aid in self.apps if aid[: len(name)] == name]
            n = self.next_of.get(name, -1) + 1 if c[3] == 2 else 0
            self.next_of[name] = n
            return self.apps[matches[n]] if n < len(matches) else H("6A82")
        if c[:2] == H("00B2"):
            number = c[2]
            if self.pse is None or number > len(self.pse):
                return H("6A83")
            return tlv.encode(0x70, self.pse[number - 1]) + OK
        return H("6D00")


def test_contact_with_a_directory_takes_the_highest_priority_it_may():
    apps = {VISA: fci(VISA, b"VISA"), MC: fci(MC, b"MASTERCARD", pdol=H("9F1A02"))}
    pse = [
        [entry(VISA, b"VISA", prio=0x82)],
        [entry(MC, b"MASTERCARD", prio=0x02), entry(H("A0000000651010"), b"JCB", 1)],
    ]
    chosen, sent = feed(selection.contact(AIDS), Card(apps, pse))
    assert chosen.aid == MC and chosen.label == "MASTERCARD" and chosen.pdol == H("9F1A02")
    assert chosen.terminal_aid.scheme == "mastercard" and chosen.kernel == 2
    # the Visa entry has priority 2 too, but needs the cardholder's confirmation: left out
    assert sent[:1] == [apdu.select(selection.PSE)] and sent[1:4] == [
        apdu.read_record(1, n) for n in (1, 2, 3)
    ]
    assert sent[-1] == apdu.select(MC)


def test_the_cardholder_chooses_among_several_applications_or_confirms_the_one():
    girocard, maestro = H("A0000003591010028001"), MAESTRO
    aids = AIDS + [TerminalAid(girocard, "girocard", partial=False)]
    apps = {girocard: fci(girocard, b"girocard"), maestro: fci(maestro, b"Maestro")}
    pse = [[entry(girocard, b"girocard", 1), entry(maestro, b"Maestro", 2)]]  # co-badged
    offered = []

    def pick(n):
        def choose(labels):
            offered.append(labels)
            return n

        return choose

    chosen, sent = feed(selection.contact(aids), Card(apps, pse), pick(1))
    assert offered == [["girocard", "Maestro"]] and chosen.aid == maestro  # in priority order
    assert sent[-1] == apdu.select(maestro)
    chosen, _ = feed(selection.contact(aids), Card(apps, pse))  # nobody to ask: by priority
    assert chosen.aid == girocard
    e = raises(
        selection.SelectionFailed, feed, selection.contact(aids), Card(apps, pse), pick(selection.CANCELLED)
    )
    assert e.outcome == "cancelled"
    # one application that needs confirmation: asked; confirmed it runs, unasked it does not
    lone = [[entry(maestro, b"Maestro", 0x81)]]
    chosen, _ = feed(selection.contact(aids), Card(apps, lone), pick(0))
    assert chosen.aid == maestro and offered[-1] == ["Maestro"]
    e = raises(selection.SelectionFailed, feed, selection.contact(aids), Card(apps, lone))
    assert e.outcome == "no common application"
    # contactless asks nobody
    asked = len(offered)
    chosen, _ = feed(selection.contactless(aids), Card(apps, ppse=pse[0]), pick(1))
    assert chosen.aid == girocard and len(offered) == asked


def test_contact_without_a_directory_asks_for_each_terminal_aid():
    visa_debit = VISA + b"\x01"  # a longer AID that Visa's partial entry matches
    apps = {
        MC: H("6283"),  # blocked application: not a candidate
        VISA: fci(VISA, b"VISA CREDIT", prio=2),
        visa_debit: fci(visa_debit, b"VISA DEBIT", prio=1),
        MAESTRO + b"\x01": fci(MAESTRO + b"\x01", b"MAESTRO"),  # Maestro allows no partial match
    }
    card_ = Card(apps)
    chosen, sent = feed(selection.contact(AIDS), card_)
    assert chosen.aid == visa_debit and chosen.label == "VISA DEBIT"
    assert apdu.select(VISA, next_one=True) in sent and apdu.select(MAESTRO + b"\x01") not in sent
    assert "card blocked" in str(
        raises(selection.SelectionFailed, feed, selection.contact(AIDS), Card({}, blocked=True))
    )
    none = raises(
        selection.SelectionFailed,
        feed,
        selection.contact(AIDS),
        Card({H("A0000000651010"): fci(H("A0000000651010"))}),
    )
    assert none.outcome == "no common application"


def test_final_selection_falls_back_when_the_best_answers_wrong():
    class Fickle(Card):
        def __call__(self, c):
            if c == apdu.select(MC):
                self.mc_selects = getattr(self, "mc_selects", 0) + 1
                if self.mc_selects > 1:
                    return fci(VISA)  # at final selection the FCI names another application
            return Card.__call__(self, c)

    apps = {MC: fci(MC, b"MC", prio=1), VISA: fci(VISA, b"VISA", prio=2)}
    chosen, _ = feed(selection.contact(AIDS), Fickle(apps))
    assert chosen.aid == VISA


def test_contactless_uses_the_ppse_and_names_the_kernel():
    girocard = H("A0000003591010028001")
    aids = AIDS + [TerminalAid(girocard, "girocard", partial=False)]
    ppse = [entry(girocard, b"girocard", 1, kernel=0x2A), entry(VISA, b"VISA", 2)]
    apps = {girocard: fci(girocard, b"girocard"), VISA: fci(VISA, b"VISA")}
    chosen, sent = feed(selection.contactless(aids), Card(apps, ppse=ppse))
    assert chosen.aid == girocard and chosen.kernel == 0x2A and sent[0] == apdu.select(selection.PPSE)
    chosen, _ = feed(selection.contactless(aids), Card(apps, ppse=[entry(VISA, b"VISA")]))
    assert chosen.kernel == 3  # no 9F2A, none configured: by the RID
    e = raises(selection.SelectionFailed, feed, selection.contactless(aids), Card(apps))
    assert e.outcome == "try another interface"
    e = raises(
        selection.SelectionFailed,
        feed,
        selection.contactless(aids),
        Card(apps, ppse=[entry(H("A0000000651010"), b"JCB")]),
    )
    assert e.outcome == "try another interface"


def _reading_card(record, gpo=None):
    def answer(c):
        if c[:2] == H("00A4"):
            name = c[5 : 5 + c[4]]
            if name == selection.PPSE:
                return (
                    tlv.encode(0x6F, [(0x84, name), (0xA5, [(0xBF0C, [entry(MC, b"MASTERCARD", 1)])])]) + OK
                )
            return fci(MC, b"MASTERCARD", pdol=H("9F1A029F3704")) if name == MC else H("6A82")
        if c[:4] == H("80A80000"):
            assert c[5:] == H("8306") + H("0276") + H("01020304") + b"\x00"  # the PDOL's values
            return gpo or tlv.encode(0x77, [(0x82, H("1980")), (0x94, H("08010200"))]) + OK
        if c[:2] == H("00B2"):
            return tlv.encode(0x70, record[c[2] - 1]) + OK if c[2] <= len(record) else H("6A83")
        return H("6D00")

    return answer


def _read(records, gpo=None):
    """The kernel up to where this card, which has no CDOL1, makes it end: reading."""
    term = terminal_from(validate({"aids": [{"aid": "A0000000041010", "scheme": "mastercard"}]}, SCHEMA))
    txn = kernel.Purchase(1250, H("261201"), H("01020304"), lambda: 99)
    return feed(kernel.transaction(term, txn, True, {}), _reading_card(records, gpo))


def test_the_kernel_reads_every_record_of_the_afl_and_masks_the_pan():
    records = [[(0x5F24, H("291231"))], [(0x5A, H("5413330089010434"))]]
    out, sent = _read(records)
    assert out.result == kernel.END_APPLICATION and "CDOL1" in out.reason
    assert out.card == {
        "aid": "A0000000041010",
        "label": "MASTERCARD",
        "scheme": "mastercard",
        "pan": "************0434",
        "expiry": "2912",
    }
    assert sent[-2:] == [apdu.read_record(1, 1), apdu.read_record(1, 2)]
    track2 = [
        [(0x57, H("5413330089010434D29122010000000000000F")), (0x5F24, H("291231"))],
        [(0x9F08, H("0002"))],
    ]
    assert _read(track2)[0].card["pan"] == "************0434"
    for gpo, why in (
        (tlv.encode(0x77, [(0x82, H("1980")), (0x94, H("000102"))]) + OK, "4-byte entries"),
        (tlv.encode(0x77, [(0x82, H("1980")), (0x94, H("08020100"))]) + OK, "AFL entry 08020100"),
        (tlv.encode(0x77, [(0x94, H("08010100"))]) + OK, "lacks the AIP"),
        (tlv.encode(0x71, H("1980")) + OK, "neither format 1"),
        (H("6985"), "refused GET PROCESSING OPTIONS: 6985"),
    ):
        assert why in str(raises(ProtocolError, _read, records, gpo)), why
    nopan = [[(0x5F24, H("291231"))], [(0x9F08, H("0002"))]]
    out, _ = _read(nopan)
    assert out.result == kernel.END_APPLICATION and "PAN" in out.reason and out.card["pan"] == ""


def test_the_terminal_configuration_is_checked():
    terminal = load_terminal(ROOT + "/data/emv/terminal.json")
    assert [a.scheme for a in terminal.aids][:2] == ["girocard", "mastercard"]
    assert terminal.aids[0].aid == H("A0000003591010028001") and not terminal.aids[0].partial
    for bad, where in (
        ({"aids": []}, "aids"),
        ({"aids": [{"aid": "A000", "scheme": "visa"}]}, "aids[0].aid"),
        ({"aids": [{"aid": "A0000000031010", "scheme": "diners"}]}, "aids[0].scheme"),
        ({"aids": [{"aid": "A00000000310XY", "scheme": "visa"}]}, "aids[0].aid"),
    ):
        e = raises(ConfigError, lambda cfg=bad: terminal_from(validate(cfg, SCHEMA)))
        assert e.path == where, (bad, e.path)


def test_the_ca_key_store_takes_test_keys_only():
    key = {"rid": "A000000004", "index": "F1", "modulus": "C1" * 128, "exponent": "03", "test": True}
    keys = ca_keys([key])
    assert keys[(H("A000000004"), 0xF1)].e == 3
    live = dict(key)
    del live["test"]
    assert "live CA keys are refused" in str(raises(ConfigError, ca_keys, [live]))
    assert ca_keys([live], live=True)
    for bad, why in (
        (dict(key, rid="A0000000"), "RID of 5 bytes"),
        (dict(key, modulus="ZZ"), "in hex"),
        (dict(key, modulus="C1" * 8), "modulus of 64..248"),
    ):
        e = raises(ConfigError, ca_keys, [bad])
        assert why in str(e) and e.path == "ca keys[0]", (why, str(e))
    raises(ConfigError, ca_keys, {"rid": "x"})
    raises(ConfigError, load_ca_keys, ROOT + "/data/emv/missing.json")
