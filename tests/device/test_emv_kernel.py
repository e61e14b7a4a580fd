"""A whole EMV transaction through the kernel, sans-I/O: a scripted M/Chip-style card with
the test PKI's certificates (DDA), offline approval, online approval with issuer
authentication, an unreachable host, the card declining, a missing CA key, and contactless
with the CVM limit, the phone's own verification and the contactless limit. Both runtimes."""

import hashlib

import oda_vectors as v
from support import raises

from core.errors import ProtocolError
from core.schema import validate
from payment.emv import cvm, kernel, oda, tlv
from payment.emv import tvr as bits
from payment.emv.apdu import Transmit
from payment.emv.config import SCHEMA, terminal_from
from payment.emv.cvm import Verify
from payment.emv.kernel import Purchase
from payment.emv.online import GoOnline, HostAnswer
from payment.emv.restrictions import PURCHASE, REFUND

H = bytes.fromhex
OK = b"\x90\x00"
MC = H("A0000000041010")
TODAY = H("261201")
UN = H("01020304")  # the unpredictable number the fixture's DDA signature covers
CA_KEYS = {(H("A000000004"), 0xF1): oda.PublicKey(v.CA_MODULUS, v.CA_EXPONENT)}
CDOL1 = H("9F02069F03069F1A0295055F2A029A039C019F3704")
CDOL2 = H("8A029F3704")
STATIC_RECORD = v.STATIC[:-2]  # the fixture's static data is this record's value and the AIP
CDA_AC = H("C1C2C3C4C5C6C7C8")  # the cryptogram a CDA card signs


def terminal(floor=100000, online=True, **aid):
    entry = {"aid": "A0000000041010", "scheme": "mastercard", "floor_limit": floor}
    entry.update(aid)
    return terminal_from(validate({"aids": [entry], "online": online}, SCHEMA))


