// 持证人密钥 (issue 15, item 2): the holder's key is made on this device and never leaves it.
//
// Key: secp256k1 (the audited @noble/curves, served by this app), kept in this browser's
// IndexedDB, one key per certificate (so two certificates' codes cannot be linked by address).
// Why not a non-extractable WebCrypto P-256 key, which a script in the page could use but not
// copy: the binding the verifiers check (both the engine and the JavaScript verifier) is
// holder.address + an EIP-712 secp256k1 signature, 64 bytes in the code; P-256 would need the
// binding generalised to (algorithm, public key) in the document, both verifiers and the format.
// The trade-off (README "Holder binding"): a script that runs in this origin can read this key;
// the pages allow only their own scripts (CSP script-src 'self').
//
// Binding: the page signs HolderBinding(certificateId, documentRoot, holder, signedAt) (EIP-712,
// domain "Huren" v1) and the node relays it to the department, which re-issues the certificate
// bound to the key. Presenting a bound certificate: the node makes a stamped code without a holder
// signature and sends its parts; this page checks them (its certificate, its address, the fields
// chosen, the 事由 typed, a window of minutes), computes the HolderPresentation digest itself
// from them — it never signs a digest it is handed — and sends back only the signature.
import { keccak_256 } from "/pages/vendor/noble-hashes/sha3.js";
import { secp256k1 } from "/pages/vendor/noble-curves/secp256k1.js";

const enc = new TextEncoder();
const ALWAYS = ["version", "id", "type", "issuer.creditCode", "issuer.region", "validFrom", "validUntil"];
const HOLDER_ADDRESS = "holder.address";

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
function unhex(text) {
  const s = text.startsWith("0x") ? text.slice(2) : text;
  if (s.length % 2 || /[^0-9a-fA-F]/.test(s)) throw new Error("十六进制格式无效");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
  return out;
}
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
const k = (b) => keccak_256(b);
const word = (n) => unhex(BigInt(n).toString(16).padStart(64, "0"));
function compare(a, b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

function checksum(bytes20) {
  const lower = hex(bytes20);
  const h = hex(k(enc.encode(lower)));
  let out = "0x";
  for (let i = 0; i < 40; i++) out += parseInt(h[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  return out;
}
const addressOf = (secret) => checksum(k(secp256k1.getPublicKey(secret, false).subarray(1)).subarray(12));

// RFC 8785 for JSON values as JSON.parse gives them (docs/spec/document-model.md).
function jcs(v) {
  if (v === null || v === true || v === false) return String(v);
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) && !Number.isFinite(v)) throw new Error("数值无效");
    return Object.is(v, -0) ? "0" : String(v);
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return "[" + v.map(jcs).join(",") + "]";
  const keys = Object.keys(v).sort();
  return "{" + keys.map((key) => JSON.stringify(key) + ":" + jcs(v[key])).join(",") + "}";
}
const fieldLeaf = (f) => k(concat(unhex(f.salt), enc.encode(f.path), Uint8Array.of(0), enc.encode(jcs(f.value))));
const leafHash = (v) => k(k(v));
const pair = (a, b) => (compare(a, b) < 0 ? k(concat(a, b)) : k(concat(b, a)));

function multiproofRoot(leaves, proof, flags) { // OpenZeppelin processMultiProof, double-hashed leaves
  if (leaves.length + proof.length !== flags.length + 1) throw new Error("证明结构不一致");
  const queue = leaves.map(leafHash);
  let head = 0, p = 0;
  for (const flag of flags) {
    const a = queue[head++];
    const b = flag ? queue[head++] : proof[p++];
    if (a === undefined || b === undefined) throw new Error("证明结构不一致");
    queue.push(pair(a, b));
  }
  if (flags.length === 0) return leaves.length ? queue[0] : proof[0];
  if (p !== proof.length) throw new Error("证明结构不一致");
  return queue[queue.length - 1];
}

// ---------------------------------------------------------------- EIP-712

const typeHash = (t) => k(enc.encode(t));
const DOMAIN = typeHash("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
const BINDING = typeHash("HolderBinding(string certificateId,bytes32 documentRoot,address holder,uint64 signedAt)");
const PRESENTATION = typeHash("HolderPresentation(uint8 version,bytes32 documentRoot,bytes32[] disclosedLeaves,"
  + "bytes32[] multiproof,bool[] proofFlags,bytes32 batchRoot,bytes32[] batchProof,"
  + "bytes issuerSignature,uint64 createdAt,uint64 expiresAt,bytes nonce,string purpose)");
// Format HR2: the holder signature also covers the crypto suite and the audience (0 = any region).
const PRESENTATION2 = typeHash("HolderPresentation2(uint8 suite,bytes32 documentRoot,bytes32[] disclosedLeaves,"
  + "bytes32[] multiproof,bool[] proofFlags,bytes32 batchRoot,bytes32[] batchProof,"
  + "bytes issuerSignature,uint64 createdAt,uint64 expiresAt,bytes nonce,string purpose,uint32 audience)");

function separator(panel) {
  return k(concat(DOMAIN, k(enc.encode("Huren")), k(enc.encode("1")), word(panel.dataset.chainId),
    new Uint8Array(12), unhex(panel.dataset.contract)));
}
const typed = (panel, struct) => k(concat(Uint8Array.of(0x19, 0x01), separator(panel), k(struct)));

function sign(digest, secret) { // r || s || v, low s (noble's default)
  const sig = secp256k1.sign(digest, secret, { prehash: false, format: "recovered" });
  return "0x" + hex(concat(sig.subarray(1), Uint8Array.of(27 + sig[0])));
}

// ---------------------------------------------------------------- IndexedDB

function db() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("huren-wallet", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("holder-keys");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}
async function store(mode, act) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction("holder-keys", mode);
    const req = act(tx.objectStore("holder-keys"));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  });
}
const loadKey = (certId) => store("readonly", (s) => s.get(certId));
const saveKey = (certId, record) => store("readwrite", (s) => s.put(record, certId));

