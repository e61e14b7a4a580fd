// The customer's page (served by tools/receipts/server.py at /r/<id>): fetch the sealed receipt,
// open it with the key from the URL's fragment (which the browser never sends), show it as it
// was printed, and check the TSE's signature over the receipt's QR data.
//
// Opening (firmware/digital/envelope.py): sealed.js's openSealed, WebCrypto's HKDF, HMAC and
// AES-CBC.
//
// The signature: the TSE signed the TR-03151 Finish log of the transaction, which the page
// rebuilds from the QR code's fields (as tools/audit/tse.py does) and checks as ECDSA with
// SHA-384 on brainpoolP384r1 (RFC 5639). WebCrypto has only the NIST curves (P-256, P-384,
// P-521), so the curve arithmetic is done here with BigInt; SHA-384 and SHA-256 (the TSE serial,
// the hash of its public key) are WebCrypto's.
"use strict";

const te = new TextEncoder();

function b64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

// --- DER of the Finish log (TR-03151), as tools/audit/tse.py rebuilds it ---------------------

function der(tag, value) {
  const n = value.length;
  const len = n < 128 ? [n] : n < 256 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return concat(new Uint8Array([tag, ...len]), value);
}

function derInt(n) {
  let hex = n.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  let bytes = hex.match(/../g).map((h) => parseInt(h, 16));
  if (bytes[0] & 0x80) bytes = [0, ...bytes];
  return new Uint8Array(bytes);
}