class EmvCard:
    """Answers like a chip with an M/Chip-style application; ``decide(asked, n)`` is what its
    ``n``-th GENERATE AC (from 0) returns for the cryptogram type asked for."""

    def __init__(self, aip=b"\x38\x80", decide=None, ctq=None, issuer_auth_ok=True, gpo_cid=None, cda=None):
        self.cda = cda  # "good", or "bad-hash": a CDA card (AIP 3980) and how it signs
        self.aip = b"\x39\x80" if cda else aip
        self.sent = []  # the PDOL values of its GPO, the CDOL values of each GENERATE AC
        self.gpo_cid = gpo_cid  # a Visa qVSDC-style card: the cryptogram comes with the GPO
        self.decide = decide or (lambda asked, n: asked)
        self.ctq = ctq
        self.issuer_auth_ok = issuer_auth_ok
        self.asked = []  # (P1 of each GENERATE AC)
        self.scripted = []  # the issuer script commands it got

    def _cda_answer(self, kind, cdol_values):
        """Format 2 with the CDA signature (Book 2 §6.6.1), signed with the TEST card's key:
        over the PDOL values, every CDOL's values so far and the answer's other objects."""
        others = tlv.encode(0x9F27, bytes((kind,))) + tlv.encode(0x9F36, H("0001"))
        others += tlv.encode(0x9F10, H("0601"))
        covered = b"".join(self.sent) + others
        if self.cda == "bad-hash":
            covered += b"\x00"
        digest = hashlib.sha1(covered).digest()
        dynamic = b"\x02\xab\xcd" + bytes((kind,)) + CDA_AC + digest
        fields = b"\x05\x01" + bytes((len(dynamic),)) + dynamic
        fields += b"\xbb" * (len(v.ICC_MODULUS) - len(fields) - 22)
        block = b"\x6a" + fields + hashlib.sha1(fields + UN).digest() + b"\xbc"
        n, d = int.from_bytes(v.ICC_MODULUS, "big"), int.from_bytes(v.ICC_D, "big")
        sdad = pow(int.from_bytes(block, "big"), d, n).to_bytes(len(v.ICC_MODULUS), "big")
        return tlv.encode(
            0x77, [(0x9F27, bytes((kind,))), (0x9F36, H("0001")), (0x9F4B, sdad), (0x9F10, H("0601"))]
        )

    def records(self):
        keys = [(0x8F, b"\xf1"), (0x90, v.CERT_90), (0x92, v.REMAINDER_92), (0x9F32, v.EXPONENT_9F32)]
        if self.cda:
            keys += [(0x9F46, v.CERT_9F46_CDA), (0x9F48, v.REMAINDER_9F48_CDA), (0x9F47, v.EXPONENT_9F47)]
        else:
            keys += [(0x9F46, v.CERT_9F46), (0x9F48, v.REMAINDER_9F48), (0x9F47, v.EXPONENT_9F47)]
        rest = [(0x8C, CDOL1), (0x8D, CDOL2), (0x9F4A, b"\x82"), (0x9F0D, bytes(5)), (0x9F0E, bytes(5))]
        rest.append((0x9F0F, H("0000008000")))  # IAC-Online: floor limit exceeded goes online
        if self.ctq:
            rest.append((0x9F6C, self.ctq))
        return [tlv.encode(0x70, STATIC_RECORD), tlv.encode(0x70, keys + rest)]

    def __call__(self, c):
        ins = c[1]
        if ins == 0xA4:
            name = c[5 : 5 + c[4]]
            if name == b"2PAY.SYS.DDF01":
                entry = (0x61, [(0x4F, MC), (0x50, b"MASTERCARD"), (0x87, b"\x01")])
                return tlv.encode(0x6F, [(0x84, name), (0xA5, [(0xBF0C, [entry])])]) + OK
            if name == MC:
                return (
                    tlv.encode(0x6F, [(0x84, MC), (0xA5, [(0x50, b"MASTERCARD"), (0x9F38, H("9F6604"))])])
                    + OK
                )
            return H("6A82")
        if ins == 0xA8:
            self.sent.append(bytes(c[7 : 5 + c[4]]))  # 83 L values
            fields = [(0x82, self.aip), (0x94, H("0801010110010100"))]
            if self.gpo_cid is not None:
                fields += [
                    (0x9F27, bytes((self.gpo_cid,))),
                    (0x9F36, H("0007")),
                    (0x9F26, H("A1A2A3A4A5A6A7A8")),
                ]
            return tlv.encode(0x77, fields) + OK
        if ins == 0xB2:
            sfi, number = c[3] >> 3, c[2]
            recs = self.records()
            if number != 1 or sfi not in (1, 2):
                return H("6A83")
            return recs[sfi - 1] + OK
        if ins == 0x88:
            return tlv.encode(0x80, v.SDAD_9F4B) + OK
        if ins == 0xAE:
            kind = self.decide(c[2] & 0xC0, len(self.asked))
            self.asked.append(c[2])
            self.sent.append(bytes(c[5 : 5 + c[4]]))
            if c[2] & 0x10 and kind != 0x00:  # CDA asked for, and not an AAC
                return self._cda_answer(kind, c[5 : 5 + c[4]]) + OK
            return tlv.encode(0x80, bytes((kind,)) + H("0001") + H("1122334455667788")) + OK
        if ins == 0x82:
            return OK if self.issuer_auth_ok else H("6300")
        if (
            c[0] == 0x84 and ins != 0xAE
        ):  # an issuer script's command (secure messaging): its MAC checks or not
            self.scripted.append(bytes(c))
            return OK if c[-8:] == GOOD_MAC else H("6988")
        return H("6D00")


def run(step, card, pins=(), host=()):
    pins, host = list(pins), list(host)
    asked = []
    try:
        action = step.send(None)
        while True:
            if isinstance(action, Transmit):
                answer = card(action.apdu)
            elif isinstance(action, Verify):
                asked.append(action.method)
                answer = pins.pop(0)
            else:
                assert isinstance(action, GoOnline)
                icc = tlv.decode(action.icc)
                icc["refund"] = action.refund
                asked.append(icc)
                answer = host.pop(0)
            action = step.send(answer)
    except StopIteration as e:
        return e.value, asked


