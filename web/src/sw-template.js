// Herald dashboard service worker (generated at build time from src/sw-template.js).
// The shell (index.html, hashed assets, manifest) is cached on install so the dashboard opens
// offline; API calls and Herald's recipient pages always go to the network and are never
// cached (they carry a key or an address): see src/sw-policy.ts.
const VERSION = __VERSION__;
const PRECACHE = __PRECACHE__;
const CACHE = 'herald-shell-' + VERSION;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('herald-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

/* __POLICY__ (src/sw-policy.ts: swStrategy, cacheableShell) */

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  const how = swStrategy(req.method, url, self.location.origin);
  if (how === 'shell') {
    // Network first, so a new build shows at once; the cached shell when offline.
    event.respondWith(
      fetch(req)
        .then((res) => {
          if (cacheableShell(url, res)) {
            const copy = res.clone();
            caches.open(CACHE).then((c) => c.put('/', copy));
          }
          return res;
        })
        .catch(() => caches.match('/')),
    );
  } else if (how === 'static') {
    event.respondWith(caches.match(req).then((hit) => hit || fetch(req)));
  }
});
