"""The kernel's rules between reading the card and GENERATE AC, bit for bit: processing
restrictions, the CVM list, terminal risk management and terminal action analysis. Scripted
card answers and PIN pad outcomes; both runtimes."""

from support import raises

from core.errors import ProtocolError
from payment.emv import cvm, risk
from payment.emv import tvr as bits
from payment.emv.apdu import AAC, ARQC, TC, Transmit
from payment.emv.config import Limits, Tac
from payment.emv.cvm import Verify
from payment.emv.restrictions import CASH, CASHBACK, Transaction, check
from payment.emv.tlv import encode

H = bytes.fromhex
TODAY = H("261201")  # 1 December 2026
EUR = H("0978")
CAPS = H("E0F8C8")  # IC, magstripe, manual; plaintext PIN, online PIN, signature, enc. PIN, no CVM
AIP_CVM = H("1000")  # cardholder verification supported
AIP_RISK = H("0800")  # terminal risk management to be performed


def run(step, answers=()):
    """Drive a step: Transmit gets the next scripted R-APDU, Verify the next PIN outcome."""
    answers = list(answers)
    asked = []
    try:
        action = step.send(None)
        while True:
            asked.append(action)
            action = step.send(answers.pop(0))
    except StopIteration as e:
        return e.value, asked


def test_tvr_and_tsi_bits_are_where_book_3_puts_them():
    tvr, tsi = bits.Tvr(), bits.Tsi()
    for bit in (bits.ODA_NOT_PERFORMED, bits.EXPIRED, bits.PIN_NOT_ENTERED, bits.FLOOR_LIMIT_EXCEEDED):
        tvr.set(bit)
    tvr.set(bits.ISSUER_AUTH_FAILED)
    assert tvr.value == H("8040088040")
    tsi.set(bits.CVM_PERFORMED)
    tsi.set(bits.TERMINAL_RISK_PERFORMED)
    assert tsi.value == H("4800")
    assert tvr.matches(H("0000000040")) and not tvr.matches(H("0000000000"))
    raises(ValueError, bits.Tvr, b"\x00")


def _with(card, tag, value):
    out = dict(card)
    out[tag] = value
    return out


def _restricted(card, **txn):
    tvr = bits.Tvr()
    check(card, Transaction(1000, TODAY, **txn), tvr)
    return tvr.value


def test_processing_restrictions():
    assert _restricted({}) == bytes(5)
    assert _restricted({0x9F08: H("0002")}, app_version=H("0002")) == bytes(5)
    assert _restricted({0x9F08: H("0003")}, app_version=H("0002")) == H("0080000000")
    assert _restricted({0x5F24: H("261130")}) == H("0040000000")  # expired yesterday
    assert _restricted({0x5F24: H("261201"), 0x5F25: H("261201")}) == bytes(5)  # the day itself is fine
    assert _restricted({0x5F25: H("270101")}) == H("0020000000")
    assert _restricted({0x5F24: H("991231")}) == H("0040000000")  # 99 is 1999, not 2099
    # AUC FF00: everything but cashback; 3D00: not valid at POS terminals (only the ATM bit of byte 1)
    domestic = {0x5F28: H("0276")}
    assert _restricted(_with(domestic, 0x9F07, H("FF00"))) == bytes(5)
    assert _restricted(_with(domestic, 0x9F07, H("FF00")), kind=CASHBACK, cashback=500) == H("0010000000")
    assert _restricted(_with(domestic, 0x9F07, H("FFC0")), kind=CASHBACK, cashback=500) == bytes(5)
    assert _restricted(_with(domestic, 0x9F07, H("FE00"))) == H("0010000000")
    # domestic goods only (AB00 = dom cash, dom goods, dom services, not-ATM): abroad refused
    assert _restricted(_with(domestic, 0x9F07, H("A900"))) == bytes(5)
    assert _restricted({0x5F28: H("0840"), 0x9F07: H("A900")}) == H("0010000000")
    assert _restricted({0x5F28: H("0840"), 0x9F07: H("A900")}, kind=CASH) == H("0010000000")
    assert _restricted(_with(domestic, 0x9F07, H("A900")), kind=CASH) == bytes(5)
    assert _restricted({0x9F07: H("0100")}) == bytes(5)  # no issuer country: only the ATM bit counts
    raises(ProtocolError, _restricted, {0x5F24: H("261331")})
    raises(ProtocolError, _restricted, {0x9F07: H("FF")})


def _cvm_list(x, y, *rules):
    return x.to_bytes(4, "big") + y.to_bytes(4, "big") + bytes(b for rule in rules for b in rule)


