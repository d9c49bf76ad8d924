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
// Hashing, canonical JSON, Merkle proofs and the HolderPresentation digest come from the clerk's
// verifier module (one implementation, in both crypto suites: keccak-256 or SM3 for the leaves and
// trees of a 国密 certificate; the digest itself is EIP-712 in both, docs/spec/hr2-format.md §10.5).
import { secp256k1 } from "/pages/vendor/noble-curves/secp256k1.js";
import {
  checksumAddress, concat, digestOf, domainSeparator, fieldLeaf, fromHex, hex, holderDigest, keccak as k,
  processMultiproof, processProof,
} from "/pages/vendor/verifier/primitives.mjs";

const enc = new TextEncoder();
const ALWAYS = ["version", "id", "type", "issuer.creditCode", "issuer.region", "validFrom", "validUntil"];
const HOLDER_ADDRESS = "holder.address";

function unhex(text) {
  if (!/^(0x)?([0-9a-fA-F]{2})*$/.test(text)) throw new Error("十六进制格式无效");
  return fromHex(text);
}
const word = (n) => unhex(BigInt(n).toString(16).padStart(64, "0"));
const addressOf = (secret) => checksumAddress(k(secp256k1.getPublicKey(secret, false).subarray(1)).subarray(12));

/** A field value as the node sent it (JSON), in the form the shared canonical encoder takes (Maps). */
function decoded(v) {
  if (Array.isArray(v)) return v.map(decoded);
  if (v !== null && typeof v === "object") return new Map(Object.entries(v).map(([key, x]) => [key, decoded(x)]));
  return v;
}

// ---------------------------------------------------------------- EIP-712

const typeHash = (t) => k(enc.encode(t));
const BINDING = typeHash("HolderBinding(string certificateId,bytes32 documentRoot,address holder,uint64 signedAt)");
const separator = (panel) => domainSeparator(panel.dataset.chainId, panel.dataset.contract);
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
  const hr2 = parts.format === 2;
  if (hr2 && parts.audience !== null) throw new Error("出示码限定了使用地区，本页不签这种出示码");
  const h = digestOf(hr2 ? parts.suite : 1); // SM3 for a 国密 (suite 2) certificate
  const leaves = fields.map((f) => fieldLeaf(unhex(f.salt), f.path, decoded(f.value), h));
  const proof = parts.proof.map(unhex);
  const batchProof = parts.batch_proof.map(unhex);
  const documentRoot = processMultiproof(leaves, proof, parts.flags, h);
  return holderDigest(separator(panel), {
    format: hr2 ? "HR2" : "HR1", suite: parts.suite, version: parts.version, audience: 0, documentRoot, proof,
    flags: parts.flags, batchRoot: processProof(documentRoot, batchProof, h), batchProof,
    issuerSignature: unhex(parts.issuer_signature), createdAt: parts.created_at, expiresAt: parts.expires_at,
    nonce: unhex(parts.nonce), purpose: parts.purpose,
  }, leaves);
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