// ---------------------------------------------------------------- presenting

/** The page's checks of the node's parts, then the digest computed here. Throws in words. */
function presentationDigest(panel, parts, expect) {
  const fields = parts.fields;
  const byPath = Object.fromEntries(fields.map((f) => [f.path, f.value]));
  if (byPath.id !== expect.certId) throw new Error("出示码不是这份证照的");
  if (byPath[HOLDER_ADDRESS] !== expect.address) throw new Error("出示码中的持证人地址不是本机密钥的地址");
  const allowed = new Set([...ALWAYS, HOLDER_ADDRESS, ...expect.paths]);
  const extra = fields.map((f) => f.path).filter((p) => !allowed.has(p));
  if (extra.length) throw new Error("出示码含有您没有选择的信息：" + extra.join("、"));
  if (parts.purpose !== expect.purpose) throw new Error("出示码的事由与您填写的不一致");
  const now = Date.now() / 1000;
  if (Math.abs(parts.created_at - now) > 600 || parts.expires_at - parts.created_at > 3600
      || parts.expires_at <= parts.created_at) throw new Error("出示码的有效时间异常（请检查手机时间）");
  const leaves = fields.map(fieldLeaf);
  const proof = parts.proof.map(unhex);
  const documentRoot = multiproofRoot(leaves, proof, parts.flags);
  let batchRoot = leafHash(documentRoot);
  for (const h of parts.batch_proof.map(unhex)) batchRoot = pair(batchRoot, h);
  const hr2 = parts.format === 2;
  if (hr2 && parts.audience !== null) throw new Error("出示码限定了使用地区，本页不签这种出示码");
  return typed(panel, concat(hr2 ? PRESENTATION2 : PRESENTATION, word(hr2 ? parts.suite : parts.version), documentRoot, k(concat(...leaves)), k(concat(...proof)),
    k(concat(...parts.flags.map((f) => word(f ? 1 : 0)))), batchRoot, k(concat(...parts.batch_proof.map(unhex))),
    k(unhex(parts.issuer_signature)), word(parts.created_at), word(parts.expires_at), k(unhex(parts.nonce)),
    k(enc.encode(parts.purpose)), hr2 ? word(0) : new Uint8Array(0)));
}