def _verify(cvm_list, outcomes=(), amount=1000, caps=CAPS, aip=AIP_CVM, **txn):
    card = {0x8E: cvm_list, 0x9F42: EUR} if cvm_list is not None else {}
    tvr, tsi = bits.Tvr(), bits.Tsi()
    result, asked = run(cvm.verify(card, aip, Transaction(amount, TODAY, **txn), caps, tvr, tsi), outcomes)
    return result, [a.method for a in asked], tvr.value, tsi.value


def test_cvm_rules_in_order_with_conditions():
    # offline PIN if the terminal supports it (next if it fails), then signature, then no CVM
    lst = _cvm_list(0, 0, (0x41, 0x03), (0x5E, 0x03), (0x1F, 0x03))
    result, asked, tvr, tsi = _verify(lst, [cvm.PIN_OK])
    assert (result.value, asked, tvr, tsi) == (H("410302"), [cvm.OFFLINE_PLAIN_PIN], bytes(5), H("4000"))
    # the PIN bypassed: "PIN not entered", then the signature
    result, asked, tvr, _ = _verify(lst, [cvm.PIN_BYPASSED])
    assert result.value == H("5E0300") and result.signature and tvr == H("0000080000")
    # no PIN pad and no signature in this terminal's capabilities: the PIN rule fails as unsupported
    result, asked, tvr, _ = _verify(lst, caps=H("E008C8"))
    assert (result.value, asked, tvr) == (H("1F0302"), [], bytes(5))  # condition 03 passes both over
    lst_always = _cvm_list(0, 0, (0x41, 0x00), (0x1F, 0x00))
    result, _, tvr, _ = _verify(lst_always, caps=H("E008C8"))
    assert result.value == H("1F0002") and tvr == H("0000100000")  # PIN pad not present
    # online PIN above X = 50,00 EUR, no CVM below it (a contactless-style list)
    lst = _cvm_list(5000, 0, (0x42, 0x07), (0x1F, 0x06))
    result, asked, tvr, _ = _verify(lst, [cvm.PIN_OK], amount=7500)
    assert (result.value, asked, tvr) == (H("420700"), [cvm.ONLINE_PIN], H("0000040000"))  # as written
    result, asked, _, _ = _verify(lst, amount=2000)
    assert (result.value, asked) == (H("1F0602"), [])
    # exactly X: neither "over X" nor "under X" applies -> no rule: CV failed, 3F0001
    result, _, tvr, _ = _verify(lst, amount=5000)
    assert result.value == H("3F0001") and tvr == H("0000800000")
    # another currency: the amount conditions do not apply
    result, _, _, _ = _verify(lst, amount=7500, currency=H("0840"))
    assert result.value == H("3F0001")


def test_cvm_failures_and_edge_cases():
    # PIN try limit exceeded, no "next": CV failed with the PIN as the last method
    lst = _cvm_list(0, 0, (0x01, 0x00), (0x1E, 0x00))
    result, _, tvr, _ = _verify(lst, [cvm.PIN_BLOCKED])
    assert result.value == H("010001") and tvr == H("0000A00000")  # CV failed + try limit
    # an unknown method (0x2A) with "next": unrecognised, then the signature
    lst = _cvm_list(0, 0, (0x6A, 0x00), (0x1E, 0x00))
    result, _, tvr, _ = _verify(lst)
    assert result.value == H("1E0000") and tvr == H("0000400000")
    # fail CVM fails; the next rule only if its rule says so
    result, _, tvr, _ = _verify(_cvm_list(0, 0, (0x00, 0x00), (0x1F, 0x00)))
    assert result.value == H("000001") and tvr == H("0000800000")
    assert _verify(_cvm_list(0, 0, (0x40, 0x00), (0x1F, 0x00)))[0].value == H("1F0002")
    # an unknown condition (0x0A) is passed over; cash and cashback conditions
    result, _, _, _ = _verify(_cvm_list(0, 0, (0x1E, 0x0A), (0x1F, 0x00)))
    assert result.value == H("1F0002")
    cash_list = _cvm_list(0, 0, (0x1E, 0x04), (0x1F, 0x02))
    assert _verify(cash_list, kind=CASH)[0].value == H("1E0400")
    assert _verify(cash_list)[0].value == H("1F0202")
    assert _verify(_cvm_list(0, 0, (0x1E, 0x05)), kind=CASHBACK, cashback=100)[0].value == H("1E0500")
    # the card does not support CV: nothing done, 3F0000, TSI untouched
    result, _, tvr, tsi = _verify(_cvm_list(0, 0, (0x1F, 0x00)), aip=H("0000"))
    assert (result.value, tvr, tsi) == (H("3F0000"), bytes(5), bytes(2))
    # no CVM list: ICC data missing
    result, _, tvr, tsi = _verify(None)
    assert (result.value, tvr, tsi) == (H("3F0000"), H("2000000000"), bytes(2))
    raises(ProtocolError, _verify, b"\x00" * 9 + b"\x01\x02")  # odd length
    raises(ValueError, _verify, _cvm_list(0, 0, (0x01, 0x00)), ["maybe"])


