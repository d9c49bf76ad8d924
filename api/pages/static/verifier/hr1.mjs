// The HR1 presentation format: "HR1:" + Base45(zlib(canonical CBOR array of 14)).
// docs/spec/hr1-format.md. decodeHR1(text) returns a presentation object (shape only) or
// throws DecodeError. HR2 (hr2.mjs) shares the text, zlib, CBOR, field and envelope rules
// exported here and is registered next to HR1 in huren-verify.mjs's FORMATS table.

import { CborError, CborFloat, decodeCanonical } from './cbor.mjs';
import { inflateZlib, InflateError } from './inflate.mjs';
import { checksumAddress } from './primitives.mjs';

export class DecodeError extends Error {}

export const PREFIX = 'HR1:';
const MAX_TEXT_CHARS = 4096;
const MAX_INFLATED = 8192;
const MAX_FIELDS = 64;
const MAX_MULTIPROOF = 64;
const MAX_BATCH_PROOF = 32;
const MAX_PATH_CHARS = 128;
const MAX_VALUE_TEXT = 1024;
const MAX_DEPTH = 8;
const MAX_ITEMS = 256;
const MAX_TTL = 86400n;
const PURPOSE_MAX = 200;
export const PATH_TABLE = ['version', 'id', 'type', 'issuer.creditCode', 'issuer.region', 'validFrom', 'validUntil',
  'issuer.name', 'issuer.signingAddress', 'holder.name', 'holder.idType', 'holder.idNumber', 'holder.address',
  'issuedAt'];
// HR2's table: HR1's, then the catalogue's claim paths as frozen when HR2 was defined
// (hr2-format.md; verifier/codec.py HR2_PATH_TABLE). Append-only within HR2.
export const HR2_PATH_TABLE = PATH_TABLE.concat([
  'claims.address',
  'claims.awardDate',
  'claims.awardingInstitution',
  'claims.birthDate',
  'claims.buildingArea',
  'claims.businessScope',
  'claims.cardNumber',
  'claims.certificateNumber',
  'claims.coOwnership',
  'claims.creditCode',
  'claims.degreeCategory',
  'claims.degreeLevel',
  'claims.discipline',
  'claims.domicile',
  'claims.entityName',
  'claims.entityType',
  'claims.establishedDate',
  'claims.ethnicity',
  'claims.father.age',
  'claims.father.ethnicity',
  'claims.father.idNumber',
  'claims.father.name',
  'claims.father.nationality',
  'claims.fileNumber',
  'claims.firstIssueDate',
  'claims.holderName',
  'claims.idNumber',
  'claims.issueDate',
  'claims.issuingAuthority',
  'claims.issuingInstitution',
  'claims.issuingRegion',
  'claims.landArea',
  'claims.legalRepresentative',
  'claims.licenceNumber',
  'claims.location',
  'claims.major',
  'claims.mother.age',
  'claims.mother.ethnicity',
  'claims.mother.idNumber',
  'claims.mother.name',
  'claims.mother.nationality',
  'claims.name',
  'claims.nationality',
  'claims.newborn.birthDateTime',
  'claims.newborn.birthPlace',
  'claims.newborn.birthRegion',
  'claims.newborn.gestationalWeeks',
  'claims.newborn.institution',
  'claims.newborn.lengthCm',
  'claims.newborn.name',
  'claims.newborn.sex',
  'claims.newborn.weightGrams',
  'claims.operationCategory',
  'claims.registeredCapital',
  'claims.registrationAuthority',
  'claims.registrationDate',
  'claims.rightHolder',
  'claims.rightNature',
  'claims.rightType',
  'claims.sex',
  'claims.socialSecurityNumber',
  'claims.spouseA.birthDate',
  'claims.spouseA.idNumber',
  'claims.spouseA.name',
  'claims.spouseA.nationality',
  'claims.spouseA.sex',
  'claims.spouseB.birthDate',
  'claims.spouseB.idNumber',
  'claims.spouseB.name',
  'claims.spouseB.nationality',
  'claims.spouseB.sex',
  'claims.termOfUse',
  'claims.unitNumber',
  'claims.usage',
  'claims.vehicleClass',
]);
const ID_ROOT = '1.2.156.3005.2.';
const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
// C0, DEL, C1, and the bidi formatting characters (hr1-format.md §6).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

