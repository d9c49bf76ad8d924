// Huren's second verifier (issue 16): presentation code + chain facts + policy + now -> verdict,
// written from docs/spec/ (verification.md §3 gives the checks in order). Pure: no network, no
// clock, no storage; the caller passes the facts (a trust snapshot object, chain-facts.md §9, or
// null when none can be had) and the time. Runs in Node (tests/js/vectors.test.mjs) and in the
// browser (see primitives.mjs for how its '@noble/...' imports must be served there).
//
//   import { verifyText } from '/pages/static/verifier/huren-verify.mjs';
//   const result = verifyText(code, facts, policy, Math.floor(Date.now() / 1000));
//   result.verdict, result.checks  // [{name, ok, detail, verdict}], the first failure decides
//
// Formats are decoders registered by prefix in FORMATS: HR2 (hr2.mjs, with the 加注 stamp) and
// HR1 (hr1.mjs, legacy: only a holder-signed HR1 code can be VALID). Both crypto suites: 1
// (keccak-256, secp256k1 issuer signatures, Ed25519 stamps) and 2 (国密: SM3, SM2 issuer signatures
// verified with the registry's SM2 public key for the key id the code names, SM2 stamps).

import { DecodeError, decodeHR1, PREFIX as HR1_PREFIX } from './hr1.mjs';
import { decodeHR2, PREFIX as HR2_PREFIX } from './hr2.mjs';
import {
  CanonicalError, checksumAddress, digestOf, documentDigest, domainSeparator, equalBytes, fieldLeaf, fromHex, hex,
  holderDigest, keccak, recoverAddress, sm2DocumentMessage, sm2RangeOk, stampMessage, SUITE_GUOMI,
  SUITE_INTERNATIONAL, utf8, verifyEd25519, verifyMultiproof, verifyProof, verifySM2,
} from './primitives.mjs';

export { DecodeError };

/** Presentation formats by prefix: each decodes a text to a presentation or throws DecodeError. */
export const FORMATS = new Map([[HR2_PREFIX, decodeHR2], [HR1_PREFIX, decodeHR1]]);

/** Registry numbers (chain-facts.md §8): algorithm 1 = Ed25519, 16 = SM2 with SM3 (suite 2). */
const ED25519 = 1;
const SM2_SM3 = 16;
/** The stamping-key algorithm of each crypto suite (a key of the other suite never vouches for a code). */
const STAMP_ALGORITHM = new Map([[SUITE_INTERNATIONAL, ED25519], [SUITE_GUOMI, SM2_SM3]]);
/** The suites a policy reads when it does not say (verification.md §2). */
const DEFAULT_SUITES = [SUITE_INTERNATIONAL, SUITE_GUOMI];

export const VERDICTS = ['VALID', 'TAMPERED', 'NOT_ANCHORED', 'PENDING_FINALITY', 'UNKNOWN_ISSUER',
  'ISSUER_NOT_AUTHORISED', 'ISSUER_REVOKED', 'REVOKED', 'SUSPENDED', 'EXPIRED', 'NOT_YET_VALID', 'NOT_RECOGNISED',
  'PRESENTATION_EXPIRED', 'HOLDER_BINDING_FAILED', 'MALFORMED', 'UNAVAILABLE'];

const ALWAYS_DISCLOSED = ['version', 'id', 'type', 'issuer.creditCode', 'issuer.region', 'validFrom', 'validUntil'];
const USCC = /^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$/;
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Decode with the format named by the text's prefix; DecodeError for anything else. */
export function decode(text) {
  if (typeof text !== 'string') throw new DecodeError('a presentation code must be text');
  for (const [prefix, decoder] of FORMATS) if (text.startsWith(prefix)) return decoder(text);
  const shape = /^[A-Z]{2,3}[0-9]{1,2}:/.exec(text);
  throw new DecodeError(shape ? `unknown version prefix ${shape[0]}` : 'not a Huren presentation code');
}

// ------------------------------------------------------------------ dates (China time, UTC+8)

