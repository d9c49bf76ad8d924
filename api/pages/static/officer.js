// 区域管理: the officer's key lives on the officer's device. This script opens the officer's own
// encrypted keystore (Ethereum V3 JSON: scrypt or PBKDF2, AES-128-CTR, keccak MAC) in the page,
// keeps the key in this page's memory only (never stored, never sent), and signs each proposal
// or approval as EIP-712 typed data (domain "Huren Consortium" v1, as ledger/officer_acts.py).
// Forms then carry only the nonce, the deadline and the signature; the node checks and relays.
// Crypto comes from the audited @noble libraries, served by this app (api/pages/vendor.py).
import { keccak_256 } from "/pages/vendor/noble-hashes/sha3.js";
import { scryptAsync } from "/pages/vendor/noble-hashes/scrypt.js";
import { pbkdf2Async } from "/pages/vendor/noble-hashes/pbkdf2.js";
import { sha256 } from "/pages/vendor/noble-hashes/sha2.js";
import { secp256k1 } from "/pages/vendor/noble-curves/secp256k1.js";

const panel = document.getElementById("signing-key");
const state = { key: null, address: null };
const enc = new TextEncoder();

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
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
function word(n) { // uint256, big-endian, 32 bytes
  return unhex(BigInt(n).toString(16).padStart(64, "0"));
}
function addressWord(a) {
  return concat(new Uint8Array(12), unhex(a));
}
function addressOf(privateKey) {
  const pub = secp256k1.getPublicKey(privateKey, false);
  return "0x" + hex(keccak_256(pub.subarray(1)).subarray(12));
}
function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

// ---------------------------------------------------------------- keystore (V3)

async function decryptKeystore(json, passphrase) {
  const c = json.crypto || json.Crypto;
  if (json.version !== 3 || !c || c.cipher !== "aes-128-ctr") throw new Error("不是以太坊 V3 密钥文件");
  const p = c.kdfparams;
  const password = enc.encode(passphrase.normalize("NFKD"));
  const salt = unhex(p.salt);
  let dk;
  if (c.kdf === "scrypt") {
    dk = await scryptAsync(password, salt, { N: p.n, r: p.r, p: p.p, dkLen: p.dklen });
  } else if (c.kdf === "pbkdf2" && p.prf === "hmac-sha256") {
    dk = await pbkdf2Async(sha256, password, salt, { c: p.c, dkLen: p.dklen });
  } else {
    throw new Error("不支持的密钥派生方式：" + c.kdf);
  }
  const ciphertext = unhex(c.ciphertext);
  if (!sameBytes(keccak_256(concat(dk.subarray(16, 32), ciphertext)), unhex(c.mac))) {
    throw new Error("口令不正确（或密钥文件已损坏）");
  }
  const aes = await crypto.subtle.importKey("raw", dk.subarray(0, 16), "AES-CTR", false, ["decrypt"]);
  const plain = await crypto.subtle.decrypt({ name: "AES-CTR", counter: unhex(c.cipherparams.iv), length: 128 },
    aes, ciphertext);
  dk.fill(0);
  return new Uint8Array(plain);
}

// ---------------------------------------------------------------- EIP-712

const DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
const TYPES = {
  Approve: "Approve(uint256 id,address officer,uint256 nonce,uint256 deadline)",
  ProposeRegional:
    "ProposeRegional(uint32 region,address target,bytes data,address officer,uint256 nonce,uint256 deadline)",
};

function digest(structHash) {
  const domain = keccak_256(concat(
    keccak_256(enc.encode(DOMAIN_TYPE)), keccak_256(enc.encode("Huren Consortium")), keccak_256(enc.encode("1")),
    word(panel.dataset.chainId), addressWord(panel.dataset.consortium)));
  return keccak_256(concat(unhex("1901"), domain, structHash));
}

function sign(structHash) {
  const sig = secp256k1.sign(digest(structHash), state.key, { prehash: false, format: "recovered" });
  return "0x" + hex(concat(sig.subarray(1), Uint8Array.of(27 + sig[0]))); // r || s || v
}

function approveHash(id, nonce, deadline) {
  return keccak_256(concat(keccak_256(enc.encode(TYPES.Approve)), word(id), addressWord(state.address), word(nonce),
    word(deadline)));
}

function proposeHash(region, target, data, nonce, deadline) {
  return keccak_256(concat(keccak_256(enc.encode(TYPES.ProposeRegional)), word(region), addressWord(target),
    keccak_256(unhex(data)), addressWord(state.address), word(nonce), word(deadline)));
}

// ---------------------------------------------------------------- page

const status = document.getElementById("key-status");
function say(text, bad) {
  status.textContent = text;
  status.className = bad ? "field-error" : "muted";
}

function deadline() {
  return Math.floor(Date.now() / 1000) + 600; // 10 minutes to reach the chain
}

function fill(form, fields) {
  for (const [name, value] of Object.entries(fields)) {
    let input = form.querySelector(`input[name="${name}"]`);
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = String(value);
  }
}

document.getElementById("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = document.getElementById("key-file").files[0];
  const pass = document.getElementById("key-pass");
  if (!file) { say("请选择您的密钥文件（.json）。", true); return; }
  say("正在本机解密密钥文件……", false);
  try {
    const key = await decryptKeystore(JSON.parse(await file.text()), pass.value);
    const address = addressOf(key);
    if (address.toLowerCase() !== panel.dataset.officer.toLowerCase()) {
      key.fill(0);
      throw new Error(`此密钥文件属于 ${address}，不是当前登录的管理员 ${panel.dataset.officer}`);
    }
    state.key = key;
    state.address = address;
    pass.value = "";
    document.getElementById("key-file").value = "";
    say(`已在本页打开您的签名密钥（${address}）。密钥只在本页内存中，关闭或刷新页面即清除，不会发送给服务器。`, false);
    panel.dataset.open = "1";
  } catch (e) {
    pass.value = "";
    say("无法打开密钥文件：" + e.message, true);
  }
});

function nonce() {
  if (panel.dataset.nonce === "") throw new Error("链节点暂时不可用，无法取得签名序号。请稍后刷新本页。");
  return Number(panel.dataset.nonce);
}

for (const form of document.querySelectorAll("form.approve-form")) {
  form.addEventListener("submit", (event) => {
    if (!state.key) return; // the node refuses an unsigned post, in words
    event.preventDefault();
    try {
      const n = nonce();
      const d = deadline();
      const id = form.querySelector("input[name=proposal_id]").value;
      fill(form, { nonce: n, deadline: d, signature: sign(approveHash(id, n, d)) });
      form.submit();
    } catch (e) {
      say("签名失败：" + e.message, true);
    }
  });
}

const propose = document.getElementById("propose-form");
propose.addEventListener("submit", async (event) => {
  if (!state.key || propose.dataset.signed === "1") return; // unsigned: the node checks the fields and refuses
  event.preventDefault();
  try {
    const reply = await fetch("/pages/officer/propose/prepare", { method: "POST", body: new FormData(propose),
      credentials: "same-origin" });
    if (reply.status === 422) { propose.dataset.signed = "1"; propose.submit(); return; } // errors shown by the node
    if (!reply.ok) throw new Error(`服务器拒绝（${reply.status}）`);
    const call = await reply.json();
    const n = nonce();
    const d = deadline();
    fill(propose, { nonce: n, deadline: d, signature: sign(proposeHash(call.region, call.target, call.data, n, d)) });
    propose.dataset.signed = "1";
    propose.submit();
  } catch (e) {
    say("签名失败：" + e.message, true);
  }
});
