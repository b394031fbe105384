// The offline verifier's service worker: keeps /verifier (in its three languages) and the
// files it needs, so the page opens and checks codes with no network. The lists are not
// kept here: the page keeps them (with the time they were downloaded) and asks for fresh
// ones itself. __VERSION__ is replaced by the server with a hash of the files below.
const VERSION = '__VERSION__';
const CACHE = `exitentry-verifier-${VERSION}`;
const LANGS = ['en', 'zh-Hans', 'zh-Hant'];
const PAGES = [
  '/verifier',
  ...LANGS.map((l) => `/verifier?lang=${l}`),
  ...LANGS.map((l) => `/verifier/manifest.webmanifest?lang=${l}`),
];
const FILES = [
  '/assets/app.css',
  '/assets/emblem.svg',
  '/assets/verifier.css',
  '/assets/verifier-page.js',
  '/assets/verifier-core.js',
  '/assets/verifier-x509.js',
  '/assets/verifier-zlib.js',
  '/assets/vendor/cborg.js',
  '/assets/vendor/jsqr.js',
];
/** How long a page request may wait for the network before the kept copy answers. */
const NETWORK_WAIT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll([...PAGES, ...FILES]);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('exitentry-verifier-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === '/verifier' || url.pathname === '/verifier/manifest.webmanifest') {
    event.respondWith(networkFirst(event.request));
  } else if (FILES.includes(url.pathname)) {
    event.respondWith(cacheFirst(event.request));
  }
  // Anything else, the lists included, goes to the network untouched.
});

/** The page: fresh when the network answers in time, else the kept copy. */
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await Promise.race([
      fetch(request),
      new Promise((_, reject) => setTimeout(() => reject(new Error('slow network')), NETWORK_WAIT_MS)),
    ]);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch {
    const kept = (await cache.match(request)) ?? (await cache.match('/verifier'));
    return kept ?? Response.error();
  }
}

/** The files: versioned with the worker, so the kept copy is the right one. */
async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request, { ignoreSearch: true });
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}
