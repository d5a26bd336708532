// CareRounds' service worker: keeps every file of the build so the app starts offline.
// pwa/build.py fills in the placeholders; the file it writes is build/web/sw.js.
"use strict";

// One name per build: it changes whenever any precached file changes, which also makes
// this script differ byte for byte, so the browser installs the new worker.
const CACHE_NAME = __CACHE_NAME__;
const CACHE_PREFIX = __CACHE_PREFIX__;
// Path (relative to the scope) -> the first 16 hex digits of the file's SHA-256.
const PRECACHE = __PRECACHE__;
// A synthetic entry in each cache: the list above, so that the next build can copy the
// files whose hash did not change instead of downloading them again.
const LIST_KEY = "__precache-list__";
// Module imports (canvaskit.js, pyodide.mjs) are requested with an Origin header and some
// servers answer with "Vary: Origin"; without ignoreVary such a request misses the cache.
const MATCH = { ignoreSearch: true, ignoreVary: true };

const scoped = (path) => new URL(path, self.registration.scope).href;

// Flutter loads canvaskit/chromium/ where Chromium's break iterators exist (Chrome, Edge,
// Samsung Internet...) and canvaskit/ elsewhere (Safari on iPhones, Firefox): each browser
// precaches the one it will load. Should it guess wrong, the other is cached on first use.
const CHROMIUM = typeof Intl.v8BreakIterator !== "undefined";
const VARIANT = CHROMIUM ? /^canvaskit\/canvaskit\./ : /^canvaskit\/chromium\//;
const WANTED = Object.keys(PRECACHE).filter((path) => !VARIANT.test(path));

async function previousCopies() {
  const copies = new Map();
  for (const name of await caches.keys()) {
    if (!name.startsWith(CACHE_PREFIX) || name === CACHE_NAME) continue;
    const cache = await caches.open(name);
    const list = await cache.match(scoped(LIST_KEY));
    if (!list) continue;
    const hashes = await list.json();
    for (const [path, hash] of Object.entries(hashes)) {
      if (PRECACHE[path] === hash && !copies.has(path)) copies.set(path, cache);
    }
  }
  return copies;
}

async function precache() {
  const cache = await caches.open(CACHE_NAME);
  const copies = await previousCopies();
  await Promise.all(
    WANTED.map(async (path) => {
      const url = scoped(path);
      const old = copies.get(path);
      const kept = old && (await old.match(url, MATCH));
      if (kept) {
        await cache.put(url, kept);
        return;
      }
      // "no-cache": revalidate, so that a stale HTTP-cached copy is never stored as new.
      const response = await fetch(new Request(url, { cache: "no-cache" }));
      if (!response.ok) throw new Error(`precache: ${url}: HTTP ${response.status}`);
      await cache.put(url, response);
    }),
  );
  // Written last: a cache without its list is never used as a source of copies.
  await cache.put(
    scoped(LIST_KEY),
    new Response(JSON.stringify(PRECACHE), { headers: { "Content-Type": "application/json" } }),
  );
}

self.addEventListener("install", (event) => {
  // skipWaiting: the new build takes over this start instead of waiting for every tab to
  // close; index.html reloads once on the change of controller.
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== CACHE_NAME) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

function isApi(url) {
  return url.pathname.startsWith("/api/") || url.href.startsWith(scoped("api/"));
}

async function fromCache(request) {
  const cache = await caches.open(CACHE_NAME);
  const hit = await cache.match(request, MATCH);
  if (hit) return hit;
  const path = new URL(request.url).href.slice(self.registration.scope.length);
  if (Object.hasOwn(PRECACHE, path)) {
    // A file of this build that this browser did not precache (the other canvaskit).
    const response = await fetch(request);
    if (response.ok) await cache.put(scoped(path), response.clone());
    return response;
  }
  if (request.mode === "navigate") {
    // Every page of the app is index.html (path URLs such as /app/round/3).
    const page = await cache.match(scoped("index.html"), MATCH);
    if (page) return page;
  }
  return fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // Writes, the sync API and other origins always go to the network.
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !url.href.startsWith(self.registration.scope)) {
    return;
  }
  if (isApi(url)) return;
  event.respondWith(fromCache(request));
});
