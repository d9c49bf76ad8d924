// Hashing, canonical JSON, Merkle proofs and signatures (docs/spec/document-model.md), and the
// 加注 stamp (Ed25519 or SM2 over the message of docs/spec/hr2-format.md §7), in both crypto suites:
// suite 1 keccak-256 / secp256k1 / Ed25519, suite 2 (国密) SM3 / SM2 (GB/T 32918, signer ID
// 1234567812345678). keccak-256, secp256k1 and Ed25519 come from the audited @noble libraries,
// SM3 and SM2 from the `sm-crypto` package (no audited 国密 library exists for the browser; it is
// pinned exactly in package.json and cross-checked against GmSSL in tests/unit/common/): no crypto
// is written here. Node resolves the bare '@noble/...' and 'sm-crypto/dist/...' imports from
// node_modules (sm-crypto's dist files are UMD bundles, which Node loads as CommonJS); in the
// browser the pages' CSP refuses inline import maps, so the clerk page loads these modules from
// /pages/vendor/verifier/, where api/pages/vendor.py rewrites '@noble/' to the node's own
// /pages/vendor/noble-*/ paths and 'sm-crypto/dist/x.js' to /pages/vendor/sm-crypto/x.mjs (the
// same dist file, served as an ES module).

import { keccak_256 } from '@noble/hashes/sha3.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import sm3Hex from 'sm-crypto/dist/sm3.js';
import sm2Lib from 'sm-crypto/dist/sm2.js';
import { CborFloat } from './cbor.mjs';

export const keccak = (bytes) => keccak_256(bytes);
const enc = new TextEncoder();
export const utf8 = (s) => enc.encode(s);

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** SM3 (GB/T 32905) of bytes: 32 bytes. */
export const sm3 = (bytes) => fromHex(sm3Hex(bytes));

