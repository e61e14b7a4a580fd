"""A virtual EMV payment card with real keys (host code): what the simulator puts in the reader
once a card should pay, not only be read. Profiles are data (``data/cards/*.json``); the card
plays them over the vpcd wire through ``tools.sim.card.CardLink``.

    ca = SimCa.make()                               # the simulator's test CA (fresh keys)
    card = EmvCard.load("data/cards/mastercard-debit.json", ca)
    link = CardLink(card, port).insert()
    ca.store()                                       # the terminal's CA key store (test keys only)

The application answers SELECT (the PSE directory on a contact card, its record in SFI 3 —
unless the profile says ``"pse": false``; a ``co_badge`` application is its second entry —
and the PPSE on a contactless one; the AID), GET PROCESSING OPTIONS, READ RECORD, INTERNAL
AUTHENTICATE (DDA), GET CHALLENGE, VERIFY (plaintext PIN, or enciphered with its ICC key
after a GET CHALLENGE; with its try counter), GET DATA (ATC, last online ATC, PIN try
counter), GENERATE AC (with the CDA signature when asked and its AIP offers CDA: format 2
with 9F4B), EXTERNAL AUTHENTICATE and an issuer script's PIN UNBLOCK (its MAC checked with
pyemv's secure-messaging key from the
last ARQC). Its cryptograms are computed by pyemv (``cvn``: Mastercard CVN 16 or Visa CVN
10, keys derived from the profile's issuer master key), so whoever checks one later — the
acquirer simulator, a test — recomputes it from the profile, apart from the terminal. Its
certificates come from ``tools.sim.emv_pki`` under the given CA. Card risk management: a TC
asked for is given while the amount is at most the profile's ``offline_limit``, else an ARQC;
an ARQC is given as asked; after a wrong PIN three times (or the profile's count) the PIN is
blocked (``6983``). Its issuer application data (``9F10``) is ``06 01 0A`` and the 4-byte
card verification results the cryptogram covers (the simulator's own layout for both CVNs).
"""

import json
import os
import warnings

from tools import upy
from tools.sim import emv_pki
from tools.sim.card import contactless_atr, tlv

PSE, PSE_SFI = b"1PAY.SYS.DDF01", 3  # a contact card's payment system directory, in SFI 3

with warnings.catch_warnings():  # pyemv 1.5 on cryptography 50: TripleDES moved (correct results)
    warnings.simplefilter("ignore")
    from pyemv import cvn

CVNS = {"mastercard16": cvn.MasterCardCVN16, "visa10": cvn.VisaCVN10}
RID_INDEX = 0xF1  # the test CA's index under every RID
CARDS = upy.ROOT / "data" / "cards"
CDOL1 = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F3704")
CDOL2 = bytes.fromhex("8A02") + CDOL1
OK = b"\x90\x00"


class SimCa:
    """The simulator's CA: one RSA key, published under each scheme's RID with index F1."""

    def __init__(self, key):
        self.key = key

    @classmethod
    def make(cls, bits=1408):
        return cls(emv_pki.Key.generate(bits))

    def store(self, rids=("A000000004", "A000000003", "A000000359", "A000000025")):
        """The terminal's CA key store (``payment.emv.capk``): every key marked test."""
        key = {"modulus": self.key.modulus.hex().upper(), "exponent": self.key.exponent.hex().upper()}
        return [dict(key, rid=rid, index="%02X" % RID_INDEX, test=True) for rid in rids]


def quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


# The terminal data a cryptogram covers, in pyemv's order (then AIP, ATC, CVR).
AC_TAGS = (0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37)


def cryptogram(generator, values, aip, atc, cvr):
    """pyemv's application cryptogram (``generator``: a CVNS class made with the keys) over
    ``values`` (by tag: ``AC_TAGS``), the AIP, the ATC and the card verification results: what
    the card computes and the acquirer checks."""
    return quiet(generator.generate_ac, *[values[t] for t in AC_TAGS], aip, atc, cvr)