function oid(dotted) {
  const parts = dotted.split(".").map(Number);
  const body = [parts[0] * 40 + parts[1]];
  for (let n of parts.slice(2)) {
    const chunk = [n & 0x7f];
    n = Math.floor(n / 128);
    while (n) {
      chunk.unshift((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    body.push(...chunk);
  }
  return der(0x06, new Uint8Array(body));
}

const SIG_OIDS = {
  "ecdsa-plain-SHA256": ["0.4.0.127.0.7.1.1.4.1.3", "SHA-256"],
  "ecdsa-plain-SHA384": ["0.4.0.127.0.7.1.1.4.1.4", "SHA-384"],
  "ecdsa-plain-SHA512": ["0.4.0.127.0.7.1.1.4.1.5", "SHA-512"],
};

function logTime(format, iso) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z$/.exec(iso);
  if (!m) throw new Error("Zeit " + iso);
  if (format === "unixTime") return der(0x02, derInt(BigInt(Math.floor(Date.parse(iso) / 1000))));
  const [y, mo, d, h, mi, s] = m.slice(1, 7);
  if (format === "utcTime") return der(0x17, te.encode(y.slice(2) + mo + d + h + mi + s + "Z"));
  if (format === "generalizedTime") return der(0x18, te.encode(y + mo + d + h + mi + s + "Z"));
  throw new Error("Zeitformat " + format);
}

function finishLog(qr, serial) {
  return concat(
    der(0x02, new Uint8Array([2])),
    oid("0.4.0.127.0.7.3.7.1.1"),
    der(0x80, te.encode("FinishTransaction")),
    der(0x81, te.encode(qr.clientId)),
    der(0x82, te.encode(qr.processData)),
    der(0x83, te.encode(qr.processType)),
    der(0x85, derInt(qr.number)),
    der(0x04, serial),
    der(0x30, oid(SIG_OIDS[qr.algorithm][0])),
    der(0x02, derInt(qr.counter)),
    logTime(qr.timeFormat, qr.end),
  );
}

function parseQr(text) {
  const f = text.split(";");
  if (f.length !== 12 || f[0] !== "V0") throw new Error("kein Beleg-QR-Code (V0, 12 Felder)");
  return {
    clientId: f[1], processType: f[2], processData: f[3], number: BigInt(f[4]), counter: BigInt(f[5]),
    start: f[6], end: f[7], algorithm: f[8], timeFormat: f[9], signature: b64(f[10]), publicKey: b64(f[11]),
  };
}

// --- ECDSA on brainpoolP384r1 (RFC 5639 §3.6) ------------------------------------------------------

const BP384 = {
  p: 0x8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53n,
  a: 0x7bc382c63d8c150c3c72080ace05afa0c2bea28e4fb22787139165efba91f90f8aa5814a503ad4eb04a8c7dd22ce2826n,
  b: 0x04a8c7dd22ce28268b39b55416f0447c2fb77de107dcd2a62e880ea53eeb62d57cb4390295dbc9943ab78696fa504c11n,
  x: 0x1d1c64f068cf45ffa2a63a81b7c13f6b8847a3e77ef14fe3db7fcafe0cbd10e8e826e03436d646aaef87b2e247d4af1en,
  y: 0x8abe1d7520f9c2a45cb1eb8e95cfd55262b70b29feec5864e19c054ff99129280e4646217791811142820341263c5315n,
  n: 0x8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b31f166e6cac0425a7cf3ab6af6b7fc3103b883202e9046565n,
  size: 48,
};

function mod(a, m) {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function inverse(a, m) {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error("keine Inverse");
  return mod(s0, m);
}

function add(c, p1, p2) {
  if (p1 === null) return p2;
  if (p2 === null) return p1;
  const [x1, y1] = p1;
  const [x2, y2] = p2;
  let l;
  if (x1 === x2) {
    if (mod(y1 + y2, c.p) === 0n) return null;
    l = mod((3n * x1 * x1 + c.a) * inverse(2n * y1, c.p), c.p);
  } else {
    l = mod((y2 - y1) * inverse(x2 - x1, c.p), c.p);
  }
  const x3 = mod(l * l - x1 - x2, c.p);
  return [x3, mod(l * (x1 - x3) - y1, c.p)];
}

function multiply(c, k, point) {
  let out = null;
  let q = point;
  while (k > 0n) {
    if (k & 1n) out = add(c, out, q);
    q = add(c, q, q);
    k >>= 1n;
  }
  return out;
}

function big(bytes) {
  return bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

function ecdsaVerify(c, digest, signature, point) {
  if (point.length !== 1 + 2 * c.size || point[0] !== 4 || signature.length !== 2 * c.size) return false;
  const q = [big(point.slice(1, 1 + c.size)), big(point.slice(1 + c.size))];
  if (mod(q[1] * q[1] - (q[0] * q[0] * q[0] + c.a * q[0] + c.b), c.p) !== 0n) return false; // not on the curve
  const r = big(signature.slice(0, c.size));
  const s = big(signature.slice(c.size));
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const e = big(digest.slice(0, c.size));
  const w = inverse(s, c.n);
  const x = add(c, multiply(c, mod(e * w, c.n), [c.x, c.y]), multiply(c, mod(r * w, c.n), q));
  return x !== null && mod(x[0], c.n) === r;
}

async function checkSignature(qrText) {
  const qr = parseQr(qrText);
  const alg = SIG_OIDS[qr.algorithm];
  if (!alg || alg[1] !== "SHA-384" || qr.publicKey.length !== 97) {
    throw new Error("Signaturverfahren " + qr.algorithm + " wird hier nicht geprüft");
  }
  const serial = new Uint8Array(await crypto.subtle.digest("SHA-256", qr.publicKey));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-384", finishLog(qr, serial)));
  return ecdsaVerify(BP384, digest, qr.signature, qr.publicKey);
}

// --- the page ----------------------------------------------------------------------------------------

function show(state, text) {
  const check = document.getElementById("check");
  check.className = state;
  check.textContent = text;
}

async function main() {
  const id = location.pathname.split("/").pop();
  const fragment = location.hash.slice(1);
  if (!fragment) {
    show("bad", "Dem Link fehlt der Schlüssel (der Teil nach #)");
    return;
  }
  let doc;
  try {
    const answer = await fetch("/api/receipts/" + encodeURIComponent(id));
    if (answer.status === 404) {
      show("wait", "Der Bon ist noch unterwegs: bitte später noch einmal öffnen");
      return;
    }
    doc = await openSealed(b64url(fragment), new Uint8Array(await answer.arrayBuffer()));
  } catch (e) {
    show("bad", "Bon ungültig: " + e.message);
    return;
  }
  const paper = document.getElementById("paper");
  paper.textContent = doc.druck || "";
  paper.hidden = false;
  const tse = document.getElementById("tse");
  const rows = doc.tse
    ? [["TSE-Seriennummer", doc.tse.tse_serial], ["Transaktion", doc.tse.tse_tanr],
       ["Signaturzähler", doc.tse.tse_ta_sigz], ["Signatur", doc.tse.tse_ta_sig]]
    : [["TSE", "ausgefallen: " + (doc.tse_ta_fehler || "")]];
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = String(v);
    tse.append(dt, dd);
  }
  tse.hidden = false;
  if (!doc.qr) {
    show("bad", "Bon ohne TSE-Signatur (TSE ausgefallen)");
    return;
  }
  try {
    const ok = await checkSignature(doc.qr);
    const same = doc.tse && doc.qr.split(";")[10] === doc.tse.tse_ta_sig;
    if (ok && same) show("ok", "TSE-Signatur gültig");
    else show("bad", "TSE-Signatur ungültig");
  } catch (e) {
    show("bad", "TSE-Signatur nicht prüfbar: " + e.message);
  }
}

main();