/** Crypto suites (hr2-format.md §2): the hash of leaves, trees, proofs and the stamp's inner digests. */
export const SUITE_INTERNATIONAL = 1;
export const SUITE_GUOMI = 2;
export function digestOf(suite) {
  if (suite === SUITE_INTERNATIONAL) return keccak;
  if (suite === SUITE_GUOMI) return sm3;
  throw new Error(`unknown crypto suite ${suite}`);
}
export function fromHex(text) {
  const h = text.startsWith('0x') ? text.slice(2) : text;
  if (h.length % 2 || !/^[0-9a-fA-F]*$/.test(h)) throw new Error(`not hex: ${text}`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
function compareBytes(a, b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** EIP-55 text of 20 address bytes. */
export function checksumAddress(bytes20) {
  const lower = hex(bytes20);
  const h = hex(keccak(utf8(lower)));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(h[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  return out;
}

// ------------------------------------------------------------------ RFC 8785 (JCS)

export class CanonicalError extends Error {}
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function jcsNumber(x) {
  if (!Number.isFinite(x) || x > MAX_SAFE || x < -MAX_SAFE) throw new CanonicalError('number outside ±(2^53 - 1)');
  return Object.is(x, -0) ? '0' : String(x); // ECMAScript Number.prototype.toString
}

/** RFC 8785 text of a decoded value (null, boolean, number, CborFloat, string, array, Map). */
export function jcs(v) {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'number') return jcsNumber(v);
  if (v instanceof CborFloat) return jcsNumber(v.value);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  if (v instanceof Map) {
    const keys = [...v.keys()].sort(); // UTF-16 code unit order
    return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(v.get(k))}`).join(',')}}`;
  }
  throw new CanonicalError('not a JSON value');
}

/** H(salt || utf8(path) || 0x00 || JCS(value)), H = keccak-256 (suite 1) or SM3 (suite 2). */
export function fieldLeaf(salt, path, value, h = keccak) {
  return h(concat(salt, utf8(path), new Uint8Array([0]), utf8(jcs(value))));
}

// ------------------------------------------------------------------ Merkle (OpenZeppelin; SM3 in suite 2)

const leafHash = (v, h) => h(h(v));
const hashPair = (a, b, h) => (compareBytes(a, b) < 0 ? h(concat(a, b)) : h(concat(b, a)));

export function verifyProof(root, value, proof, h = keccak) {
  return equalBytes(processProof(value, proof, h), root);
}

/** The root `proof` leads to from `value` (OpenZeppelin MerkleProof.processProof, double-hashed leaf). */
export function processProof(value, proof, h = keccak) {
  let node = leafHash(value, h);
  for (const s of proof) node = hashPair(node, s, h);
  return node;
}

export class MultiproofError extends Error {}

/**
 * The root a multiproof leads to (OpenZeppelin MerkleProof.processMultiProof over double-hashed
 * leaves). Throws MultiproofError where Solidity would read an unwritten hash or leave one unused.
 */
export function processMultiproof(leaves, proof, flags, h = keccak) {
  if (leaves.length + proof.length !== flags.length + 1) throw new MultiproofError('leaves + proof != flags + 1');
  const queue = leaves.map((v) => leafHash(v, h));
  let head = 0;
  let p = 0;
  for (const flag of flags) {
    if (head >= queue.length) throw new MultiproofError('consumes a hash it has not produced');
    const a = queue[head++];
    let b;
    if (flag) {
      if (head >= queue.length) throw new MultiproofError('consumes a hash it has not produced');
      b = queue[head++];
    } else {
      if (p >= proof.length) throw new MultiproofError('needs more proof hashes than it has');
      b = proof[p++];
    }
    queue.push(hashPair(a, b, h));
  }
  if (flags.length > 0) {
    if (p !== proof.length) throw new MultiproofError('leaves proof hashes unused');
    return queue[queue.length - 1];
  }
  return leaves.length > 0 ? queue[0] : proof[0];
}

export function verifyMultiproof(root, leaves, proof, flags, h = keccak) {
  try {
    return equalBytes(processMultiproof(leaves, proof, flags, h), root);
  } catch (e) {
    if (e instanceof MultiproofError) return false;
    throw e;
  }
}

// ------------------------------------------------------------------ EIP-712 and secp256k1

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const word = (n) => fromHex(BigInt(n).toString(16).padStart(64, '0'));
const DOMAIN_TYPEHASH = keccak(utf8('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'));
const ROOT_TYPEHASH = keccak(utf8('CertificateRoot(bytes32 documentRoot)'));
const HOLDER_TYPEHASH = keccak(utf8('HolderPresentation(uint8 version,bytes32 documentRoot,bytes32[] disclosedLeaves,'
  + 'bytes32[] multiproof,bool[] proofFlags,bytes32 batchRoot,bytes32[] batchProof,'
  + 'bytes issuerSignature,uint64 createdAt,uint64 expiresAt,bytes nonce,string purpose)'));

export function domainSeparator(chainId, verifyingContract) {
  return keccak(concat(DOMAIN_TYPEHASH, keccak(utf8('Huren')), keccak(utf8('1')), word(chainId),
    new Uint8Array(12), fromHex(verifyingContract)));
}

const typedDigest = (separator, structHash) => keccak(concat(new Uint8Array([0x19, 0x01]), separator, structHash));

export const documentDigest = (separator, documentRoot) =>
  typedDigest(separator, keccak(concat(ROOT_TYPEHASH, documentRoot)));

// HR2's holder signature also covers the suite and the audience (0 = any region), so a bound code
// made for one region cannot be stripped of its stamp and audience and shown elsewhere.
const HOLDER2_TYPEHASH = keccak(utf8('HolderPresentation2(uint8 suite,bytes32 documentRoot,bytes32[] disclosedLeaves,'
  + 'bytes32[] multiproof,bool[] proofFlags,bytes32 batchRoot,bytes32[] batchProof,'
  + 'bytes issuerSignature,uint64 createdAt,uint64 expiresAt,bytes nonce,string purpose,uint32 audience)'));

export function holderDigest(separator, p, leaves) {
  const hr2 = p.format === 'HR2';
  const tail = hr2 ? [word(p.audience ?? 0)] : [];
  return typedDigest(separator, keccak(concat(
    hr2 ? HOLDER2_TYPEHASH : HOLDER_TYPEHASH, word(hr2 ? p.suite : p.version), p.documentRoot,
    keccak(concat(...leaves)), keccak(concat(...p.proof)),
    keccak(concat(...p.flags.map((f) => word(f ? 1 : 0)))), p.batchRoot, keccak(concat(...p.batchProof)),
    keccak(p.issuerSignature), word(p.createdAt), word(p.expiresAt), keccak(p.nonce), keccak(utf8(p.purpose)),
    ...tail,
  )));
}

const toBig = (b) => (b.length ? BigInt(`0x${hex(b)}`) : 0n);

/** The 20 address bytes that made `sig` (r||s||v, v 27/28, 0<r<n, 0<s<=n/2) over `digest`, or null. */
export function recoverAddress(digest, sig) {
  if (!(sig instanceof Uint8Array) || sig.length !== 65) return null;
  const v = sig[64];
  if (v !== 27 && v !== 28) return null;
  const r = toBig(sig.subarray(0, 32));
  const s = toBig(sig.subarray(32, 64));
  if (!(r > 0n && r < N && s > 0n && s <= N / 2n)) return null;
  try {
    const recovered = secp256k1.Signature.fromBytes(concat(new Uint8Array([v - 27]), sig.subarray(0, 64)), 'recovered');
    const point = recovered.recoverPublicKey(digest);
    const uncompressed = point.toBytes(false);
    return keccak(uncompressed.subarray(1)).slice(12);
  } catch {
    return null;
  }
}

/** EIP-2098: the 65-byte r || s || v (v 27/28) of a 64-byte r || (yParity << 255 | s). */
export function expandSignature(compact) {
  const out = new Uint8Array(65);
  out.set(compact.subarray(0, 64));
  out[32] &= 0x7f;
  out[64] = 27 + (compact[32] >> 7);
  return out;
}

// ------------------------------------------------------------------ SM2 (suite 2)

/** The order n of the SM2 recommended curve (GB/T 32918.5). */
export const SM2_N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
/** The signer ID of Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA): the GM/T 0009 default. */
export const SM2_SIGNER_ID = '1234567812345678';
const SM2_DOCUMENT_TAG = utf8('huren-document/2');

/** What a suite-2 issuer signs with SM2: "huren-document/2" || domain separator (32) || document root (32). */
export const sm2DocumentMessage = (separator, documentRoot) => concat(SM2_DOCUMENT_TAG, separator, documentRoot);

/** True iff r and s of a 64-byte r || s both lie in [1, n - 1] (checked here, not left to the library). */
export function sm2RangeOk(rs) {
  if (!(rs instanceof Uint8Array) || rs.length !== 64) return false;
  const r = toBig(rs.subarray(0, 32));
  const s = toBig(rs.subarray(32, 64));
  return r >= 1n && r < SM2_N && s >= 1n && s < SM2_N;
}

/**
 * True iff `rs` (64 bytes r || s) is the SM2 signature of `message` by `publicKey` (65 bytes
 * 04 || x || y, a point on the curve): the signed digest is SM3(Z || message), Z with SM2_SIGNER_ID.
 */
export function verifySM2(rs, message, publicKey) {
  if (!sm2RangeOk(rs) || !(publicKey instanceof Uint8Array) || publicKey.length !== 65 || publicKey[0] !== 4) {
    return false;
  }
  try {
    return sm2Lib.doVerifySignature(message, hex(rs), hex(publicKey),
      { hash: true, der: false, userId: SM2_SIGNER_ID }) === true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ the 加注 stamp (Ed25519 / SM2)

const STAMP_TAG = utf8('huren-stamp/1\u0000');
const be = (n, bytes) => fromHex(BigInt(n).toString(16).padStart(2 * bytes, '0'));

/**
 * The bytes a stamp signs (hr2-format.md §7): tag, suite, domain separator, region, document root,
 * batch root, H(disclosed leaves), created_at (8), ttl (4), H(nonce), H(utf8 purpose), audience
 * (4, 0 = any); integers big-endian; H the suite's hash (keccak-256, or SM3 in suite 2).
 */
export function stampMessage(p, separator, region, leaves) {
  const h = digestOf(p.suite);
  return concat(STAMP_TAG, new Uint8Array([p.suite]), separator, be(region, 4), p.documentRoot, p.batchRoot,
    h(concat(...leaves)), be(p.createdAt, 8), be(p.expiresAt - p.createdAt, 4), h(p.nonce),
    h(utf8(p.purpose)), be(p.audience ?? 0, 4));
}

/** True iff `signature` (64 bytes) is `publicKey`'s Ed25519 signature of `message` (RFC 8032, strict encodings). */
export function verifyEd25519(signature, message, publicKey) {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