def pay(amount, card, term=None, contactless=False, ca_keys=CA_KEYS, kind=PURCHASE, **kw):
    txn = Purchase(amount, TODAY, UN, lambda: 99, kind=kind)
    return run(kernel.transaction(term or terminal(), txn, contactless, ca_keys), card, **kw)


def test_offline_approval_with_dda():
    card = EmvCard()
    out, asked = pay(1250, card)
    assert out.result == kernel.APPROVED and out.arc == b"Y1" and not out.online
    assert out.cryptogram.name == "TC" and card.asked == [0x40]
    assert out.tvr == bytes(5) and out.tsi == H("E800")  # ODA, CVM, card risk, terminal risk
    assert out.cvm.value == H("1F0002") and asked == []
    rec = out.record()
    assert rec["pan"] == "************0434" and rec["cryptogram_type"] == "TC" and rec["tvr"] == "0000000000"
    assert "5413330089010434" not in repr(rec)


def test_online_approval_with_issuer_authentication():
    card = EmvCard()
    ok = HostAnswer(True, b"00", H("0102030405060708") + b"00")
    out, asked = pay(1250, card, terminal(floor=0), host=[ok])
    assert out.result == kernel.APPROVED and out.online and out.arc == b"00"
    assert card.asked == [0x80, 0x40]  # ARQC, then TC
    icc = asked[0]
    assert (
        icc[0x9F26] == H("1122334455667788")
        and icc[0x9F02] == H("000000001250")
        and icc[0x95] == H("0000008000")
    )
    assert not bits.Tsi(out.tsi).has(bits.ISSUER_AUTH_PERFORMED)  # the AIP does not ask for it
    # a card that asks for EXTERNAL AUTHENTICATE (AIP byte 1 bit 3); its AIP is not the one the
    # fixture's static data holds, so DDA fails too
    out, _ = pay(1250, EmvCard(aip=H("3C80")), terminal(floor=0), host=[ok])
    assert bits.Tsi(out.tsi).has(bits.ISSUER_AUTH_PERFORMED) and out.result == kernel.APPROVED
    out, _ = pay(1250, EmvCard(aip=H("3C80"), issuer_auth_ok=False), terminal(floor=0), host=[ok])
    tvr = bits.Tvr(out.tvr)
    assert tvr.has(bits.ISSUER_AUTH_FAILED) and tvr.has(bits.DDA_FAILED)


def test_declines_and_an_unreachable_host():
    out, _ = pay(1250, EmvCard(), terminal(floor=0), host=[HostAnswer(False, b"51")])
    assert out.result == kernel.DECLINED and "issuer (51)" in out.reason
    out, _ = pay(1250, EmvCard(), terminal(floor=0), host=[None])
    assert out.result == kernel.APPROVED and out.arc == b"Y3"  # default codes all zero: approve
    strict = terminal(floor=0, tac={"default": "0000008000"})
    out, _ = pay(1250, EmvCard(), strict, host=[None])
    assert out.result == kernel.DECLINED and out.arc == b"Z3" and "could not be reached" in out.reason
    out, _ = pay(1250, EmvCard(decide=lambda asked, n: 0x00))
    assert out.result == kernel.DECLINED and out.arc == b"Z1"
    out, _ = pay(
        1250, EmvCard(decide=lambda asked, n: 0x80 if n == 0 else asked), host=[HostAnswer(True, b"00")]
    )
    assert out.result == kernel.APPROVED and out.online  # TC asked, the card wants to go online
    e = raises(ProtocolError, pay, 1250, EmvCard(decide=lambda asked, n: 0x40), terminal(floor=0))
    assert "asked for ARQC, the card answered TC" in str(e)  # never a higher one
    second = raises(
        ProtocolError,
        pay,
        1250,
        EmvCard(decide=lambda asked, n: 0x80),
        terminal(floor=0),
        host=[HostAnswer(True, b"00")],
    )
    assert "asked for TC, the card answered ARQC" in str(second)  # no ARQC at the second


