"""The kernel's hand-written parts (device code) against independent peers: ISO 8583 against
pyiso8583's ``specs.default`` (seeded random messages, byte for byte both ways); BER-TLV against
pyemv's codec (seeded random trees of one-, two- and three-byte tags, short and long lengths,
templates in templates, encoded by one and decoded by the other, both ways); offline data
authentication against certificates made by the simulator's test PKI from fresh
``cryptography`` keys of several sizes, and each one tampered with."""

import random
import warnings

import iso8583 as peer8583
import psec.pinblock
import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from iso8583.specs import default as peer_spec
from pyemv import tlv as peer

from core import des
from hal import pinpad
from payment import iso8583
from payment.emv import oda, tlv
from tools.sim import emv_pki
from tools.sim.emv_card import CVNS, cryptogram, quiet

PAN = "5413330089010434"

SEEDS = range(40)


def _tag(rng, constructed):
    """A tag; never one whose first byte is FF (ISO 7816-4: FF and 00 are padding there)."""
    klass = rng.choice((0x00, 0x40, 0x80, 0xC0)) | (0x20 if constructed else 0)
    kind = rng.randrange(3) if klass != 0xE0 else 0
    if kind == 0:
        return klass | rng.randrange(1, 0x1F)
    if kind == 1:
        return ((klass | 0x1F) << 8) | rng.randrange(0x1F, 0x80)
    return ((klass | 0x1F) << 16) | (rng.randrange(0x81, 0x100) << 8) | rng.randrange(0x00, 0x80)


def _tree(rng, depth=0):
    out = {}
    for _ in range(rng.randrange(1, 5)):
        constructed = depth < 3 and rng.random() < 0.3
        tag = _tag(rng, constructed)
        if tag in out:
            continue
        if constructed:
            out[tag] = _tree(rng, depth + 1)
        else:
            n = rng.choice((0, 1, 2, 8, 127, 128, 255, 256, 300))
            out[tag] = bytes(rng.randrange(256) for _ in range(n))
    return out


def _ours(tree):
    return b"".join(tlv.encode(t, _ours_items(v) if isinstance(v, dict) else v) for t, v in tree.items())


def _ours_items(tree):
    return [(t, _ours_items(v) if isinstance(v, dict) else v) for t, v in tree.items()]


def _as_peer(tree):
    return {
        tlv.tag_bytes(t).hex().upper(): _as_peer(v) if isinstance(v, dict) else v for t, v in tree.items()
    }


def test_our_tlv_and_pyemvs_agree_on_random_trees():
    for seed in SEEDS:
        tree = _tree(random.Random(seed))
        ours = _ours(tree)
        assert ours == peer.encode(_as_peer(tree)), seed
        assert _as_peer(tlv.decode(ours)) == peer.decode(ours), seed
        assert tlv.decode(peer.encode(_as_peer(tree))) == tree, seed


def test_fresh_test_pki_certificates_verify_on_the_terminal_and_tampering_does_not():
    # a key that fits its certificate (BB padding, no remainder) and one that does not; e = 65537
    for ca_bits, issuer_bits, icc_bits, e in ((1984, 1024, 1024, 3), (1408, 1408, 1152, 65537)):
        ca, issuer, icc = (emv_pki.Key.generate(b, e) for b in (ca_bits, issuer_bits, icc_bits))
        static = b"\x5a\x08\x54\x13\x33\x00\x89\x01\x04\x34"
        cert90, rem92 = emv_pki.issuer_certificate(ca, issuer, "54133300", "0528", b"\x00\x00\x07")
        cert9f46, rem9f48 = emv_pki.icc_certificate(issuer, icc, PAN, "0528", b"\x00\x00\x08", static)
        card = {0x90: cert90, 0x92: rem92, 0x9F32: issuer.exponent}
        card.update({0x9F46: cert9f46, 0x9F48: rem9f48, 0x9F47: icc.exponent})
        card[0x93] = emv_pki.signed_static_data(issuer, b"\x12\x34", static)
        assert bool(rem92) == (issuer.size > ca.size - 36)
        terminal_ca = oda.PublicKey(ca.modulus, ca.exponent)
        got_issuer = oda.issuer_key(terminal_ca, card, PAN, (2027, 1, 1))
        assert got_issuer.modulus == issuer.modulus
        got_icc = oda.icc_key(got_issuer, card, static, PAN, (2027, 1, 1))
        assert got_icc.modulus == icc.modulus
        assert oda.check_sda(got_issuer, card, static) == b"\x12\x34"
        sdad = emv_pki.signed_dynamic_data(icc, b"\xab\xcd", b"\x99\x88\x77\x66")
        assert oda.check_dda(got_icc, sdad, b"\x99\x88\x77\x66") == b"\xab\xcd"
        for tag in (0x90, 0x9F46, 0x93):
            bad = dict(card)
            bad[tag] = bytes([card[tag][0] ^ 0x40]) + card[tag][1:]
            with pytest.raises(oda.OdaFailed):
                key = oda.issuer_key(terminal_ca, bad, PAN, (2027, 1, 1))
                oda.check_sda(key, bad, static)
                oda.icc_key(key, bad, static, PAN, (2027, 1, 1))


