// The JavaScript verifier (api/pages/static/verifier/huren-verify.mjs) against every
// conformance vector (tests/vectors/hr2 and hr1; format in tests/vectors/README.md). Run: node --test tests/js/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { VERDICTS, verifyText } from '../../api/pages/static/verifier/huren-verify.mjs';

const SETS = ['hr2', 'hr1'];
const load = (set) => {
  const dir = fileURLToPath(new URL(`../vectors/${set}/`, import.meta.url));
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
};

for (const set of SETS) {
  const vectors = load(set);

  test(`${set}: the vectors are there and cover every verdict`, () => {
    assert.ok(vectors.length > 100);
    assert.deepEqual(new Set(vectors.map((v) => v.expected.verdict)), new Set(VERDICTS));
  });

  for (const v of vectors) {
    test(`${set}/${v.id}`, () => {
      const result = verifyText(v.code, v.facts, v.policy, v.now);
      const failed = result.checks.filter((c) => !c.ok).map((c) => c.name);
      assert.deepEqual(
        { verdict: result.verdict, check: failed.length ? failed[failed.length - 1] : null },
        v.expected,
        `${v.description} — checks: ${JSON.stringify(result.checks.map((c) => [c.name, c.ok, c.detail]))}`,
      );
    });
  }
}
