// The clerk page's service worker (served as /pages/clerk/sw.js, scope /pages/clerk): keeps the
// page, its scripts and modules so that a reload without the network still opens the page and
// its offline verifier (clerk-offline.js). Network first, always: while the node answers, the page
// and the code are the node's current ones (and each good answer refreshes the kept copy); only a
// request that cannot reach the node — or that a proxy answers 502/503/504 — gets the kept copy.
// Nothing but GETs of this origin's /pages/clerk, /pages/static/ and /pages/vendor/ is touched:
// verifications (POST) always go to the node, and the snapshot is kept by the page itself.
'use strict';

const CACHE = 'huren-clerk-v1';
const KEPT = /^\/pages\/(clerk$|static\/|vendor\/)/;

self.addEventListener('install', () => { self.skipWaiting(); });
self.addEventListener('activate', (event) => { event.waitUntil(self.clients.claim()); });

async function networkFirst(request, path) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if ([502, 503, 504].includes(response.status)) {
      const copy = await cache.match(path);
      if (copy) return copy;
    } else if (response.ok && !response.redirected && response.type === 'basic') {
      await cache.put(path, response.clone());
    }
    return response;
  } catch (e) {
    const copy = await cache.match(path);
    if (copy) return copy;
    throw e;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !KEPT.test(url.pathname)) return;
  event.respondWith(networkFirst(request, url.pathname));
});
