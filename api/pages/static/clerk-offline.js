// 应急模式 of the clerk page (issue 16, item 3): when the node cannot be reached, verify the code here
// with the project's JavaScript verifier against the last signed trust snapshot this page kept.
//
// - While the node answers, the page fetches its configuration (/pages/clerk/offline.json: the
//   snapshot publisher's address, this window's policy with the offline bound, the clerk's words)
//   and the signed snapshot (/pages/clerk/snapshot.json) on load and every `refreshS` seconds, checks
//   the snapshot's EIP-712 signature, and keeps both in Cache Storage.
// - A service worker (/pages/clerk/sw.js, scope /pages/clerk) keeps the page, its scripts and
//   modules, so a reload without the network still opens this page.
// - clerk.js calls hurenOffline.verifyText / verifyImage when a verification POST fails for want of
//   the node (network error, or a proxy's 502/503/504); the verdict is shown with a banner saying
//   how old the kept list is. Facts older than the policy's bound give UNAVAILABLE, never VALID
//   (the verifier's status_freshness check, with the offline bound).
//
// Module script (CSP script-src 'self': no inline code, no import map); the verifier and @noble are
// served by /pages/vendor/ with their bare imports rewritten (api/pages/vendor.py).

import { decode, verifyText } from '/pages/vendor/verifier/huren-verify.mjs';
import {
  checksumAddress, concat, domainSeparator, fromHex, keccak, recoverAddress, utf8,
} from '/pages/vendor/verifier/primitives.mjs';
import {
  SnapshotRefused, ageWords, bannerText, offlineView, openSignedSnapshot, policyFor,
} from '/pages/static/clerk-offline-core.mjs';

const CACHE = 'huren-clerk-v1';
const CONFIG_URL = '/pages/clerk/offline.json';
const SNAPSHOT_URL = '/pages/clerk/snapshot.json';
const CRYPTO = { keccak, utf8, concat, fromHex, domainSeparator, recoverAddress, checksumAddress };
const FETCH_TIMEOUT_MS = 15000;

const result = document.getElementById('result');
const status = document.getElementById('offline-status');
const banner = document.getElementById('offline-banner');
let config = null;
let snapshot = null;
let refreshTimer = null;

const nowS = () => Math.floor(Date.now() / 1000);

function say(text) {
  if (status) status.textContent = text;
}

function showBanner(text) {
  if (!banner) return;
  banner.textContent = text;
  banner.hidden = false;
}

async function fetchWithTimeout(url) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    return await fetch(url, {
      credentials: 'same-origin', cache: 'no-store', signal: ctl.signal, headers: { 'X-Requested-With': 'huren-page' },
    });
  } finally {
    clearTimeout(timer);
  }
}

async function keep(url, text) {
  if (!('caches' in window)) return;
  const cache = await caches.open(CACHE);
  await cache.put(url, new Response(text, { headers: { 'Content-Type': 'application/json' } }));
}

async function kept(url) {
  if (!('caches' in window)) return null;
  const found = await caches.match(url, { cacheName: CACHE });
  return found ? found.text() : null;
}

function accept(configObj, snapshotText) {
  if (!configObj || configObj.format !== 'huren-clerk-offline/1') throw new SnapshotRefused('离线核验配置无效');
  if (!configObj.publisher) {
    const why = configObj.unavailable;
    throw new SnapshotRefused(why ? `${why.message}。${why.hint}` : '本节点没有发布离线名录');
  }
  return openSignedSnapshot(snapshotText, configObj.publisher, configObj.domain, CRYPTO);
}

function describe() {
  if (!snapshot) return;
  say(`离线名录已备妥（第 ${snapshot.height} 块，名录时间 ${ageWords(nowS() - snapshot.headTime)}前）：`
    + '网络中断时本页仍可核验（应急模式）。');
}