export const fail = (message) => new DecodeError(message);
export const codePoints = (s) => { let n = 0; for (const _ of s) n++; return n; };
export const unsafeText = (s) => UNSAFE.test(s);

function base45(body) {
  if (body.length === 0) throw fail('nothing after the prefix');
  const values = new Array(body.length);
  for (let i = 0; i < body.length; i++) {
    const v = B45.indexOf(body[i]);
    if (v < 0) throw fail(`character ${JSON.stringify(body[i])} is not Base45`);
    values[i] = v;
  }
  if (body.length % 3 === 1) throw fail('bad Base45 length');
  const out = new Uint8Array(Math.floor(body.length / 3) * 2 + (body.length % 3 === 2 ? 1 : 0));
  let o = 0;
  let i = 0;
  for (; i + 3 <= values.length; i += 3) {
    const n = values[i] + 45 * values[i + 1] + 2025 * values[i + 2];
    if (n > 0xffff) throw fail('Base45 group exceeds 65535');
    out[o++] = n >> 8;
    out[o++] = n & 0xff;
  }
  if (i < values.length) {
    const n = values[i] + 45 * values[i + 1];
    if (n > 0xff) throw fail('final Base45 pair exceeds 255');
    out[o++] = n;
  }
  return out;
}

export const isBytes = (v) => v instanceof Uint8Array;
export const isUint = (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'bigint' && v >= 0n);

export function bytesOf(v, length, what) {
  if (!isBytes(v) || v.length !== length) throw fail(`${what} must be ${length} bytes`);
  return v;
}

export function hashes(v, limit, what) {
  if (!isBytes(v) || v.length % 32 !== 0) throw fail(`${what} must be 32-byte hashes`);
  if (v.length / 32 > limit) throw fail(`${what}: more than ${limit} hashes`);
  const out = [];
  for (let i = 0; i < v.length; i += 32) out.push(v.slice(i, i + 32));
  return out;
}

function path(raw, n, table) {
  if (typeof raw === 'number' && Number.isInteger(raw)) {
    if (raw < 0 || raw >= table.length) throw fail(`field ${n}: path index ${raw} is not in the table`);
    return table[raw];
  }
  if (typeof raw !== 'string') throw fail(`field ${n}: path must be an index or text`);
  if (table.includes(raw)) throw fail(`field path ${raw} must be sent as its index`);
  const chars = codePoints(raw);
  if (chars === 0 || chars > MAX_PATH_CHARS || raw.split('.').some((p) => p === '') || unsafeText(raw)) {
    throw fail(`field ${n}: malformed path`);
  }
  return raw;
}

// The checksummed address if `text` is exactly an EIP-55 address text, else null.
function compactableAddress(text) {
  if (text.length !== 42 || !text.startsWith('0x') || !/^[0-9a-fA-F]{40}$/.test(text.slice(2))) return null;
  return checksumAddress(hexBytes(text.slice(2))) === text ? text : null;
}

function hexBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function value(raw, depth, p, compactAddress = true) {
  if (raw === null || raw === true || raw === false) return raw;
  if (typeof raw === 'string') {
    if (codePoints(raw) > MAX_VALUE_TEXT) throw fail(`field ${p}: text too long`);
    if (depth === 0 && compactAddress && compactableAddress(raw) !== null) {
      throw fail(`field ${p}: a checksummed address must travel as 20 bytes`);
    }
    return raw;
  }
  if (typeof raw === 'number') return raw; // integers within ±(2^53 - 1) (the CBOR layer)
  if (typeof raw === 'bigint') throw fail(`field ${p}: integer outside ±(2^53 - 1)`);
  if (raw instanceof CborFloat) return raw; // finite (the CBOR layer refuses NaN and infinity)
  if (isBytes(raw)) {
    if (depth === 0 && raw.length === 20) return checksumAddress(raw);
    throw fail(`field ${p}: unexpected byte string`);
  }
  if (Array.isArray(raw) || raw instanceof Map) {
    if (depth >= MAX_DEPTH) throw fail(`field ${p}: nested too deep`);
    const size = Array.isArray(raw) ? raw.length : raw.size;
    if (size > MAX_ITEMS) throw fail(`field ${p}: too many items`);
    if (Array.isArray(raw)) return raw.map((x) => value(x, depth + 1, p));
    const out = new Map();
    for (const [k, v] of raw) {
      if (codePoints(k) > MAX_PATH_CHARS) throw fail(`field ${p}: object key too long`);
      out.set(k, value(v, depth + 1, p));
    }
    return out;
  }
  throw fail(`field ${p}: not a JSON value`);
}