def test_oda_failures_are_tvr_bits_not_errors():
    out, _ = pay(1250, EmvCard(), ca_keys={})
    assert out.result == kernel.APPROVED and bits.Tvr(out.tvr).has(bits.DDA_FAILED)
    out, _ = pay(1250, EmvCard(aip=H("1880")))  # no SDA, no DDA, no CDA
    assert bits.Tvr(out.tvr).has(bits.ODA_NOT_PERFORMED) and not bits.Tsi(out.tsi).has(bits.ODA_PERFORMED)
    denial = terminal(tac={"denial": "0800000000"})  # DDA failed declines offline
    out, _ = pay(1250, EmvCard(), denial, ca_keys={})
    assert out.result == kernel.DECLINED


def test_contactless_limits_and_cvm():
    tap = terminal(floor=0, contactless={"transaction_limit": 100000, "cvm_limit": 5000})
    ok = HostAnswer(True, b"00")
    out, asked = pay(2000, EmvCard(), tap, contactless=True, host=[ok])
    assert out.result == kernel.APPROVED and out.cvm.value == H("1F0002") and len(asked) == 1  # only the host
    out, asked = pay(7500, EmvCard(), tap, contactless=True, pins=[cvm.PIN_OK], host=[ok])
    assert asked[0] == cvm.ONLINE_PIN and bits.Tvr(out.tvr).has(bits.ONLINE_PIN_ENTERED)
    wallet = EmvCard(aip=H("3B80"))  # on-device cardholder verification
    out, asked = pay(7500, wallet, tap, contactless=True, host=[ok])
    assert out.cvm.cdcvm and out.record()["cdcvm"] and len(asked) == 1
    out, _ = pay(100000, EmvCard(), tap, contactless=True)
    assert out.result == kernel.TRY_ANOTHER_INTERFACE
    ttq = tlv.decode(tlv.encode(0x9F66, kernel._ttq(tap, tap.aids[0], Purchase(7500, TODAY, UN, None))))
    assert ttq[0x9F66] == H("26C04000")  # online cryptogram and CVM required


def test_a_qvsdc_card_decides_at_gpo():
    tap = terminal(floor=0, contactless={"transaction_limit": 100000, "cvm_limit": 5000})
    card = EmvCard(gpo_cid=0x40)
    out, asked = pay(2000, card, tap, contactless=True)
    assert out.result == kernel.APPROVED and card.asked == []  # no GENERATE AC
    assert out.cryptogram.ac == H("A1A2A3A4A5A6A7A8") and out.cryptogram.atc == 7 and out.arc == b"Y1"
    card = EmvCard(gpo_cid=0x80)
    out, asked = pay(2000, card, tap, contactless=True, host=[HostAnswer(False, b"05")])
    assert out.result == kernel.DECLINED and card.asked == [] and asked[0][0x9F26] == H("A1A2A3A4A5A6A7A8")


def test_a_refund_asks_the_card_for_an_aac_and_the_acquirer_decides():
    card = EmvCard()
    ok = HostAnswer(True, b"00", None, b"", "123456", "000077")
    out, asked = pay(2500, card, host=[ok], pins=[], kind=REFUND)
    assert out.result == kernel.APPROVED and out.online and card.asked == [0x00]  # AAC, once
    icc = asked[0]
    assert icc["refund"] is True and icc[0x9C] == bytes((REFUND,)) and icc[0x9F02] == H("000000002500")
    assert out.cvm.value == H("3F0000")  # no cardholder verification for money back
    rec = out.record()
    assert rec["cryptogram_type"] == "AAC" and rec["trace"] == "000077" and rec["auth_code"] == "123456"
    out, _ = pay(2500, EmvCard(), host=[HostAnswer(False, b"05")], kind=REFUND)
    assert out.result == kernel.DECLINED and "refund declined by the acquirer (05)" in out.reason
    out, _ = pay(2500, EmvCard(), host=[None], kind=REFUND)
    assert out.result == kernel.DECLINED and out.arc == b"Z3"  # no host: nothing is paid back


GOOD_MAC = H("0102030405060708")