async function post(url, data) {
  const r = await fetch(url, { method: "POST", body: data, credentials: "same-origin",
    headers: { "X-Requested-With": "huren-page" } });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ? body.error.message : "服务器拒绝（" + r.status + "）");
  return body;
}

/** Sign a bound code for `form` (csrf, preset/fields, purpose): the form data to post to the signed URL. */
async function present(panel, form) {
  const record = await loadKey(panel.dataset.certId);
  if (!record) throw new Error("本机没有这份证照的持证人密钥");
  const data = new FormData(form);
  const made = await post(panel.dataset.unsignedUrl, data);
  const digest = presentationDigest(panel, made.parts, { certId: panel.dataset.certId, address: record.address,
    paths: data.getAll("fields").map(String), purpose: String(data.get("purpose") || "").trim() });
  const signed = new FormData();
  for (const name of ["csrf", "purpose"]) signed.set(name, data.get(name));
  for (const path of data.getAll("fields")) signed.append("fields", path);
  signed.set("presentation", made.presentation);
  signed.set("holder_signature", sign(digest, record.secret));
  return signed;
}

// ---------------------------------------------------------------- page

const panel = document.getElementById("holder-key");
if (panel) {
  const status = document.getElementById("holder-key-status");
  const say = (text, bad) => { status.textContent = text; status.className = bad ? "field-error" : "muted"; };
  const record = await loadKey(panel.dataset.certId).catch(() => null);
  const bound = panel.dataset.bound;
  const bindButton = document.getElementById("bind-key");
  if (bound && record && record.address === bound) {
    panel.dataset.ready = "1";
    say("本机持有这份证照的持证人密钥（" + bound + "）。出示码在本机签名，窗口可确认是您本人出示。");
  } else if (bound) {
    say("这份证照已绑定另一台设备上的密钥（" + bound + "）。本机生成的出示码不带持证人签名。", false);
  } else if (bindButton) {
    bindButton.hidden = false;
    say("尚未绑定持证人密钥：本证照的出示码不带持证人签名。");
    bindButton.addEventListener("click", async () => {
      bindButton.disabled = true;
      try {
        say("正在本机生成密钥并签署绑定声明……");
        const secret = secp256k1.utils.randomSecretKey();
        const address = addressOf(secret);
        const signedAt = Math.floor(Date.now() / 1000);
        const digest = typed(panel, concat(BINDING, k(enc.encode(panel.dataset.certId)), unhex(panel.dataset.root),
          new Uint8Array(12), unhex(address), word(signedAt)));
        const data = new FormData();
        data.set("csrf", panel.dataset.csrf);
        data.set("address", address);
        data.set("signed_at", String(signedAt));
        data.set("signature", sign(digest, secret));
        const made = await post(panel.dataset.bindUrl, data);
        await saveKey(made.cert_id, { secret, address, at: signedAt }); // the bound (new) version's id
        say("已绑定：发证部门换发了绑定本机密钥的新版本，上链后即可出示。");
        location.assign(made.next);
      } catch (e) {
        bindButton.disabled = false;
        say("未能绑定：" + e.message, true);
      }
    });
  }
  window.hurenHolder = {
    ready: () => panel.dataset.ready === "1",
    refresh: async (form) => post(panel.dataset.signedUrl, await present(panel, form)),
  };
  panel.dataset.script = "1"; // listeners attached (tests wait for this)
  const choose = document.getElementById("choose-form");
  if (choose && panel.dataset.ready === "1") {
    choose.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const signed = await present(panel, choose);
        const go = document.createElement("form");
        go.method = "post";
        go.action = panel.dataset.signedUrl;
        for (const [name, value] of signed.entries()) {
          const input = document.createElement("input");
          input.type = "hidden"; input.name = name; input.value = String(value);
          go.appendChild(input);
        }
        document.body.appendChild(go);
        go.submit();
      } catch (e) {
        say("未能生成出示码：" + e.message, true);
      }
    });
  }
}