function idPrefix(fields) {
  const t = fields.find((f) => f.path === 'type');
  const c = fields.find((f) => f.path === 'issuer.creditCode');
  if (!t || !c || typeof t.value !== 'string' || typeof c.value !== 'string') return null;
  return `${ID_ROOT}${t.value}.${c.value}.`;
}

const printableAscii = (s) => { for (const ch of s) { const c = ch.codePointAt(0); if (c < 0x21 || c > 0x7e) return false; } return true; };

function expandId(fields) {
  const field = fields.find((f) => f.path === 'id');
  if (!field) return;
  const prefix = idPrefix(fields);
  if (!isBytes(field.value)) {
    const v = field.value;
    if (prefix !== null && typeof v === 'string' && v.startsWith(prefix)) {
      const tail = v.slice(prefix.length);
      if (tail.length > 0 && tail.length <= 64 && printableAscii(tail)) throw fail("field 'id' must travel in its compact form");
    }
    return;
  }
  if (prefix === null) throw fail("compact 'id' needs 'type' and 'issuer.creditCode' as text");
  const tail = field.value;
  if (tail.length < 1 || tail.length > 64 || tail.some((b) => b < 0x21 || b > 0x7e)) {
    throw fail("compact 'id' must be 1..64 printable ASCII bytes");
  }
  field.value = prefix + String.fromCharCode(...tail);
}

// The fields every code shows (verification.md, structure); in HR2 their salts may be short.
const ALWAYS = new Set(['version', 'id', 'type', 'issuer.creditCode', 'issuer.region', 'validFrom', 'validUntil']);

// Each field's 16-byte salt. HR2 (shortAllowed): when every always-disclosed field's salt is a
// tweak byte then 15 zero bytes, those fields send the tweak only; the length says which form
// was sent, and the long form is refused when the short one was possible (hr2-format.md).
function splitSalts(salts, paths, shortAllowed) {
  if (!isBytes(salts)) throw fail('salts must be a byte string');
  const count = paths.length;
  const always = paths.filter((p) => ALWAYS.has(p)).length;
  const full = 16 * count;
  const short = full - 15 * always;
  const out = [];
  if (shortAllowed && always > 0 && salts.length === short) {
    let at = 0;
    for (const p of paths) {
      if (ALWAYS.has(p)) {
        const s = new Uint8Array(16);
        s[0] = salts[at];
        out.push(s);
        at += 1;
      } else {
        out.push(salts.slice(at, at + 16));
        at += 16;
      }
    }
    return out;
  }
  if (salts.length !== full) throw fail('salts must be 16 bytes per field (or the short form in HR2)');
  for (let n = 0; n < count; n++) out.push(salts.slice(16 * n, 16 * n + 16));
  const isShort = (s) => s.subarray(1).every((b) => b === 0);
  if (shortAllowed && always > 0 && paths.every((p, n) => !ALWAYS.has(p) || isShort(out[n]))) {
    throw fail('the always-disclosed fields\' salts must travel in their short form');
  }
  return out;
}

export function fieldsOf(raw, salts, table = PATH_TABLE, shortAllowed = false) {
  if (!Array.isArray(raw)) throw fail('fields must be an array');
  if (raw.length % 2) throw fail('fields must be path, value pairs');
  const count = raw.length / 2;
  if (count < 1 || count > MAX_FIELDS) throw fail(`field count must be 1..${MAX_FIELDS}`);
  if (!isBytes(salts)) throw fail('salts must be a byte string');
  const paths = [];
  const seen = new Set();
  for (let n = 0; n < count; n++) {
    const p = path(raw[2 * n], n + 1, table);
    if (seen.has(p)) throw fail(`duplicate field ${p}`);
    seen.add(p);
    paths.push(p);
  }
  const saltOf = splitSalts(salts, paths, shortAllowed);
  const fields = [];
  for (let n = 0; n < count; n++) {
    const p = paths[n];
    const rv = raw[2 * n + 1];
    const v = p === 'id' ? (isBytes(rv) ? rv : value(rv, 0, p, false)) : value(rv, 0, p);
    fields.push({ path: p, value: v, salt: saltOf[n] });
  }
  expandId(fields);
  return fields;
}

