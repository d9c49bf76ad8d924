// 应急模式, the pure part: open a signed trust snapshot, choose the window's policy for a code, and
// turn the JavaScript verifier's result into what the clerk reads — in the server's words (the
// words come from /pages/clerk/offline.json, built from verifier/verdicts.py and
// api/pages/verdict_view.py; the few sentences built here mirror verifier/verdicts.py's
// _age_words / facts_fresh_text / facts_stale_text, checked by tests/unit/api/test_clerk_offline_words.py).
//
// No imports and no I/O: the crypto comes in as an argument, so Node tests it with the verifier's
// own primitives (tests/js/clerk-offline.test.mjs) and the browser with the same files as served by
// /pages/vendor/verifier/ (clerk-offline.js).

export const SNAPSHOT_FORMAT = 'huren-trust-snapshot/2';
const SNAPSHOT_TYPE = 'TrustSnapshot(bytes32 contentHash,uint64 height,uint64 createdAt)';
// The file is RFC 8785 JSON {"signature": ..., "snapshot": {...}}: keys sorted, so the snapshot's
// canonical bytes — exactly what was hashed and signed — are the text between these two ends.
const FILE = /^\{"signature":"(0x[0-9a-f]{130})","snapshot":(\{[\s\S]*\})\}$/;

export class SnapshotRefused extends Error {}

