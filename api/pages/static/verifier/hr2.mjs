// The HR2 presentation format: "HR2:" + Base45(canonical CBOR array of 14; no zlib), with the 加注
// stamp. docs/spec/hr2-format.md. decodeHR2(text) returns a presentation object (shape only; the
// document and batch roots derived) or throws DecodeError. Text, zlib, CBOR, field and envelope
// rules are HR1's (hr1.mjs).

import {
  bytesOf, DecodeError, envelope, fail, fieldsOf, flagsOf, hashes, HR2_PATH_TABLE, itemOf, MAX_BATCH_PROOF_HASHES,
  MAX_MULTIPROOF_HASHES,
} from './hr1.mjs';
import {
  CanonicalError, digestOf, expandSignature, fieldLeaf, MultiproofError, processMultiproof, processProof,
  SUITE_GUOMI, SUITE_INTERNATIONAL,
} from './primitives.mjs';

export { DecodeError, SUITE_GUOMI, SUITE_INTERNATIONAL };

export const PREFIX = 'HR2:';
const STAMP_BYTES = 64;
const COMPACT_SIGNATURE_BYTES = 64;
// Suite 2's issuer signature: the SM2 key's registry id (20) || r (32) || s (32).
const SM2_ISSUER_SIGNATURE_BYTES = 84;

function derivedDocumentRoot(fields, proof, flags, h) {
  let leaves;
  try {
    leaves = fields.map((f) => fieldLeaf(f.salt, f.path, f.value, h));
  } catch (e) {
    if (e instanceof CanonicalError) throw fail(`a disclosed field cannot be hashed (RFC 8785): ${e.message}`);
    throw e;
  }
  try {
    return processMultiproof(leaves, proof, flags, h);
  } catch (e) {
    if (e instanceof MultiproofError) throw fail(`inconsistent multiproof: ${e.message}`);
    throw e;
  }
}

/** Decode an "HR2:" text into a presentation (shape only, roots derived). Throws DecodeError. */
export function decodeHR2(text) {
  const item = itemOf(text, PREFIX, false);
  if (!Array.isArray(item) || item.length !== 14) throw fail('the top-level item must be an array of 14');
  const [suite, rawFields, salts, rawProof, rawFlags, rawBatchProof, issuerSig, createdAt, ttl, nonce, purpose,
    audience, stamp, holderSig] = item;
  if (suite !== SUITE_INTERNATIONAL && suite !== SUITE_GUOMI) throw fail('unknown crypto suite (1 or 2)');
  const h = digestOf(suite);
  const fields = fieldsOf(rawFields, salts, HR2_PATH_TABLE, true);
  const proof = hashes(rawProof, MAX_MULTIPROOF_HASHES, 'multiproof');
  const flags = flagsOf(rawFlags, fields.length + proof.length - 1);
  const documentRoot = derivedDocumentRoot(fields, proof, flags, h);
  const batchProof = hashes(rawBatchProof, MAX_BATCH_PROOF_HASHES, 'batch proof');
  // Suite 2 keeps the 84 bytes as they are (key id || r || s): an SM2 key cannot be recovered.
  const issuerSignature = suite === SUITE_GUOMI
    ? bytesOf(issuerSig, SM2_ISSUER_SIGNATURE_BYTES, 'issuer signature (suite 2)')
    : expandSignature(bytesOf(issuerSig, COMPACT_SIGNATURE_BYTES, 'issuer signature'));
  const window = envelope(createdAt, ttl, nonce, purpose);
  if (audience !== null
    && !(typeof audience === 'number' && Number.isInteger(audience) && audience >= 100000 && audience <= 999999)) {
    throw fail('audience must be a six-digit region code or null');
  }
  if (stamp !== null) bytesOf(stamp, STAMP_BYTES, 'stamp');
  const holderSignature = holderSig === null ? null
    : expandSignature(bytesOf(holderSig, COMPACT_SIGNATURE_BYTES, 'holder signature'));
  return {
    format: 'HR2',
    version: 1,
    suite,
    fields,
    proof,
    flags,
    documentRoot,
    batchRoot: processProof(documentRoot, batchProof, h),
    batchProof,
    issuerSignature,
    ...window,
    nonce,
    purpose,
    audience,
    stamp,
    holderSignature,
  };
}