export function flagsOf(raw, count) {
  if (!isBytes(raw)) throw fail('proof flags must be bytes');
  if (count < 0) throw fail('empty multiproof');
  if (raw.length !== Math.ceil(count / 8)) throw fail('proof flags length');
  const flags = [];
  for (let i = 0; i < count; i++) flags.push((raw[i >> 3] & (0x80 >> (i & 7))) !== 0);
  if (count % 8 && (raw[raw.length - 1] & (0xff >> (count % 8)))) throw fail('proof flags padding bits');
  return flags;
}

/** The CBOR item of a text with `prefix` (length, prefix, Base45, zlib, canonical CBOR). Throws DecodeError. */
export function itemOf(text, prefix, compressed = true) {
  if (typeof text !== 'string') throw fail('a presentation code must be text');
  if (codePoints(text) > MAX_TEXT_CHARS) throw fail('too long');
  if (!text.startsWith(prefix)) throw fail(`not an ${prefix.slice(0, -1)} code`);
  let raw;
  try {
    const body = base45(text.slice(prefix.length));
    raw = compressed ? inflateZlib(body, MAX_INFLATED) : body; // HR2 sends the CBOR without zlib
  } catch (e) {
    if (e instanceof InflateError) throw fail(`zlib: ${e.message}`);
    throw e;
  }
  try {
    return decodeCanonical(raw);
  } catch (e) {
    if (e instanceof CborError) throw fail(`CBOR: ${e.message}`);
    throw e;
  }
}

/** created_at, ttl, nonce, purpose as both formats carry them; returns {createdAt, expiresAt} as BigInt. */
export function envelope(createdAt, ttl, nonce, purpose) {
  if (!isUint(createdAt) || BigInt(createdAt) >= 2n ** 63n) throw fail('created_at');
  if (!isUint(ttl) || BigInt(ttl) < 1n || BigInt(ttl) > MAX_TTL) throw fail('ttl');
  if (!isBytes(nonce) || nonce.length < 8 || nonce.length > 16) throw fail('nonce must be 8..16 bytes');
  if (typeof purpose !== 'string' || codePoints(purpose) > PURPOSE_MAX || unsafeText(purpose)) throw fail('purpose');
  return { createdAt: BigInt(createdAt), expiresAt: BigInt(createdAt) + BigInt(ttl) };
}

export const MAX_MULTIPROOF_HASHES = MAX_MULTIPROOF;
export const MAX_BATCH_PROOF_HASHES = MAX_BATCH_PROOF;

/** Decode an "HR1:" text into a presentation (shape only). Throws DecodeError. */
export function decodeHR1(text) {
  const item = itemOf(text, PREFIX);
  if (!Array.isArray(item) || item.length !== 14) throw fail('the top-level item must be an array of 14');
  const [version, rawFields, salts, rawProof, rawFlags, docRoot, batchRoot, rawBatchProof, issuerSig, createdAt, ttl,
    nonce, purpose, holderSig] = item;
  if (version !== 1) throw fail('unsupported presentation version');
  const fields = fieldsOf(rawFields, salts);
  const proof = hashes(rawProof, MAX_MULTIPROOF, 'multiproof');
  const flags = flagsOf(rawFlags, fields.length + proof.length - 1);
  bytesOf(docRoot, 32, 'document root');
  bytesOf(batchRoot, 32, 'batch root');
  const batchProof = hashes(rawBatchProof, MAX_BATCH_PROOF, 'batch proof');
  bytesOf(issuerSig, 65, 'issuer signature');
  const window = envelope(createdAt, ttl, nonce, purpose);
  if (holderSig !== null) bytesOf(holderSig, 65, 'holder signature');
  return {
    format: 'HR1',
    version: 1,
    suite: 1,
    fields,
    proof,
    flags,
    documentRoot: docRoot,
    batchRoot,
    batchProof,
    issuerSignature: issuerSig,
    ...window,
    nonce,
    purpose,
    holderSignature: holderSig,
    audience: null,
    stamp: null,
  };
}