// Days since 1970-01-01 of a proleptic Gregorian date (civil-from-days inverse), or null.
function dayNumber(text) {
  if (typeof text !== 'string' || !DATE.test(text)) return null;
  const y = Number(text.slice(0, 4));
  const m = Number(text.slice(5, 7));
  const d = Number(text.slice(8, 10));
  if (y < 1 || m < 1 || m > 12 || d < 1) return null;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (d > lengths[m - 1]) return null;
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export const chinaDay = (t) => Math.floor((t + 28800) / 86400);

// ------------------------------------------------------------------ facts (trust-snapshot form)

class ChainUnavailable extends Error {}

/** Questions the checks ask, answered from a trust-snapshot object (chain-facts.md §9) or null. */
export class FactsView {
  constructor(facts) {
    this.facts = facts;
  }

  need() {
    if (this.facts == null) throw new ChainUnavailable('no chain facts (no node, no snapshot)');
    return this.facts;
  }

  freshness() {
    const f = this.need();
    return { height: f.height, headTime: f.headTime, source: 'snapshot' };
  }

  anchor(batchRoot) {
    const f = this.need();
    const want = `0x${hex(batchRoot)}`;
    const a = f.anchors.find((x) => x.batchRoot.toLowerCase() === want);
    return a ? { ...a, confirmations: Math.max(0, f.height - a.blockNumber + 1) } : null;
  }

  issuer(issuerId) {
    return this.need().issuers.find((x) => x.issuerId.toLowerCase() === issuerId.toLowerCase()) ?? null;
  }

  key(address) {
    return this.need().keys.find((x) => x.address.toLowerCase() === address.toLowerCase()) ?? null;
  }

  certificateStatus(certHash, issuerId) {
    const s = this.need().certificateStatuses.find((x) => x.certHash.toLowerCase() === `0x${hex(certHash)}`
      && x.issuerId.toLowerCase() === issuerId.toLowerCase());
    return s ?? { status: 'NONE', since: 0 };
  }

  type(typeCode) {
    return this.need().types.find((x) => x.typeCode === typeCode) ?? null;
  }

  /** The region's stamping keys whose window holds `at` (a BigInt); every `stampKeys` entry has purpose stamping. */
  stampKeys(region, at) {
    const keys = this.need().stampKeys;
    if (!Array.isArray(keys)) throw new ChainUnavailable('the facts carry no stampKeys (a snapshot older than format /2)');
    return keys.filter((k) => k.region === region && BigInt(k.validFrom) <= at
      && (k.validUntil === null || at < BigInt(k.validUntil)));
  }

  recognition(verifierRegion, typeCode, issuerRegion, at) {
    const rules = this.need().recognition;
    for (const region of [issuerRegion, 0]) {
      const rule = rules.find((r) => r.verifierRegion === verifierRegion && r.typeCode === typeCode
        && r.issuerRegion === region && inForce(r, at));
      if (rule) return rule;
    }
    return null;
  }
}

// A key or rule window [validFrom, validUntil); validUntil null = open (the snapshot form).
const inForce = (w, t) => w.validFrom <= t && (w.validUntil === null || t < w.validUntil);

// ------------------------------------------------------------------ the checks

class Run {
  constructor() {
    this.checks = [];
    this.verdict = null;
  }

  pass(name, detail = '') {
    this.checks.push({ name, ok: true, detail, verdict: null });
    return true;
  }

  fail(name, verdict, detail) {
    this.checks.push({ name, ok: false, detail, verdict });
    this.verdict = verdict;
    return false;
  }
}

// Check 0: the code's crypto suite is one this deployment reads (a local policy, like recognition).
function cryptoSuite(run, p, policy) {
  const suites = policy.suites ?? DEFAULT_SUITES;
  const label = p.suite === SUITE_GUOMI ? '国密（SM2 / SM3）' : '国际算法（keccak-256 / secp256k1）';
  if (!suites.includes(p.suite)) return run.fail('crypto_suite', 'NOT_RECOGNISED', `suite ${p.suite} not read here`);
  return run.pass('crypto_suite', label);
}

function structure(run, p) {
  const name = 'structure';
  const M = 'MALFORMED';
  if (p.version !== 1) return run.fail(name, M, 'presentation version');
  const d = new Map(p.fields.map((f) => [f.path, f.value]));
  const missing = ALWAYS_DISCLOSED.filter((x) => !d.has(x));
  if (missing.length) return run.fail(name, M, `missing ${missing.join(', ')}`);
  if (d.get('version') !== 1) return run.fail(name, M, 'document version');
  const id = d.get('id');
  if (typeof id !== 'string' || id === '') return run.fail(name, M, 'id');
  const type = d.get('type');
  if (typeof type !== 'string' || type === '' || type.length > 32 || !/^[\u0001-\u007f]*$/.test(type)) {
    return run.fail(name, M, 'type');
  }
  const credit = d.get('issuer.creditCode');
  if (typeof credit !== 'string' || !USCC.test(credit)) return run.fail(name, M, 'issuer.creditCode');
  const region = d.get('issuer.region');
  if (typeof region !== 'number' || !Number.isInteger(region) || region < 100000 || region > 999999) {
    return run.fail(name, M, 'issuer.region');
  }
  const fromDay = dayNumber(d.get('validFrom'));
  if (fromDay === null) return run.fail(name, M, 'validFrom');
  const until = d.get('validUntil');
  let untilDay = null;
  if (until !== null) {
    untilDay = dayNumber(until);
    if (untilDay === null) return run.fail(name, M, 'validUntil');
    if (untilDay < fromDay) return run.fail(name, M, 'validUntil before validFrom');
  }
  run.core = { type, credit, region, fromDay, untilDay };
  return run.pass(name);
}

function window(run, p, now, policy) {
  const name = 'presentation_window';
  const skew = BigInt(policy.clock_skew_s);
  const t = BigInt(now);
  if (p.createdAt > t + skew) return run.fail(name, 'MALFORMED', 'made in the future');
  if (p.expiresAt <= p.createdAt) return run.fail(name, 'MALFORMED', 'expires before it was made');
  if (p.expiresAt + skew < t) return run.fail(name, 'PRESENTATION_EXPIRED', 'expired');
  if (t - p.createdAt > BigInt(policy.max_presentation_age_s) + skew) {
    return run.fail(name, 'PRESENTATION_EXPIRED', 'older than the maximum age');
  }
  return run.pass(name);
}

function disclosure(run, p) {
  const name = 'disclosure_proof';
  const h = digestOf(p.suite);
  try {
    run.leaves = p.fields.map((f) => fieldLeaf(f.salt, f.path, f.value, h));
  } catch (e) {
    if (e instanceof CanonicalError) return run.fail(name, 'MALFORMED', `cannot canonicalise: ${e.message}`);
    throw e;
  }
  if (!verifyMultiproof(p.documentRoot, run.leaves, p.proof, p.flags, h)) {
    return run.fail(name, 'TAMPERED', 'the disclosed fields are not the document\'s');
  }
  return run.pass(name);
}

// Suite 1: the signer is recovered from the signature. Suite 2: only the form is checked here (the
// key id, then r and s in [1, n-1]); the SM2 signature is verified at sm2_issuer_signature with the
// public key the registry holds for that key id.
function issuerSignature(run, p, separator) {
  const name = 'issuer_signature';
  let raw;
  if (p.suite === SUITE_GUOMI) {
    const sig = p.issuerSignature;
    raw = sig.length === 84 && sm2RangeOk(sig.subarray(20)) ? sig.subarray(0, 20) : null;
    if (raw === null) return run.fail(name, 'TAMPERED', 'suite-2 issuer signature: r or s outside [1, n-1]');
  } else {
    raw = recoverAddress(documentDigest(separator, p.documentRoot), p.issuerSignature);
    if (raw === null) return run.fail(name, 'TAMPERED', 'invalid issuer signature');
  }
  run.signer = checksumAddress(raw);
  const named = p.fields.find((f) => f.path === 'issuer.signingAddress');
  if (named && named.value !== null) {
    // 40 hex digits, with or without a 0x / 0X prefix, any letter case (as the reference reads it).
    const v = typeof named.value === 'string' ? named.value.replace(/^0[xX]/, '') : null;
    if (v === null || !/^[0-9a-fA-F]{40}$/.test(v) || v.toLowerCase() !== hex(raw)) {
      return run.fail(name, 'TAMPERED', 'signed by another key than issuer.signingAddress');
    }
  }
  return run.pass(name, run.signer);
}

function holderBinding(run, p, separator, policy) {
  const name = 'holder_binding';
  const F = 'HOLDER_BINDING_FAILED';
  const field = p.fields.find((f) => f.path === 'holder.address');
  if (!field || field.value === null) {
    if (p.holderSignature !== null) return run.fail(name, F, 'a holder signature without holder.address');
    if (policy.require_holder_binding) return run.fail(name, F, 'holder binding required');
    return run.pass(name, 'unbound');
  }
  const address = field.value;
  if (typeof address !== 'string' || !ADDRESS.test(address)) return run.fail(name, F, 'holder.address malformed');
  if (p.holderSignature === null) return run.fail(name, F, 'no holder signature');
  const signer = recoverAddress(holderDigest(separator, p, run.leaves), p.holderSignature);
  if (signer === null || !equalBytes(signer, fromHex(address))) return run.fail(name, F, 'not the bound holder');
  run.holderBound = true;
  return run.pass(name, 'bound');
}

// Check 7: something authenticates the window and 事由 (a stamp, checked at 9, or the bound holder's signature).
function stampPresent(run, p, policy) {
  const name = 'stamp';
  const PE = 'PRESENTATION_EXPIRED';
  if (p.format === 'HR1' && !policy.accept_hr1) return run.fail(name, PE, 'HR1 codes are not accepted here');
  if (p.stamp !== null) return run.pass(name, 'stamped (the key is checked against the registry at check 9)');
  if (p.audience !== null) return run.fail(name, PE, 'an audience without a stamp');
  if (run.holderBound) return run.pass(name, 'unstamped; the window and purpose are covered by the holder signature');
  return run.fail(name, PE, 'neither a stamp nor a holder signature covers the window and purpose');
}

// Check 9 (stamped codes only): a stamping key of the disclosed region valid at created_at signed exactly this envelope.
function stampSignature(run, p, view, policy, separator) {
  const name = 'stamp_signature';
  const region = run.core.region;
  const keys = view.stampKeys(region, p.createdAt);
  if (keys.length === 0) return run.fail(name, 'TAMPERED', `no stamping key of region ${region} valid at created_at`);
  const message = stampMessage(p, separator, region, run.leaves);
  const algorithm = STAMP_ALGORITHM.get(p.suite);
  const verifies = (k) => (algorithm === ED25519 ? verifyEd25519(p.stamp, message, fromHex(k.publicKey))
    : verifySM2(p.stamp, message, fromHex(k.publicKey)));
  const key = keys.find((k) => k.algorithm === algorithm && k.suite === p.suite && verifies(k));
  if (!key) return run.fail(name, 'TAMPERED', 'the stamp does not match this code (changed, or stamped elsewhere)');
  if (p.audience !== null && p.audience !== policy.region) {
    return run.fail(name, 'PRESENTATION_EXPIRED', `the code is for region ${p.audience}`);
  }
  return run.pass(name, `stamped by ${key.keyId}`);
}

// Suite 2 only, just before signing_key: the SM2 signature over "huren-document/2" || domain
// separator || document root verifies under the SM2 public key the registry holds for the key id.
function sm2IssuerSignature(run, p, key, separator) {
  const name = 'sm2_issuer_signature';
  if (key === null) return run.fail(name, 'TAMPERED', 'the key id names no registered key');
  if (typeof key.sm2PublicKey !== 'string') return run.fail(name, 'TAMPERED', 'not a registered SM2 key');
  const message = sm2DocumentMessage(separator, p.documentRoot);
  if (!verifySM2(p.issuerSignature.subarray(20), message, fromHex(key.sm2PublicKey))) {
    return run.fail(name, 'TAMPERED', 'the SM2 signature does not verify');
  }
  return run.pass(name, run.signer);
}

function keyCheck(run, name, key, anchor, unknownVerdict) {
  if (key === null) return run.fail(name, unknownVerdict, 'not a registered key');
  if (key.issuerId.toLowerCase() !== anchor.issuerId.toLowerCase()) {
    return run.fail(name, 'ISSUER_NOT_AUTHORISED', 'another issuer\'s key');
  }
  if (!inForce(key, anchor.timestamp)) return run.fail(name, 'ISSUER_NOT_AUTHORISED', 'key not valid at anchor time');
  return run.pass(name);
}

function chainChecks(run, p, view, policy, now, separator) {
  const core = run.core;
  const fresh = view.freshness();
  run.freshness = fresh;
  const age = Math.max(0, now - fresh.headTime);
  if (fresh.headTime <= 0 || age > policy.max_facts_age_s) {
    return run.fail('status_freshness', 'UNAVAILABLE', `facts ${age} s old, bound ${policy.max_facts_age_s} s`);
  }
  run.pass('status_freshness');
  if (p.stamp !== null && !stampSignature(run, p, view, policy, separator)) return false;
  const anchor = view.anchor(p.batchRoot);
  if (anchor === null) return run.fail('anchor', 'NOT_ANCHORED', 'batch root not anchored');
  run.anchor = anchor;
  run.pass('anchor');
  if (`0x${hex(keccak(utf8(core.credit)))}` !== anchor.issuerId.toLowerCase()) {
    return run.fail('issuer_identity', 'TAMPERED', 'issuer.creditCode is not the anchoring issuer');
  }
  run.pass('issuer_identity');
  run.typeName = view.type(core.type)?.name ?? null;
  if (core.type !== anchor.typeCode) return run.fail('certificate_type', 'TAMPERED', 'type is not the anchored type');
  run.pass('certificate_type');
  if (anchor.confirmations < policy.confirmations) {
    return run.fail('finality', 'PENDING_FINALITY', `${anchor.confirmations} of ${policy.confirmations} confirmations`);
  }
  run.pass('finality');
  const issuer = view.issuer(anchor.issuerId);
  if (issuer === null) return run.fail('issuer_registered', 'UNKNOWN_ISSUER', 'issuer not registered');
  run.issuer = issuer;
  run.pass('issuer_registered');
  const signingKey = view.key(run.signer);
  if (p.suite === SUITE_GUOMI && !sm2IssuerSignature(run, p, signingKey, separator)) return false;
  if (!keyCheck(run, 'signing_key', signingKey, anchor, 'TAMPERED')) return false;
  if (!keyCheck(run, 'anchoring_key', view.key(anchor.key), anchor, 'ISSUER_NOT_AUTHORISED')) return false;
  if (core.region !== issuer.region) return run.fail('issuer_region', 'ISSUER_NOT_AUTHORISED', 'region differs');
  run.pass('issuer_region');
  const revokedFrom = issuer.revokedFrom ?? (issuer.status === 'REVOKED' ? issuer.statusSince : null);
  if (revokedFrom !== null && revokedFrom <= anchor.timestamp) {
    return run.fail('issuer_standing', 'ISSUER_REVOKED', 'issuer revoked at or before the anchor');
  }
  run.pass('issuer_standing');
  const status = view.certificateStatus(p.documentRoot, anchor.issuerId).status;
  if (status === 'REVOKED') return run.fail('certificate_status', 'REVOKED', 'revoked');
  if (status === 'SUSPENDED') return run.fail('certificate_status', 'SUSPENDED', 'suspended');
  run.pass('certificate_status');
  const today = chinaDay(now);
  if (today < core.fromDay) return run.fail('validity_period', 'NOT_YET_VALID', 'not yet valid');
  if (core.untilDay !== null && today > core.untilDay) return run.fail('validity_period', 'EXPIRED', 'expired');
  run.pass('validity_period');
  if (issuer.region !== policy.region) {
    const rule = view.recognition(policy.region, core.type, issuer.region, now);
    const applies = rule !== null && rule.verifierRegion === policy.region && rule.typeCode === core.type
      && (rule.issuerRegion === issuer.region || rule.issuerRegion === 0) && inForce(rule, now);
    if (!applies) return run.fail('recognition', 'NOT_RECOGNISED', 'not recognised in this region');
  }
  return run.pass('recognition');
}

/**
 * Verify a presentation code. `facts`: a trust-snapshot object (or null: chain unreachable);
 * `policy`: {region, domain: {chainId, verifyingContract}, confirmations, clock_skew_s,
 * max_presentation_age_s, max_facts_age_s, require_holder_binding, accept_hr1, suites}, `suites`
 * the crypto suites read here (default [1, 2]); `now`: unix seconds.
 */
export function verifyText(text, facts, policy, now) {
  const run = new Run();
  let p;
  try {
    p = decode(text);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    run.fail('decode', 'MALFORMED', e.message);
    return result(run, null);
  }
  const separator = domainSeparator(policy.domain.chainId, policy.domain.verifyingContract);
  const ok = cryptoSuite(run, p, policy) && structure(run, p) && window(run, p, now, policy) && disclosure(run, p)
    && (verifyProof(p.batchRoot, p.documentRoot, p.batchProof, digestOf(p.suite)) ? run.pass('batch_proof')
      : run.fail('batch_proof', 'TAMPERED', 'the document root is not in the batch'))
    && issuerSignature(run, p, separator) && holderBinding(run, p, separator, policy) && stampPresent(run, p, policy);
  if (ok) {
    try {
      chainChecks(run, p, new FactsView(facts), policy, now, separator);
    } catch (e) {
      if (!(e instanceof ChainUnavailable)) throw e;
      run.fail('chain_access', 'UNAVAILABLE', e.message);
    }
  }
  return result(run, p);
}

function result(run, p) {
  return {
    verdict: run.verdict ?? 'VALID',
    checks: run.checks,
    disclosed: p ? Object.fromEntries(p.fields.map((f) => [f.path, f.value])) : {},
    purpose: p ? p.purpose : null,
    holderBound: Boolean(run.holderBound),
    format: p ? p.format : null,
    stamped: p ? p.stamp !== null : false,
    audience: p ? p.audience : null,
    anchor: run.anchor ?? null,
    issuer: run.issuer ?? null,
    typeName: run.typeName ?? null,
    freshness: run.freshness ?? null,
  };
}