/** Fetch the configuration and a new snapshot from the node; keep them if the signature holds. */
async function refresh() {
  let configText;
  let snapshotText;
  try {
    const [c, s] = await Promise.all([fetchWithTimeout(CONFIG_URL), fetchWithTimeout(SNAPSHOT_URL)]);
    if (!c.ok) return false;
    configText = await c.text();
    if (!s.ok) {
      let why = null;
      try { why = (await s.json()).error; } catch { why = null; }
      say(why ? `离线名录暂不可用：${why.message}` : `离线名录暂不可用（${s.status}）。`);
      return false;
    }
    snapshotText = await s.text();
  } catch {
    return false; // the node cannot be reached: keep what we have
  }
  try {
    const configObj = JSON.parse(configText);
    const opened = accept(configObj, snapshotText);
    config = configObj;
    snapshot = opened;
    await keep(CONFIG_URL, configText);
    await keep(SNAPSHOT_URL, snapshotText);
    if (banner) banner.hidden = true;
    describe();
    schedule(config.refreshS);
    return true;
  } catch (e) {
    say(e instanceof SnapshotRefused ? `离线名录未更新：${e.message}` : '离线名录未更新。');
    return false;
  }
}

function schedule(seconds) {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    if (!(await refresh())) schedule(60);
  }, Math.max(30, Number(seconds) || 300) * 1000);
}

/** The last kept configuration and snapshot (signature checked again: Cache Storage is not trusted). */
async function loadKept() {
  try {
    const [configText, snapshotText] = await Promise.all([kept(CONFIG_URL), kept(SNAPSHOT_URL)]);
    if (!configText || !snapshotText) return false;
    const configObj = JSON.parse(configText);
    snapshot = accept(configObj, snapshotText);
    config = configObj;
    return true;
  } catch (e) {
    say(e instanceof SnapshotRefused ? `保存的离线名录不可用：${e.message}` : '保存的离线名录不可用。');
    return false;
  }
}