def _script(template, ident, *macs):
    fields = [(0x9F18, ident)] if ident else []
    fields += [(0x86, H("8424000008") + mac) for mac in macs]
    return tlv.encode(template, fields)


def test_issuer_scripts_before_and_after_the_second_generate_ac():
    card = EmvCard()
    scripts = _script(0x71, H("11223344"), GOOD_MAC) + _script(0x72, None, GOOD_MAC, GOOD_MAC)
    ok = HostAnswer(True, b"00", None, scripts)
    out, _ = pay(1250, card, terminal(floor=0), host=[ok])
    assert out.result == kernel.APPROVED and len(card.scripted) == 3
    assert out.scripts == H("2011223344") + H("2000000000")  # both successful, in order
    assert bits.Tsi(out.tsi).has(bits.SCRIPT_PERFORMED)
    tvr = bits.Tvr(out.tvr)
    assert not tvr.has(bits.SCRIPT_FAILED_BEFORE) and not tvr.has(bits.SCRIPT_FAILED_AFTER)
    assert out.record()["scripts"] == "20112233442000000000"


def test_a_failing_or_broken_script_is_reported_and_the_next_one_still_runs():
    card = EmvCard()
    bad = H("0000000000000000")
    scripts = _script(0x71, H("0A0B0C0D"), GOOD_MAC, bad, GOOD_MAC) + _script(0x72, None, bad)
    out, _ = pay(1250, card, terminal(floor=0), host=[HostAnswer(True, b"00", None, scripts)])
    assert out.result == kernel.APPROVED and len(card.scripted) == 3  # the third of 71 never sent
    assert out.scripts == H("120A0B0C0D") + H("1100000000")  # failed at command 2, then at 1
    tvr = bits.Tvr(out.tvr)
    assert tvr.has(bits.SCRIPT_FAILED_BEFORE) and tvr.has(bits.SCRIPT_FAILED_AFTER)
    broken = tlv.encode(0x71, [(0x9F18, H("01"))])  # an identifier of one byte: not a script
    out, _ = pay(1250, EmvCard(), terminal(floor=0), host=[HostAnswer(True, b"00", None, broken)])
    assert out.scripts == H("1000000000") and bits.Tvr(out.tvr).has(bits.SCRIPT_FAILED_BEFORE)
    # contactless: the card has left the field, no script is sent
    tap = terminal(floor=0, contactless={"transaction_limit": 100000, "cvm_limit": 5000})
    card = EmvCard()
    out, _ = pay(2000, card, tap, contactless=True, host=[HostAnswer(True, b"00", None, scripts)])
    assert card.scripted == [] and out.scripts == b""


def test_cda_signed_cryptograms_are_checked_at_both_generate_acs():
    card = EmvCard(cda="good")
    ok = HostAnswer(True, b"00")
    out, asked = pay(1250, card, terminal(floor=0), host=[ok])
    assert out.result == kernel.APPROVED and [p & 0xD0 for p in card.asked] == [0x90, 0x50]  # CDA both
    assert out.cryptogram.ac == CDA_AC and asked[0][0x9F26] == CDA_AC  # the signed AC went online
    tvr = bits.Tvr(out.tvr)
    assert not tvr.has(bits.CDA_FAILED) and not tvr.has(bits.DDA_FAILED)
    assert bits.Tsi(out.tsi).has(bits.ODA_PERFORMED)


def test_a_cda_signature_over_other_data_declines():
    out, asked = pay(1250, EmvCard(cda="bad-hash"), terminal(floor=0), host=[HostAnswer(True, b"00")])
    assert out.result == kernel.DECLINED and out.reason == "CDA failed" and asked == []  # never online
    assert bits.Tvr(out.tvr).has(bits.CDA_FAILED)
    # a CDA card whose answer is an AAC needs no signature: declined by the card, CDA not failed
    out, _ = pay(1250, EmvCard(cda="good", decide=lambda asked, n: 0x00), terminal(floor=0))
    assert out.result == kernel.DECLINED and not bits.Tvr(out.tvr).has(bits.CDA_FAILED)
