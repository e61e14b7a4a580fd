"""Offline data authentication on both runtimes: the certificate chain from a test CA key to
the card's key, SDA and DDA, with vectors the host's test PKI made (oda_vectors.py), and each
way a certificate or a signature can be wrong."""

import oda_vectors as v
from support import raises

from payment.emv import oda
from payment.emv.tlv import encode

TODAY = (2026, 12, 1)
CA = oda.PublicKey(v.CA_MODULUS, v.CA_EXPONENT)


def _card(**changes):
    card = {
        0x90: v.CERT_90,
        0x92: v.REMAINDER_92,
        0x9F32: v.EXPONENT_9F32,
        0x9F46: v.CERT_9F46,
        0x9F48: v.REMAINDER_9F48,
        0x9F47: v.EXPONENT_9F47,
        0x93: v.SSAD_93,
    }
    for name, value in changes.items():
        card[int(name[1:], 16)] = value
    return card


def _flip(data, at):
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


def test_the_chain_sda_and_dda_check_out():
    card = _card()
    issuer = oda.issuer_key(CA, card, v.PAN, TODAY)
    assert issuer.modulus == v.ISSUER_MODULUS and issuer.e == 3
    icc = oda.icc_key(issuer, card, v.STATIC, v.PAN, TODAY)
    assert icc.modulus == v.ICC_MODULUS
    assert oda.check_sda(issuer, card, v.STATIC) == b"\xda\xc1"
    assert oda.check_dda(icc, v.SDAD_9F4B, v.DDOL_DATA) == bytes.fromhex("1122334455667788")


def test_each_wrong_certificate_or_signature_is_named():
    issuer = oda.issuer_key(CA, _card(), v.PAN, TODAY)
    icc = oda.icc_key(issuer, _card(), v.STATIC, v.PAN, TODAY)
    for card, why in (
        (_card(t90=_flip(v.CERT_90, 50)), "issuer certificate"),
        (_card(t92=_flip(v.REMAINDER_92, 0)), "issuer certificate: hash does not match"),
        (_card(t9F32=b"\x01\x00\x01"), "issuer certificate: hash does not match"),
        (_card(t90=v.CERT_90[:-1]), "issuer certificate has 175 bytes"),
        (_card(t90=b"\xff" * len(v.CERT_90)), "not below the key's modulus"),
    ):
        e = raises(oda.OdaFailed, oda.issuer_key, CA, card, v.PAN, TODAY)
        assert why in str(e), (why, str(e))
    del_90 = _card()
    del del_90[0x90]
    assert "(90) missing" in str(raises(oda.OdaFailed, oda.issuer_key, CA, del_90, v.PAN, TODAY))
    assert "another card" in str(
        raises(oda.OdaFailed, oda.issuer_key, CA, _card(), "4111111111111111", TODAY)
    )
    assert "expired 12/2030" in str(raises(oda.OdaFailed, oda.issuer_key, CA, _card(), v.PAN, (2031, 1, 1)))
    e = raises(oda.OdaFailed, oda.icc_key, issuer, _card(), v.STATIC + b"\x00", v.PAN, TODAY)
    assert "ICC certificate: hash does not match" in str(e)  # the static data is part of it
    e = raises(oda.OdaFailed, oda.icc_key, issuer, _card(t9F48=v.REMAINDER_9F48[:-1]), v.STATIC, v.PAN, TODAY)
    assert "hash does not match" in str(e)
    assert "another card" in str(
        raises(oda.OdaFailed, oda.icc_key, issuer, _card(), v.STATIC, "5413330089010435", TODAY)
    )
    assert "hash does not match" in str(raises(oda.OdaFailed, oda.check_sda, issuer, _card(), v.STATIC[1:]))
    assert "6A...BC" in str(raises(oda.OdaFailed, oda.check_sda, icc, _card(t93=v.SSAD_93[:128]), v.STATIC))
    assert "hash does not match" in str(
        raises(oda.OdaFailed, oda.check_dda, icc, v.SDAD_9F4B, b"\x01\x02\x03\x05")
    )
    # an ICC certificate where the signed static data should be: format 04, not 03
    assert "format" in str(raises(oda.OdaFailed, oda.check_sda, issuer, _card(t93=v.CERT_9F46), v.STATIC))


def test_static_data_to_be_authenticated():
    record1 = encode(0x70, encode(0x5A, bytes.fromhex("5413330089010434")))
    record11 = encode(0x70, encode(0x9F08, b"\x00\x02"))
    got = oda.static_data([(1, record1), (11, record11)], {})
    assert got == encode(0x5A, bytes.fromhex("5413330089010434")) + record11  # SFI 1: inside 70
    assert oda.static_data([(1, record1)], {0x9F4A: b"\x82", 0x82: b"\x19\x80"}).endswith(b"\x19\x80")
    assert "only the AIP" in str(
        raises(oda.OdaFailed, oda.static_data, [(1, record1)], {0x9F4A: b"\x9f\x08"})
    )
    assert "not a 70 template" in str(raises(oda.OdaFailed, oda.static_data, [(2, b"\x71\x00")], {}))
