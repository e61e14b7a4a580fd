// What the receipt page (receipt.js) and the account page (account.js) share: bytes in base64url,
// and the sealed format of firmware/digital/envelope.py opened with WebCrypto alone:
// ``01 | IV | AES-256-CBC ciphertext | HMAC-SHA256 tag``, the keys HKDF-SHA256 of the secret,
// the tag checked before anything is decrypted.
"use strict";

function b64url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function toB64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

async function hkdf(secret, salt, info) {
  const ikm = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt, info: new TextEncoder().encode(info) }, ikm, 512);
  return new Uint8Array(bits);
}

// A sealed blob's plaintext with the 64 bytes ``okm`` (32 for AES, 32 for HMAC).
async function openWith(okm, blob) {
  if (blob.length < 81 || blob[0] !== 1) throw new Error("kein versiegelter Bon");
  const body = blob.slice(0, -32);
  const mac = await crypto.subtle.importKey("raw", okm.slice(32), { name: "HMAC", hash: "SHA-256" }, false, [
    "verify",
  ]);
  if (!(await crypto.subtle.verify("HMAC", mac, blob.slice(-32), body))) throw new Error("Der Bon wurde verändert");
  const aes = await crypto.subtle.importKey("raw", okm.slice(0, 32), "AES-CBC", false, ["decrypt"]);
  return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv: body.slice(1, 17) }, aes, body.slice(17)));
}

// A sealed receipt's document, with the receipt's own key.
async function openSealed(key, blob) {
  const okm = await hkdf(key, new Uint8Array(0), "smartECR receipt v1");
  return JSON.parse(new TextDecoder().decode(await openWith(okm, blob)));
}
