// Crypto suite 2 (国密) in the JavaScript verifier (api/pages/static/verifier/primitives.mjs): SM3 and
// SM2 come from the pinned sm-crypto package; these tests pin the standards' SM3 vectors, the SM2
// range rule the verifier applies itself, and the issuer-signature message of hr2-format.md.
// The conformance vectors (vectors.test.mjs, `suite2/…`) test the checks. Run: node --test tests/js/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  concat, domainSeparator, fromHex, hex, SM2_N, sm2DocumentMessage, sm2RangeOk, sm3, utf8, verifySM2,
} from '../../api/pages/static/verifier/primitives.mjs';
import { decode } from '../../api/pages/static/verifier/huren-verify.mjs';

const word = (n) => fromHex(n.toString(16).padStart(64, '0'));
const vector = JSON.parse(readFileSync(new URL('../vectors/hr2/suite2--valid.json', import.meta.url), 'utf8'));

test('sm3 gives the GB/T 32905 example digests', () => {
  assert.equal(hex(sm3(utf8('abc'))), '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
  assert.equal(hex(sm3(utf8('abcd'.repeat(16)))), 'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
});

test('sm2 r and s must lie in [1, n - 1]', () => {
  const one = word(1n);
  assert.ok(sm2RangeOk(concat(one, word(SM2_N - 1n))));
  assert.ok(!sm2RangeOk(concat(word(0n), one)));
  assert.ok(!sm2RangeOk(concat(one, word(0n))));
  assert.ok(!sm2RangeOk(concat(word(SM2_N), one)));
  assert.ok(!sm2RangeOk(concat(one, word(SM2_N))));
  assert.ok(!sm2RangeOk(new Uint8Array(63)));
});

test('a suite-2 issuer signature verifies over tag, domain separator and document root only', () => {
  const p = decode(vector.code);
  const keyId = `0x${hex(p.issuerSignature.subarray(0, 20))}`;
  const entry = vector.facts.keys.find((k) => k.address.toLowerCase() === keyId);
  const publicKey = fromHex(entry.sm2PublicKey);
  const separator = domainSeparator(vector.policy.domain.chainId, vector.policy.domain.verifyingContract);
  const rs = p.issuerSignature.subarray(20);
  const message = sm2DocumentMessage(separator, p.documentRoot);
  assert.equal(message.length, 80);
  assert.ok(verifySM2(rs, message, publicKey));
  assert.ok(!verifySM2(rs, concat(utf8('huren-document/1'), message.subarray(16)), publicKey));
  assert.ok(!verifySM2(rs, p.documentRoot, publicKey));
  assert.ok(!verifySM2(rs, message, publicKey.subarray(1)), 'a 64-byte key without the 04 prefix is refused');
});