def _risk(card, amount, limits, answers=(), rand=lambda: 50, aip=AIP_RISK):
    tvr, tsi = bits.Tvr(), bits.Tsi()
    _, asked = run(risk.manage(card, aip, Transaction(amount, TODAY), limits, tvr, tsi, rand), answers)
    return tvr.value, tsi.value, [a.apdu for a in asked if isinstance(a, Transmit)]


def test_terminal_risk_management():
    floor = Limits(floor=5000, threshold=1000, target=20, max_target=80)
    assert _risk({}, 5000, floor)[:2] == (H("0000008000"), H("0800"))  # at the floor limit
    assert _risk({}, 500, floor, rand=lambda: 20)[0] == H("0000001000")  # under the threshold: 20 %
    assert _risk({}, 500, floor, rand=lambda: 21)[0] == bytes(5)
    # 3000 is half-way from threshold to floor: 20 + 60 / 2 = 50 %
    assert _risk({}, 3000, floor, rand=lambda: 50)[0] == H("0000001000")
    assert _risk({}, 3000, floor, rand=lambda: 51)[0] == bytes(5)
    assert _risk({}, 9000, floor, aip=H("0000")) == (bytes(5), bytes(2), [])  # not asked for
    velocity = {0x9F14: H("03"), 0x9F23: H("05")}
    atc, last = encode(0x9F36, H("0010")) + H("9000"), encode(0x9F13, H("000C")) + H("9000")
    tvr, _, sent = _risk(velocity, 100, Limits(floor=5000), [atc, last])
    assert tvr == H("0000004000") and sent == [H("80CA9F3600"), H("80CA9F1300")]  # 4 offline > 3
    last = encode(0x9F13, H("0000")) + H("9000")
    assert _risk(velocity, 100, Limits(floor=5000), [atc, last])[0] == H("0008006000")  # new card
    assert _risk(velocity, 100, Limits(floor=5000), [atc, H("6A88")])[0] == H("0000006000")
    raises(ValueError, Limits, 0, 0, 50, 40)


def test_terminal_action_analysis():
    tac = Tac(denial=H("0010000000"), online=H("8000008000"), default=H("0000000000"))
    clean, expired, floor = bits.Tvr(), bits.Tvr(), bits.Tvr()
    expired.set(bits.SERVICE_NOT_ALLOWED)
    floor.set(bits.FLOOR_LIMIT_EXCEEDED)
    iac = {0x9F0E: bytes(5), 0x9F0F: bytes(5), 0x9F0D: bytes(5)}
    assert risk.analyse(expired, iac, tac) == AAC  # the terminal's denial code
    assert risk.analyse(floor, iac, tac) == ARQC  # the terminal's online code
    assert risk.analyse(clean, iac, tac) == TC
    assert risk.analyse(clean, {}, tac) == TC  # nothing set, nothing matches even all-ones IACs
    assert risk.analyse(floor, {}, Tac()) == ARQC  # absent IAC-Online counts as all ones
    assert risk.analyse(floor, {0x9F0E: H("0000008000")}, Tac()) == AAC  # the issuer's denial
    assert risk.analyse(floor, iac, tac, online=False) == TC
    assert risk.analyse(floor, {}, tac, online=False) == AAC  # absent IAC-Default: all ones
    assert risk.after_no_host(floor, {0x9F0D: H("0000008000")}, tac) == AAC


def test_verify_actions_name_the_method_and_carry_the_cards_key():
    key = object()  # the ICC public key ODA recovered
    card = {0x8E: _cvm_list(0, 0, (0x04, 0x00)), 0x9F42: EUR, 0x5A: H("5413330089010434")}
    step = cvm.verify(card, AIP_CVM, Transaction(1, TODAY), CAPS, bits.Tvr(), bits.Tsi(), key)
    action = step.send(None)
    assert isinstance(action, Verify) and cvm.NAMES[action.method] == "offline enciphered PIN"
    assert action.key is key and action.pan == "5413330089010434"
    # without the card's key an enciphered PIN cannot be made: the rule fails, nobody is asked
    result, asked, tvr, _ = _verify(_cvm_list(0, 0, (0x04, 0x00)))
    assert asked == [] and result.value == H("040001") and bits.Tvr(tvr).has(bits.CVM_FAILED)