/** Keep the page and every script and module it loaded, for a reload without the network. */
async function keepPage() {
  if (!('caches' in window)) return;
  const urls = new Set([location.pathname]);
  for (const entry of performance.getEntriesByType('resource')) {
    const u = new URL(entry.name);
    if (u.origin === location.origin && /^\/pages\/(static|vendor)\//.test(u.pathname)) urls.add(u.pathname);
  }
  const cache = await caches.open(CACHE);
  await Promise.all([...urls].map(async (url) => {
    try {
      const r = await fetch(url, { credentials: 'same-origin' });
      if (r.ok && !r.redirected) await cache.put(url, r);
    } catch { /* offline: what was kept stays */ }
  }));
}

// ------------------------------------------------------------------ rendering (as _verdict.html)

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function facts(pairs) {
  const dl = el('dl', { class: 'facts' });
  for (const [k, v] of pairs) {
    dl.append(el('dt', {}, k), el('dd', { class: String(v).startsWith('0x') ? 'mono' : '' }, v));
  }
  return dl;
}

function render(view) {
  const section = el('section', {
    class: `verdict ${view.outcome}`, 'aria-labelledby': 'verdict-headline', 'data-verdict': view.code, 'data-offline': '1',
  });
  const head = el('div', { class: 'head' });
  const icon = document.createElement('div');
  icon.innerHTML = config.icons[view.outcome] || ''; // the server's own SVG (_icons.html), not code content
  const words = el('div');
  words.append(el('p', { class: 'sub' }, `核验结论 · ${view.outcomeWord}（应急模式，离线核验）`),
    el('h2', { id: 'verdict-headline', tabindex: '-1' }, view.headline));
  head.append(...icon.childNodes, words);
  section.append(head);
  if (view.typeName) {
    section.append(el('p', { class: 'sub' }, view.typeName + (view.issuer.length ? ` · ${view.issuer[0][1]}` : '')));
  }
  section.append(el('p', { class: 'advice' }, view.advice));
  if (view.reason) section.append(el('p', { class: 'sub' }, `原因：${view.reason}`));
  section.append(el('p', { class: 'sub' },
    '本次为离线核验：未写入核验日志，没有回执；网络恢复后如需留痕，请重新扫码核验。'));
  const actions = el('div', { class: 'actions no-print' });
  const clear = el('button', { type: 'button', class: 'secondary js-clear' }, '清除结果');
  actions.append(clear);
  section.append(actions);
  const details = el('div', { class: 'details' });
  details.append(el('h3', {}, '核验理由（逐项检查）'));
  const ul = el('ul', { class: 'checks' });
  for (const c of view.checks) {
    const li = el('li', { class: c.ok ? 'ok' : 'fail' });
    li.append(el('span', { class: 'visually-hidden' }, c.ok ? '通过：' : '未通过：'), c.name);
    if (c.detail) li.append(el('span', { class: 'muted' }, ` —— ${c.detail}`));
    if (c.technical && c.technical !== c.detail) li.append(el('small', { class: 'muted technical' }, `（技术细节：${c.technical}）`));
    ul.append(li);
  }
  if (!view.checks.length) ul.append(el('li', {}, '（未能进行任何检查）'));
  details.append(ul);
  if (view.disclosed.length) {
    details.append(el('h3', {}, '持证人出示的信息'), el('p', { class: 'muted' }, '仅显示持证人选择出示的字段。'),
      facts(view.disclosed));
  }
  if (view.issuer.length) details.append(el('h3', {}, '发证部门'), facts(view.issuer));
  if (view.anchor.length) details.append(el('h3', {}, '区块链存证'), facts(view.anchor));
  const basis = el('p');
  basis.append(el('strong', {}, '结论依据的链上数据：'), view.height);
  details.append(basis);
  result.replaceChildren(section, details);
  clear.addEventListener('click', () => {
    result.replaceChildren();
    const text = document.getElementById('text');
    if (text) text.focus();
  });
}

// ------------------------------------------------------------------ verification

/** Verify `text` offline and show the verdict; false when no usable snapshot is kept. */
async function verifyOffline(text, focusVerdict = true) {
  if (!snapshot && !(await loadKept())) return false;
  const now = nowS();
  let decoded = null;
  try { decoded = decode(text.trim()); } catch { decoded = null; }
  const answer = verifyText(text.trim(), snapshot, policyFor(config.policy, decoded), now);
  const view = offlineView(answer, config, snapshot, now);
  showBanner(bannerText(snapshot, now, config.policy.max_facts_age_s));
  render(view);
  const head = document.getElementById('verdict-headline');
  if (head && focusVerdict) head.focus();
  document.dispatchEvent(new CustomEvent('huren:verdict', { detail: { code: view.code, offline: true } }));
  return true;
}

/** A photo, decoded here with ZBar (the server decodes it when it can be reached). */
async function verifyImageOffline(file) {
  if (!window.zbarWasm || !('createImageBitmap' in window)) return false;
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  const symbols = await window.zbarWasm.scanImageData(ctx.getImageData(0, 0, canvas.width, canvas.height));
  const found = symbols.map((s) => s.decode()).find((t) => /^(HR2|HR1):/.test(t));
  if (!found) return false;
  return verifyOffline(found, true);
}

async function forgetOnSignOut(event) {
  event.preventDefault();
  const form = event.target;
  try {
    await Promise.race([(async () => {
      if ('caches' in window) await caches.delete(CACHE);
      const reg = await navigator.serviceWorker?.getRegistration('/pages/clerk');
      if (reg) await reg.unregister();
    })(), new Promise((resolve) => { setTimeout(resolve, 2000); })]);
  } finally {
    form.submit();
  }
}

window.hurenOffline = { verifyText: verifyOffline, verifyImage: verifyImageOffline };

const signOut = document.querySelector('form[action="/pages/signout"]');
if (signOut) signOut.addEventListener('submit', forgetOnSignOut);

async function start() {
  if ('serviceWorker' in navigator) {
    try {
      await navigator.serviceWorker.register('/pages/clerk/sw.js', { scope: '/pages/clerk' });
    } catch {
      say('浏览器未能安装离线缓存（service worker），断网后重新打开本页将不可用。');
    }
  }
  if (await refresh()) {
    await keepPage();
  } else if (await loadKept()) {
    describe();
    showBanner(bannerText(snapshot, nowS(), config.policy.max_facts_age_s));
    schedule(60);
  } else {
    schedule(60);
  }
  document.documentElement.dataset.offlineReady = snapshot ? 'yes' : 'no';
}

start();
