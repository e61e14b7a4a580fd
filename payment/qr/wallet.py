"""Wallet payments (device code): what the camera reads from a customer's wallet app, and the
wallet host (a PSP's API) that decides them.

    kind(text)           # "cpm" (EMVCo consumer-presented: chip data for the acquirer),
                         # "wallet" (an opaque wallet token), or None: not a payment code
    host = WalletHost("127.0.0.1", 9300, "SECR0001")
    answer = await host.pay(token, 1250, ref)       # {"status": "approved", "auth_code", ...}
    answer = await host.expect(ref, 1250)           # a merchant-presented code the phone pays
    answer = await host.wait(ref)                   # polled until decided or the time is up
    await host.reverse(ref)                         # the money goes back (no sale took it)

Wallet tokens are opaque: the wallet host knows what they mean. What the terminal recognises,
by form only (the formats are not public; these are the shapes the codes have): a
Bluecode-style code, 20 digits beginning ``98802``, and an Alipay-style payment code, 16 to 24
digits beginning 25 to 30. Nothing else is taken for a payment: an EAN-13 stays an article.

The host's API (JSON over HTTP, tools/sim/wallet.py is the simulator's): ``POST /v1/payments``
``{"token", "amount", "currency", "merchant_reference", "terminal"}`` starts a payment,
idempotent by merchant reference (the same reference again answers the first payment's state);
``POST /v1/intents`` ``{"merchant_reference", "amount", ...}`` announces a merchant-presented
code; ``GET /v1/payments/<ref>`` tells ``pending``, ``approved`` (``auth_code``,
``psp_reference``) or ``declined`` (``reason``), and ``unknown`` (404) for a reference the host
never heard of; ``POST /v1/payments/<ref>/reversal`` reverses. A token already used is declined
``replayed``.
"""

import asyncio

from core.errors import ProtocolError
from hal.http import request
from payment.qr.emvco import CPM_PREFIX

PENDING, APPROVED, DECLINED, UNKNOWN = "pending", "approved", "declined", "unknown"


def kind(text):
    if text.startswith(CPM_PREFIX):
        return "cpm"
    if text.isdigit():
        if len(text) == 20 and text.startswith("98802"):
            return "wallet"
        if 16 <= len(text) <= 24 and 25 <= int(text[:2]) <= 30:
            return "wallet"
    return None


def brand(token):
    return "Bluecode" if token.startswith("98802") else "Alipay"


class WalletHost:
    def __init__(self, host, port, terminal, timeout_ms=10000, poll_ms=500, wait_ms=60000):
        self.host = host
        self.port = port
        self.terminal = terminal
        self.timeout_ms = timeout_ms
        self.poll_ms = poll_ms
        self.wait_ms = wait_ms  # how long a payment may stay pending before it is given up

    async def _call(self, method, path, body=None, missing=None):
        """The host's answer; ``missing``: what a 404 means (else it is a refusal)."""
        status, answer = await request(self.host, self.port, method, path, body, self.timeout_ms)
        if status == 404 and missing is not None:
            return missing
        if status >= 500 or not isinstance(answer, dict):
            raise ProtocolError("wallet host answered %d" % status)
        if status >= 400 and "status" not in answer:
            raise ProtocolError("wallet host refused: %s" % answer.get("error", status))
        return answer

    async def pay(self, token, cents, reference):
        body = {"token": token, "amount": cents, "currency": "EUR"}
        body.update(merchant_reference=reference, terminal=self.terminal)
        return await self._call("POST", "/v1/payments", body)

    async def expect(self, reference, cents):
        body = {
            "merchant_reference": reference,
            "amount": cents,
            "currency": "EUR",
            "terminal": self.terminal,
        }
        return await self._call("POST", "/v1/intents", body)

    async def status(self, reference):
        """The payment's state; ``unknown`` when the host never heard of the reference (the
        request did not reach it: nothing was paid)."""
        return await self._call("GET", "/v1/payments/" + reference, missing={"status": UNKNOWN})

    async def wait(self, reference, cancelled=None):
        """The payment's state once it is no longer pending; still pending after ``wait_ms``
        (or when ``cancelled`` is set): the last answer, pending."""
        waited = 0
        while True:
            answer = await self.status(reference)
            if answer.get("status") != PENDING or waited >= self.wait_ms:
                return answer
            if cancelled is not None and cancelled.is_set():
                return answer
            await asyncio.sleep(self.poll_ms / 1000)
            waited += self.poll_ms

    async def reverse(self, reference):
        return await self._call("POST", "/v1/payments/%s/reversal" % reference, {})
