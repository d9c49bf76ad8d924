// The clerk page's offline mode, its pure part (api/pages/static/clerk-offline-core.mjs): the signed
// snapshot is opened only when the configured publisher signed it for this deployment, and the
// verdict the clerk reads never says VALID on facts older than the bound. Run: node --test tests/js/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  checksumAddress, concat, domainSeparator, fromHex, keccak, recoverAddress, utf8,
} from '../../api/pages/static/verifier/primitives.mjs';
import { VERDICTS, decode, verifyText } from '../../api/pages/static/verifier/huren-verify.mjs';
import {
  SnapshotRefused, bannerText, offlineView, openSignedSnapshot, policyFor,
} from '../../api/pages/static/clerk-offline-core.mjs';

const CRYPTO = { keccak, utf8, concat, fromHex, domainSeparator, recoverAddress, checksumAddress };
const json = (path) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
const signed = json('./fixtures/signed-snapshot.json');
const vector = (id) => json(`../vectors/hr2/${id}.json`);

const WORDS = {
  verdicts: Object.fromEntries(VERDICTS.map((v) => [v, { label: `L-${v}`, advice: `A-${v}`, outcome: v === 'VALID' ? 'valid' : 'x' }])),
  headlines: {}, checks: {}, outcomes: {}, sources: { snapshot: '离线可信名录' },
};
const configFor = (policy) => ({ words: WORDS, policy, types: {}, regions: {}, issuerNames: {}, icons: {} });

test('a snapshot signed by the configured publisher opens', () => {
  const snap = openSignedSnapshot(signed.text, signed.publisher, signed.domain, CRYPTO);
  assert.equal(snap.height, 120);
  assert.equal(snap.issuers.length, 1);
});

test('a snapshot signed by another key is refused', () => {
  assert.throws(() => openSignedSnapshot(signed.text, '0x' + '33'.repeat(20), signed.domain, CRYPTO), SnapshotRefused);
});

test('a snapshot changed after signing is refused', () => {
  const changed = signed.text.replace('"height":120', '"height":121');
  assert.notEqual(changed, signed.text);
  assert.throws(() => openSignedSnapshot(changed, signed.publisher, signed.domain, CRYPTO), /签名无效/);
});

test("another deployment's snapshot is refused", () => {
  const other = { ...signed.domain, chainId: 1 };
  assert.throws(() => openSignedSnapshot(signed.text, signed.publisher, other, CRYPTO), /不属于本系统部署/);
});

test('a file that is not signature-then-snapshot JSON is refused', () => {
  assert.throws(() => openSignedSnapshot(JSON.stringify(JSON.parse(signed.text), null, 1), signed.publisher,
    signed.domain, CRYPTO), /格式不对/);
});

test('facts older than the offline bound read UNAVAILABLE, not VALID', () => {
  const v = vector('freshness--age-equals-bound');
  assert.equal(verifyText(v.code, v.facts, v.policy, v.now).verdict, 'VALID');
  const later = v.now + 1;
  const result = verifyText(v.code, v.facts, v.policy, later);
  const view = offlineView(result, configFor(v.policy), v.facts, later);
  assert.equal(view.code, 'UNAVAILABLE');
  assert.match(view.reason, /离线可信名录的最新区块/);
  assert.match(bannerText(v.facts, later, v.policy.max_facts_age_s), /^应急模式：离线核验，名录时间 .+前。名录已超过/);
});

test('a batch missing from the kept list reads UNAVAILABLE, not NOT_ANCHORED', () => {
  const v = vector('not-anchored');
  const result = verifyText(v.code, v.facts, v.policy, v.now);
  assert.equal(result.verdict, 'NOT_ANCHORED');
  const view = offlineView(result, configFor(v.policy), v.facts, v.now);
  assert.equal(view.code, 'UNAVAILABLE');
  assert.match(view.reason, /离线可信名录中没有该证照所属批次/);
});

test('holder binding is required for a code of a type the policy names', () => {
  const v = vector('freshness--age-equals-bound');
  const decoded = decode(v.code);
  const type = decoded.fields.find((f) => f.path === 'type').value;
  assert.equal(policyFor({ ...v.policy, holder_binding_types: [type] }, decoded).require_holder_binding, true);
  assert.equal(policyFor({ ...v.policy, holder_binding_types: ['X'] }, decoded).require_holder_binding, false);
  const bound = policyFor({ ...v.policy, holder_binding_types: [type] }, decoded);
  assert.equal(verifyText(v.code, v.facts, bound, v.now).verdict, 'HOLDER_BINDING_FAILED');
});

test("each check reads in the server's plain words, the verifier's technical detail beside it", () => {
  const v = vector('disclosure--value-changed');
  const result = verifyText(v.code, v.facts, v.policy, v.now);
  const failed = result.checks.find((c) => !c.ok);
  const words = { ...WORDS, results: { [failed.name]: ['一致', '出示的信息与证照原件不符（内容被改动）'] } };
  const view = offlineView(result, { ...configFor(v.policy), words }, v.facts, v.now);
  const shown = view.checks.find((c) => c.id === failed.name);
  assert.equal(shown.detail, '出示的信息与证照原件不符（内容被改动）');
  assert.equal(shown.technical, failed.detail);
});
