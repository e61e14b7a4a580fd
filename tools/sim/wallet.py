"""The simulator's wallet host (host code): a PSP's payment API on loopback, for the wallet tokens
the camera reads and the merchant-presented code the customer's phone pays.

    host = WalletHostSim("out/sim/wallet").start()   # host.port; make sim prints "wallet host"
    host.payments[ref]                                # what it decided, by merchant reference
    host.delay_s = 0.3                                # how long a payment stays pending

The API (JSON over HTTP, as payment.qr.wallet speaks it):

- ``POST /v1/payments`` ``{"token", "amount", "currency", "merchant_reference", "terminal"}``:
  a customer-presented payment. Idempotent by merchant reference: the same reference again
  answers the first one's state. It is ``pending`` for ``delay_s``, then ``approved`` (an
  approval code, a PSP reference), or at once ``declined``: ``replayed`` (the token was used
  before), ``limit`` (over 400,00 EUR, as Bluecode's limit), ``insufficient funds`` (a token
  ending in 0000: the simulator's declined customer), ``currency`` (not EUR).
- ``POST /v1/intents`` ``{"merchant_reference", "amount", "currency", "terminal"}``: the
  terminal shows a merchant-presented code for this amount; ``POST /v1/intents/<ref>/pay``
  ``{"amount", "wallet"}`` is the phone paying it (the amount must be the intent's).
- ``GET /v1/payments/<ref>``: ``{"status": "pending"|"approved"|"declined"|"reversed", ...}``.
- ``POST /v1/payments/<ref>/reversal``: the money goes back.

Every request is a JSON line ``{"method", "path", "body", "status"}`` in ``<folder>/wallet.jsonl``.
"""

import json
import os
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIMIT = 40000


class WalletHostSim:
    def __init__(self, folder, port=0):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.delay_s = 0.3
        self.payments = {}  # merchant reference -> record
        self.intents = {}
        self.tokens = set()
        self._lock = threading.Lock()
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n > 65536:
                    return None
                try:
                    body = json.loads(self.rfile.read(n) or b"{}")
                except ValueError:
                    return None
                return body if isinstance(body, dict) else None

            def _run(self, method):
                body = self._body() if method == "POST" else {}
                if body is None:
                    status, answer = 400, {"error": "the body is not a JSON object"}
                else:
                    with host._lock:
                        status, answer = host.handle(method, self.path, body)
                host._log(method, self.path, body, status)
                self._answer(status, answer)

            def do_GET(self):
                self._run("GET")

            def do_POST(self):
                self._run("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self._thread = None

    def _log(self, method, path, body, status):
        with self._lock, open(os.path.join(self.folder, "wallet.jsonl"), "a") as f:
            f.write(json.dumps({"method": method, "path": path, "body": body, "status": status}) + "\n")

    def messages(self):
        path = os.path.join(self.folder, "wallet.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]

    def _state(self, rec):
        if rec["status"] == "pending" and rec.get("ready_at") and time.monotonic() >= rec["ready_at"]:
            rec["status"] = "approved"
            rec["auth_code"] = "%06d" % secrets.randbelow(1000000)
            rec["psp_reference"] = "SIMPSP-" + secrets.token_hex(6).upper()
        return {k: v for k, v in rec.items() if k != "ready_at" and k != "token"}

    def handle(self, method, path, body):
        parts = path.strip("/").split("/")
        if parts[:2] != ["v1", "payments"] and parts[:2] != ["v1", "intents"]:
            return 404, {"error": "no such resource"}
        if method == "POST" and parts == ["v1", "payments"]:
            return self._pay(body)
        if method == "POST" and parts == ["v1", "intents"]:
            ref = str(body.get("merchant_reference", ""))
            if not ref or not isinstance(body.get("amount"), int) or body.get("currency") != "EUR":
                return 400, {"error": "an intent needs merchant_reference, amount (cents) and EUR"}
            self.intents[ref] = body
            self.payments.setdefault(
                ref, {"status": "pending", "merchant_reference": ref, "amount": body["amount"]}
            )
            return 201, self._state(self.payments[ref])
        if method == "POST" and len(parts) == 4 and parts[1] == "intents" and parts[3] == "pay":
            intent, rec = self.intents.get(parts[2]), self.payments.get(parts[2])
            if intent is None or rec is None:
                return 404, {"error": "no such intent"}
            if body.get("amount") != intent["amount"]:
                return 400, {"error": "the amount is not the code's"}
            if rec["status"] == "pending":
                rec["ready_at"] = time.monotonic()
                rec["wallet"] = str(body.get("wallet", ""))
            return 200, self._state(rec)
        if len(parts) >= 3 and parts[1] == "payments":
            rec = self.payments.get(parts[2])
            if rec is None:
                return 404, {"error": "no such payment"}
            if method == "GET" and len(parts) == 3:
                return 200, self._state(rec)
            if method == "POST" and parts[3:] == ["reversal"]:
                self._state(rec)
                rec["status"] = "reversed" if rec["status"] in ("approved", "pending") else rec["status"]
                rec.pop("ready_at", None)
                return 200, self._state(rec)
        return 404, {"error": "no such resource"}

    def _pay(self, body):
        ref = str(body.get("merchant_reference", ""))
        token = body.get("token")
        if not ref or not isinstance(token, str) or not isinstance(body.get("amount"), int):
            return 400, {"error": "a payment needs token, amount (cents) and merchant_reference"}
        if ref in self.payments:  # idempotent: the same request again
            return 200, self._state(self.payments[ref])
        rec = {"merchant_reference": ref, "amount": body["amount"], "status": "pending", "token": token}
        if body.get("currency") != "EUR":
            rec.update(status="declined", reason="currency")
        elif token in self.tokens:
            rec.update(status="declined", reason="replayed")
        elif body["amount"] > LIMIT:
            rec.update(status="declined", reason="limit")
        elif token.endswith("0000"):
            rec.update(status="declined", reason="insufficient funds")
        else:
            rec["ready_at"] = time.monotonic() + self.delay_s
        self.tokens.add(token)
        self.payments[ref] = rec
        return 201, self._state(rec)

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, name="wallet-host", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
