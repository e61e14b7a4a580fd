// A loyalty customer's page (tools/receipts/server.py at /k/<account>): the account's X25519
// secret key comes once in the URL's fragment (the customer's app or the shop's enrolment hands
// it over) and is then kept in this browser's storage only; the server lists the account's
// receipts with their keys wrapped to the account (firmware/digital/envelope.py ``wrap``), and
// each key is unwrapped here: X25519 (WebCrypto) with the terminal's ephemeral key, HKDF-SHA256
// with salt = ephemeral || account key and info "smartECR key wrap v1", then the sealed key
// opened like a receipt. The receipt itself opens on the receipt page with that key.
"use strict";

const PKCS8_X25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e,
  0x04, 0x22, 0x04, 0x20]); // RFC 8410: the DER of an X25519 private key, before its 32 bytes

async function unwrap(secret, accountPublic, wrapped) {
  if (wrapped[0] !== 2) throw new Error("kein eingepackter Schlüssel");
  const ephemeral = wrapped.slice(1, 33);
  const theirs = await crypto.subtle.importKey("raw", ephemeral, { name: "X25519" }, false, []);
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: theirs }, secret, 256));
  const okm = await hkdf(shared, concat(ephemeral, accountPublic), "smartECR key wrap v1");
  return openWith(okm, wrapped.slice(33));
}

async function main() {
  const account = location.pathname.split("/").pop();
  const slot = "smartecr-account-" + account;
  if (location.hash.length > 1) {
    localStorage.setItem(slot, location.hash.slice(1)); // kept here; gone from the address bar
    history.replaceState(null, "", location.pathname);
  }
  const state = document.getElementById("state");
  const stored = localStorage.getItem(slot);
  if (!stored) {
    state.textContent = "Dieser Browser kennt den Schlüssel des Kontos nicht";
    return;
  }
  const raw = b64url(stored);
  const secret = await crypto.subtle.importKey("pkcs8", concat(PKCS8_X25519, raw), { name: "X25519" }, true, [
    "deriveBits",
  ]);
  const accountPublic = b64url((await crypto.subtle.exportKey("jwk", secret)).x);
  const answer = await fetch("/api/accounts/" + encodeURIComponent(account) + "/receipts");
  const entries = answer.ok ? await answer.json() : [];
  const list = document.getElementById("list");
  let shown = 0;
  for (const entry of entries.slice().reverse()) {
    try {
      const key = await unwrap(secret, accountPublic, b64url(entry.wrapped));
      const sealed = new Uint8Array(await (await fetch("/api/receipts/" + entry.id)).arrayBuffer());
      const doc = await openSealed(key, sealed);
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/r/" + entry.id + "#" + toB64url(key);
      a.dataset.bon = doc.bon.bon_nr;
      const total = document.createElement("span");
      total.className = "total";
      total.textContent = (doc.ums_brutto / 100).toFixed(2).replace(".", ",") + " EUR";
      a.append(total, doc.unternehmen.name + " · Bon " + doc.bon.bon_nr + " · " + doc.bon.bon_ende.slice(0, 10));
      li.append(a);
      list.append(li);
      shown += 1;
    } catch (e) {
      const li = document.createElement("li");
      li.textContent = "Bon " + entry.id + ": nicht lesbar (" + e.message + ")";
      list.append(li);
    }
  }
  state.textContent = shown ? shown + " Bons" : "Noch keine Bons";
  state.dataset.count = String(shown);
}

main().catch((e) => {
  document.getElementById("state").textContent = "Fehler: " + e.message;
});