def _value(rng, n):
    kind, limit, binary, numeric = iso8583.SPEC[n]
    size = limit if kind == iso8583.FIXED else rng.randrange(1, limit + 1)
    if binary:
        return bytes(rng.randrange(256) for _ in range(size))
    alphabet = "0123456789" if numeric else "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ abc-/.,"
    return "".join(rng.choice(alphabet) for _ in range(size))


def test_our_iso8583_and_pyiso8583_agree_byte_for_byte():
    for seed in SEEDS:
        rng = random.Random(seed)
        numbers = rng.sample(sorted(iso8583.SPEC), rng.randrange(1, 12))
        fields = {n: _value(rng, n) for n in numbers}
        mti = rng.choice(("0100", "0110", "0200", "0400", "0420", "0800"))
        ours = iso8583.encode(mti, fields)
        doc = {"t": mti}
        doc.update({str(n): v.hex().upper() if isinstance(v, bytes) else v for n, v in fields.items()})
        theirs, _ = peer8583.encode(dict(doc), peer_spec)  # it adds the bitmaps to what it is given
        assert ours == bytes(theirs), seed
        assert iso8583.decode(bytes(theirs)) == (mti, fields), seed
        decoded, _ = peer8583.decode(ours, peer_spec)
        assert {k: v for k, v in decoded.items() if k not in ("p", "1")} == doc, seed


def test_our_triple_des_and_format_0_blocks_agree_with_cryptography_and_psec():
    rng = random.Random(9564)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in range(300):
            key = bytes(rng.randrange(256) for _ in range(16 if n % 2 else 24))
            block = bytes(rng.randrange(256) for _ in range(8))
            theirs = Cipher(TripleDES(key), modes.ECB()).encryptor().update(block)
            assert des.tdes_encrypt(key, block) == theirs and des.tdes_decrypt(key, theirs) == block
        for _ in range(100):
            pin = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 12)))
            pan = "".join(rng.choice("0123456789") for _ in range(rng.randint(13, 19)))
            ours = pinpad.pin_block_iso0(bytearray(pin.encode()), pan)
            assert bytes(ours) == psec.pinblock.encode_pinblock_iso_0(pin, pan)
            assert psec.pinblock.decode_pinblock_iso_0(bytes(ours), pan) == pin


def test_the_simulators_cryptograms_reproduce_the_published_vectors():
    """The virtual cards and the acquirer simulator compute ARQCs through ``cryptogram`` (pyemv,
    with our order of arguments): pyemv's own published vectors come out (PAYMENTS.md §3.1)."""
    mk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    h = bytes.fromhex
    visa = quiet(CVNS["visa10"], mk, mk, mk, "1234567890123456", "00")
    values = {
        0x9F02: h("000000004000"), 0x9F03: bytes(6), 0x9F1A: h("0124"), 0x95: h("8000048000"),
        0x5F2A: h("0124"), 0x9A: h("191105"), 0x9C: h("01"), 0x9F37: h("52BF4585"),
    }  # fmt: skip
    arqc = cryptogram(visa, values, h("1800"), h("001C"), h("03A06010"))
    assert arqc == h("29CCA15AE665FA2E")
    assert quiet(visa.generate_arpc, arqc, b"00") == h("28993816AFAE4AEB")
    mastercard = quiet(CVNS["mastercard16"], mk, mk, mk, "5413330089020011", "00")
    values = {
        0x9F02: h("000000001000"), 0x9F03: bytes(6), 0x9F1A: h("0276"), 0x95: h("0000008000"),
        0x5F2A: h("0978"), 0x9A: h("251201"), 0x9C: h("00"), 0x9F37: h("11223344"),
    }  # fmt: skip
    arqc = cryptogram(mastercard, values, h("3900"), h("0001"), h("A50000000000"))
    assert arqc == h("2E1899CE0972B50E")  # the reference's regression value
    assert quiet(mastercard.generate_arpc, arqc, b"00") == h("57F5196CD8D81CD2")