function uint256(n) {
  const out = new Uint8Array(32);
  let v = BigInt(n);
  for (let i = 31; i >= 0 && v > 0n; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

/**
 * The snapshot object of a signed file, if `publisher` signed it for `domain` ({chainId,
 * verifyingContract}); SnapshotRefused (with Chinese words) otherwise. `crypto`: {keccak, utf8,
 * concat, fromHex, domainSeparator, recoverAddress, checksumAddress} of primitives.mjs.
 */
export function openSignedSnapshot(text, publisher, domain, crypto) {
  const { keccak, utf8, concat, fromHex, domainSeparator, recoverAddress, checksumAddress } = crypto;
  const m = typeof text === 'string' ? FILE.exec(text) : null;
  if (!m) throw new SnapshotRefused('离线名录文件格式不对');
  let snapshot;
  try {
    snapshot = JSON.parse(m[2]);
  } catch {
    throw new SnapshotRefused('离线名录文件不是有效的 JSON');
  }
  if (snapshot === null || typeof snapshot !== 'object' || snapshot.format !== SNAPSHOT_FORMAT) {
    throw new SnapshotRefused('离线名录的格式版本不支持');
  }
  if (snapshot.chainId !== domain.chainId
      || String(snapshot.ledger).toLowerCase() !== String(domain.verifyingContract).toLowerCase()) {
    throw new SnapshotRefused('离线名录不属于本系统部署（链或合约地址不符）');
  }
  if (!Number.isSafeInteger(snapshot.height) || !Number.isSafeInteger(snapshot.createdAt)
      || !Number.isSafeInteger(snapshot.headTime)) {
    throw new SnapshotRefused('离线名录的区块高度或时间无效');
  }
  const contentHash = keccak(utf8(m[2]));
  const struct = keccak(concat(keccak(utf8(SNAPSHOT_TYPE)), contentHash, uint256(snapshot.height),
    uint256(snapshot.createdAt)));
  const digest = keccak(concat(Uint8Array.of(0x19, 0x01),
    domainSeparator(domain.chainId, domain.verifyingContract), struct));
  const signer = recoverAddress(digest, fromHex(m[1]));
  if (signer === null || !publisher || checksumAddress(signer).toLowerCase() !== String(publisher).toLowerCase()) {
    throw new SnapshotRefused('离线名录的签名无效，或不是本节点的名录发布密钥签署');
  }
  return snapshot;
}

// ------------------------------------------------------------------ words (mirror verifier/verdicts.py)

/** verifier/verdicts.py _age_words. */
export function ageWords(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s} 秒`;
  if (s < 7200) return `${Math.floor(s / 60)} 分钟`;
  if (s < 3 * 86400) return `${Math.floor(s / 3600)} 小时`;
  return `${Math.floor(s / 86400)} 天`;
}

/** verifier/verdicts.py facts_fresh_text. */
export function factsFreshText(sourceWord, height, ageS, boundS, note = '') {
  const text = `状态信息来自${sourceWord}第 ${height} 块，该块产生于 ${ageWords(ageS)}前（本处允许 ${ageWords(boundS)}以内）`;
  return note ? `${text}；${note}` : text;
}

/** verifier/verdicts.py facts_stale_text. */
export function factsStaleText(sourceWord, height, headTime, ageS, boundS, note = '') {
  const text = headTime <= 0
    ? `暂时无法核验：${sourceWord}尚未取得任何链上区块，无法确认证照的最新状态（如是否已撤销）`
    : `暂时无法核验：${sourceWord}的最新区块（第 ${height} 块）产生于 ${ageWords(ageS)}前，`
      + `超过本处允许的 ${ageWords(boundS)}；此后的撤销、暂扣等变化可能尚未同步到本处，因此不能判定为有效`;
  return note ? `${text}（${note}）` : text;
}

/** The banner: how old the kept snapshot's facts are, in words. */
export function bannerText(snapshot, now, boundS) {
  const age = Math.max(0, now - snapshot.headTime);
  const head = `应急模式：离线核验，名录时间 ${ageWords(age)}前`;
  return age > boundS
    ? `${head}。名录已超过允许的 ${ageWords(boundS)}，不能判定证照有效，请恢复网络后核验。`
    : `${head}（第 ${snapshot.height} 块；此后的撤销、暂扣可能尚未同步）。`;
}

// ------------------------------------------------------------------ policy

/**
 * The verifier policy for one code: the window's policy, with holder binding required when the
 * policy names the code's type or issuing region (VerifierPolicy.binding_required) — the JavaScript
 * verifier knows only the all-codes switch, so the page sets it per code. `decoded`: the
 * verifier's decode() of the code, or null when it does not decode (the verifier then says MALFORMED).
 */
export function policyFor(policy, decoded) {
  let required = Boolean(policy.require_holder_binding);
  if (!required && decoded) {
    const disclosed = new Map(decoded.fields.map((f) => [f.path, f.value]));
    required = (policy.holder_binding_types || []).includes(disclosed.get('type'))
      || (policy.holder_binding_regions || []).includes(disclosed.get('issuer.region'));
  }
  return { ...policy, require_holder_binding: required };
}

// ------------------------------------------------------------------ the clerk's view

const ORDER = { type: 0, id: 1, holder: 2, claims: 3, issuer: 4, validFrom: 6, validUntil: 7, issuedAt: 8, version: 9 };

function beijingTime(t) {
  if (t === null || t === undefined || Number(t) === 0) return '—';
  const d = new Date((Number(t) + 8 * 3600) * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} `
    + `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

function regionLabel(config, code) {
  if (code === null || code === undefined) return '—';
  return config.regions[String(code)] ?? String(code);
}

function valueText(config, path, value, typeName) {
  if (value === null || value === undefined) return path === 'validUntil' ? '长期' : '—';
  if (path === 'issuer.region' && Number.isInteger(value)) return `${regionLabel(config, value)}（${value}）`;
  if (path === 'type' && typeName) return `${typeName}（${value}）`;
  if (path === 'holder.idType') return { 111: '公民身份号码', '001': '统一社会信用代码' }[String(value)] ?? String(value);
  if (typeof value === 'boolean') return value ? '是' : '否';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * What the clerk sees for an offline verification (the fields of api/pages/verdict_view.VerdictView).
 * `result`: verifyText's answer; `snapshot`: the facts it used; `now`: unix seconds.
 *
 * One verdict reads differently offline: NOT_ANCHORED. The kept list holds only the batches
 * anchored before it was taken and only those this window accepts, so a batch missing from it is
 * not evidence of a forgery: the page answers UNAVAILABLE ("cannot check now"), never an invalid
 * verdict it cannot stand behind.
 */
export function offlineView(result, config, snapshot, now) {
  const w = config.words;
  const policy = config.policy;
  let code = result.verdict;
  // Plain Chinese for the clerk (the server's words for each check's result); the verifier's own
  // detail is technical English and stays beside it as `technical`.
  const checks = result.checks.map((c) => ({
    name: w.checks[c.name] ?? c.name, ok: c.ok, id: c.name,
    detail: (w.results && w.results[c.name] ? w.results[c.name][c.ok ? 0 : 1] : null) ?? c.detail,
    technical: c.detail,
  }));
  const source = w.sources.snapshot;
  let reason = null;
  const failed = result.checks.find((c) => !c.ok);
  const fresh = checks.find((c) => c.id === 'status_freshness');
  const age = snapshot ? Math.max(0, now - snapshot.headTime) : 0;
  if (fresh && snapshot) {
    fresh.detail = fresh.ok ? factsFreshText(source, snapshot.height, age, policy.max_facts_age_s)
      : factsStaleText(source, snapshot.height, snapshot.headTime, age, policy.max_facts_age_s);
  }
  if (failed && failed.name === 'status_freshness' && fresh) reason = fresh.detail;
  if (failed && failed.name === 'chain_access') reason = '暂时无法核验：本页没有可用的离线可信名录（请在联网时打开本页，以便取得名录）';
  if (code === 'NOT_ANCHORED') {
    code = 'UNAVAILABLE';
    reason = '离线可信名录中没有该证照所属批次的存证记录：可能在名录生成之后才存证，或不属于本窗口受理的地区和类型。'
      + '这不表示证照无效，请恢复网络后重新核验。';
  }
  const verdict = w.verdicts[code];
  const disclosed = result.disclosed || {};
  const typeCode = typeof disclosed.type === 'string' ? disclosed.type : null;
  const ctype = typeCode ? config.types[typeCode] : null;
  const typeName = result.typeName || (ctype ? ctype.name : null);
  let headline = w.headlines[code] ?? verdict.label;
  const issuer = result.issuer;
  if (code === 'VALID') {
    headline = issuer && issuer.region === policy.region ? '有效 · 本地区签发' : '有效 · 本地区认可';
  }
  const view = {
    code, outcome: verdict.outcome, headline, advice: verdict.advice, reason,
    outcomeWord: w.outcomes[verdict.outcome] ?? '', checks, typeName, disclosed: [], issuer: [], anchor: [], height: '—',
  };
  const entries = Object.entries(disclosed).sort((a, b) => (ORDER[a[0].split('.')[0]] ?? 5) - (ORDER[b[0].split('.')[0]] ?? 5));
  for (const [path, value] of entries) {
    const title = (ctype && ctype.titles[path]) || path;
    view.disclosed.push([title, valueText(config, path, value, typeName)]);
  }
  if (issuer) {
    const name = config.issuerNames[String(issuer.issuerId).toLowerCase()];
    view.issuer = [['发证部门', name || '（未登记名称）'], ['统一社会信用代码', String(disclosed['issuer.creditCode'] ?? '—')],
      ['所属地区', `${regionLabel(config, issuer.region)}（${issuer.region ?? '—'}）`],
      ['登记状态', { ACTIVE: '正常', SUSPENDED: '暂停', REVOKED: '已撤销' }[issuer.status] ?? String(issuer.status ?? '—')]];
  }
  const a = result.anchor;
  if (a) {
    view.anchor = [['存证交易', String(a.txHash)], ['区块高度', String(a.blockNumber)],
      ['存证时间', `${beijingTime(a.timestamp)}（北京时间）`], ['确认数', String(a.confirmations)], ['批次根哈希', String(a.batchRoot)]];
  }
  if (snapshot) view.height = `第 ${snapshot.height} 块（${source}，${ageWords(age)}前）`;
  return view;
}