class EmvCard:
    def __init__(self, profile, ca):
        p = self.profile = profile
        self.aid = bytes.fromhex(p["aid"])
        self.label = p["label"].encode()
        # its applications, priority 1, 2...: a co-badged card's second brand shares the rest
        self.apps = [(self.aid, self.label)]
        if "co_badge" in p:
            self.apps.append((bytes.fromhex(p["co_badge"]["aid"]), p["co_badge"]["label"].encode()))
        self.pan = p["pan"]
        self.contactless = p.get("contactless", False)
        self.atr = contactless_atr(b"smartECR") if self.contactless else b"\x3b\x0a" + b"smartECR-1"
        self.aip = bytes.fromhex(p["aip"])
        self.pin = p.get("pin", "1234")
        self.pin_tries = p.get("pin_tries_left", p.get("pin_tries", 3))
        self.arqc = None  # the last ARQC: the issuer scripts' MAC key is derived from it
        self._signed = []  # what a CDA signature's transaction data hash covers so far
        self.atc = p.get("atc", 0)
        self.last_online_atc = p.get("last_online_atc", 1)
        self.offline_limit = p.get("offline_limit", 0)
        self.selected = None
        self.apdus = 0
        self.challenge = None
        self.log = []  # the GENERATE ACs this card answered: {"p1", "cid", "atc", "ac", fields}
        mk = bytes.fromhex(p["mk_ac"])
        self.cvn = quiet(CVNS[p["cvn"]], mk, mk, mk, self.pan, p.get("psn", "00"))
        self._records = self._make_records(ca)

    @classmethod
    def test_card(cls, ca, contactless=False):
        """The simulator's everyday card: the Mastercard debit test profile."""
        return cls.load(str(CARDS / "mastercard-debit.json"), ca, contactless=contactless)

    @classmethod
    def load(cls, path, ca, **changes):
        with open(path) as f:
            profile = json.load(f)
        profile.update(changes)
        return cls(profile, ca)

    # --- the card's data -----------------------------------------------------------------------

    def _make_records(self, ca):
        p = self.profile
        pan_field = bytes.fromhex(self.pan + "F" * (len(self.pan) % 2))
        record1 = (
            tlv(0x5A, pan_field)
            + tlv(0x5F24, bytes.fromhex(p["expiry"]))
            + tlv(0x5F25, bytes.fromhex(p.get("effective", "250101")))
            + tlv(0x5F34, bytes.fromhex(p.get("psn", "00")))
            + tlv(0x8E, bytes.fromhex(p["cvm_list"]))
            + tlv(0x9F07, bytes.fromhex(p.get("auc", "FF00")))
            + tlv(0x5F28, bytes.fromhex(p.get("country", "0276")))
            + tlv(0x9F42, bytes.fromhex(p.get("currency", "0978")))
        )
        static = record1 + self.aip  # the records marked for ODA (SFI 1, record 1) and the AIP
        issuer, icc = emv_pki.Key.generate(1152), emv_pki.Key.generate(1024)
        cert90, rem92 = emv_pki.issuer_certificate(ca.key, issuer, self.pan[:6], "1230", b"\x00\x00\x01")
        signed = static if p.get("oda") != "broken" else static + b"\x00"  # a wrong ICC certificate
        cert9f46, rem9f48 = emv_pki.icc_certificate(issuer, icc, self.pan, "1229", b"\x00\x00\x02", signed)
        self.icc_key = icc
        iac = p.get("iac", {})
        record2 = (
            tlv(0x8C, CDOL1)
            + tlv(0x8D, CDOL2)
            + tlv(0x8F, bytes((RID_INDEX,)))
            + tlv(0x90, cert90)
            + (tlv(0x92, rem92) if rem92 else b"")
            + tlv(0x9F32, issuer.exponent)
            + tlv(0x9F46, cert9f46)
            + (tlv(0x9F48, rem9f48) if rem9f48 else b"")
            + tlv(0x9F47, icc.exponent)
            + tlv(0x9F49, bytes.fromhex("9F3704"))
            + tlv(0x9F4A, b"\x82")
            + tlv(0x9F08, bytes.fromhex(p.get("app_version", "0002")))
            + tlv(0x9F0D, bytes.fromhex(iac.get("default", "0000000000")))
            + tlv(0x9F0E, bytes.fromhex(iac.get("denial", "0000000000")))
            + tlv(0x9F0F, bytes.fromhex(iac.get("online", "0000000000")))
        )
        return [tlv(0x70, record1), tlv(0x70, record2)]

    def _directory(self):
        """The PSE's record: an entry (61) per application, priority 1, 2..."""
        entries = b""
        for i, (aid, label) in enumerate(self.apps):
            entries += tlv(0x61, tlv(0x4F, aid) + tlv(0x50, label) + tlv(0x87, bytes((i + 1,))))
        return tlv(0x70, entries)

    def _fci(self):
        a5 = tlv(0x50, self.label) + tlv(0x87, b"\x01")
        if self.contactless:
            a5 += tlv(0x9F38, bytes.fromhex("9F6604"))
        return tlv(0x6F, tlv(0x84, self.aid) + tlv(0xA5, a5))

    # --- commands --------------------------------------------------------------------------------

    def answer(self, apdu):
        self.apdus += 1
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = apdu[:4]
        data = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        if cla & 0xF0 not in (0x00, 0x80):
            return b"\x6e\x00"
        if ins == 0xA4 and p1 == 0x04:
            return self._select(data, p2)
        if ins == 0xB2 and self.selected == PSE and p2 >> 3 == PSE_SFI:  # the payment directory
            if p1 != 1:
                return b"\x6a\x83"
            return self._directory() + OK
        if self.selected != self.aid and ins != 0x84:
            return b"\x69\x85"
        if ins == 0xA8:
            self._signed = [bytes(data[2:])]  # the PDOL values (83 L ...): CDA's hash starts with them
            afl = bytes.fromhex("0801010110010100")
            ctq = tlv(0x9F6C, b"\x00\x80") if self.profile.get("cdcvm") else b""
            return tlv(0x77, tlv(0x82, self.aip) + tlv(0x94, afl) + ctq) + OK
        if ins == 0xB2:
            sfi, number = p2 >> 3, p1
            if number != 1 or sfi not in (1, 2):
                return b"\x6a\x83"
            return self._records[sfi - 1] + OK
        if ins == 0x88:
            return self._internal_authenticate(data)
        if ins == 0x84:
            self.challenge = os.urandom(8)
            return self.challenge + OK
        if ins == 0x20 and p2 == 0x80:
            return self._verify(data)
        if ins == 0x20 and p2 == 0x88:  # enciphered with our public key (Book 2 §7)
            key = self.icc_key
            plain = pow(int.from_bytes(data, "big"), key.d, key.n).to_bytes(key.size, "big")
            challenge, self.challenge = self.challenge, None
            if plain[0] != 0x7F or challenge is None or plain[9:17] != challenge:
                return b"\x69\x84"  # not ours, or not for this challenge
            return self._verify(plain[1:9])
        if ins == 0xCA:
            return self._get_data((p1 << 8) | p2)
        if ins == 0xAE:
            return self._generate_ac(p1, data)
        if ins == 0x82:
            return self._external_authenticate(data)
        if cla == 0x84 and ins == 0x24 and p1 == 0 and p2 == 0:
            return self._pin_unblock(apdu)
        return b"\x6d\x00"

    def _pin_unblock(self, apdu):
        """PIN CHANGE/UNBLOCK (unblock) from an issuer script, its MAC checked with pyemv."""
        if self.arqc is None or len(apdu) != 13:
            return b"\x69\x85"
        mac = quiet(self.cvn.generate_command_mac, apdu[:5], self.arqc, self.atc.to_bytes(2, "big"))
        if apdu[5:13] != mac:
            return b"\x69\x88"  # incorrect secure messaging data
        self.pin_tries = self.profile.get("pin_tries", 3)
        return OK

    def _select(self, name, p2):
        if name == b"2PAY.SYS.DDF01" and self.contactless:
            entry = tlv(0x61, tlv(0x4F, self.aid) + tlv(0x50, self.label) + tlv(0x87, b"\x01"))
            self.selected = name
            return tlv(0x6F, tlv(0x84, name) + tlv(0xA5, tlv(0xBF0C, entry))) + OK
        if name == PSE and not self.contactless and self.profile.get("pse", True):
            self.selected = name
            return tlv(0x6F, tlv(0x84, name) + tlv(0xA5, tlv(0x88, bytes((PSE_SFI,))))) + OK
        for aid, label in self.apps:
            if name == aid[: len(name)] and p2 == 0 and len(name) >= 5:
                self.aid, self.label = aid, label  # this application runs from now on
                self.selected = aid
                return self._fci() + OK
        return b"\x6a\x82"

    def _external_authenticate(self, data):
        """The issuer's ARPC (method 1: 8 bytes and the response code) for the last cryptogram."""
        if len(data) != 10 or not self.log:
            return b"\x67\x00"
        expected = quiet(self.cvn.generate_arpc, self.log[-1]["ac"], data[8:])
        return OK if data[:8] == expected else b"\x63\x00"

    def _internal_authenticate(self, ddol_data):
        sdad = emv_pki.signed_dynamic_data(self.icc_key, (self.atc + 0x1000).to_bytes(4, "big"), ddol_data)
        return tlv(0x80, sdad) + OK

    def _verify(self, block):
        if self.pin_tries == 0:
            return b"\x69\x83"
        digits = block.hex().upper()[2 : 2 + (block[0] & 0x0F)]
        if block[0] >> 4 == 2 and digits == self.pin:
            self.pin_tries = self.profile.get("pin_tries", 3)
            return OK
        self.pin_tries -= 1
        return bytes((0x63, 0xC0 | self.pin_tries))

    def _get_data(self, tag):
        values = {0x9F36: self.atc, 0x9F13: self.last_online_atc, 0x9F17: self.pin_tries}
        if tag not in values:
            return b"\x6a\x88"
        n = 1 if tag == 0x9F17 else 2
        return tlv(tag, values[tag].to_bytes(n, "big")) + OK

    def _generate_ac(self, p1, data):
        asked = p1 & 0xC0
        second = data[:2] if len(data) == 2 + CDOL1_LENGTH else None
        values = _split(data[2:] if second is not None else data)
        if asked == 0xC0:
            return b"\x6a\x86"
        amount = int(values[0x9F02].hex())
        kind = asked
        if second is None:
            self.atc += 1
            if asked == 0x40 and amount > self.offline_limit:
                kind = 0x80  # above its offline limit the card wants the issuer
        cvr = bytes((0x03, kind | 0x20, 0x00, 0x00))
        ac = cryptogram(self.cvn, values, self.aip, self.atc.to_bytes(2, "big"), cvr)
        iad = b"\x06\x01\x0a" + cvr
        self.log.append({"p1": p1, "cid": kind, "atc": self.atc, "ac": ac, "cvr": cvr, "values": values})
        if kind == 0x80:
            self.arqc = ac
        self._signed.append(bytes(data))
        atc = self.atc.to_bytes(2, "big")
        if p1 & 0x10 and kind != 0x00 and self.aip[0] & 0x01:  # CDA asked for: format 2, signed
            others = tlv(0x9F27, bytes((kind,))) + tlv(0x9F36, atc)
            number = (self.atc + 0x2000).to_bytes(4, "big")
            covered = b"".join(self._signed) + others + tlv(0x9F10, iad)
            sdad = emv_pki.cda_signature(self.icc_key, number, kind, ac, covered, values[0x9F37])
            return tlv(0x77, others + tlv(0x9F4B, sdad) + tlv(0x9F10, iad)) + OK
        return tlv(0x80, bytes((kind,)) + atc + ac + iad) + OK


def _cdol_values(cdol):
    out, i = [], 0
    while i < len(cdol):
        tag_len = 2 if cdol[i] & 0x1F == 0x1F else 1
        out.append((int.from_bytes(cdol[i : i + tag_len], "big"), cdol[i + tag_len]))
        i += tag_len + 1
    return out


CDOL1_LENGTH = sum(n for _, n in _cdol_values(CDOL1))


def _split(data):
    """CDOL1's values by tag (the card knows its own CDOL)."""
    out, i = {}, 0
    for tag, n in _cdol_values(CDOL1):
        out[tag] = data[i : i + n]
        i += n
    return out
