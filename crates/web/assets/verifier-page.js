// The offline verifier page (/verifier): keeps the signed trust list and status list on the
// device, scans (BarcodeDetector, else jsQR) or takes a pasted payload, and shows the verdict
// of verifier-core.js. Nothing scanned ever leaves the device: the only requests this page
// makes are for the two public lists and its own files.
import {
  DEFAULT_CLOCK_SKEW_SECS, UnsupportedAlgorithm, base64Decode, openStatusList, openTrustList,
  permittedUses, verify,
} from './verifier-core.js';

const config = JSON.parse(document.getElementById('verifier-config').textContent);
const t = (key) => config.messages[key] ?? key;
/** A code in words (`kind-hrp` → "Home return permit"), or the code itself when unknown. */
const word = (prefix, code) => config.messages[`${prefix}${code}`] ?? code;
const pinnedRoot = base64Decode(config.root);
const LISTS_KEY = 'exitentry-verifier-lists';
const USE_KEY = 'exitentry-verifier-use';
const $ = (id) => document.getElementById(id);
const now = () => Math.floor(Date.now() / 1000);

/** The opened lists: `{ trust, info, status, fetchedAt }`, or null before the first download. */
let lists = null;

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/verifier/sw.js', { scope: '/verifier' }).catch(() => {});
}

// ---------------------------------------------------------------- formatting

const pad = (n) => String(n).padStart(2, '0');

/** Unix seconds as `YYYY-MM-DD HH:MM` in Beijing time (UTC+8, no daylight saving). */
function beijing(secs) {
  const d = new Date((Number(secs) + 8 * 3600) * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

function age(secs) {
  const s = Math.max(0, secs);
  if (s < 3600) return `${Math.floor(s / 60)} ${t('vf-unit-min')}`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} ${t('vf-unit-h')} ${Math.floor((s % 3600) / 60)} ${t('vf-unit-min')}`;
  return `${Math.floor(s / 86400)} ${t('vf-unit-d')}`;
}

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const kid of kids) node.append(kid);
  return node;
}

function facts(dl, rows) {
  dl.replaceChildren(...rows.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

// ---------------------------------------------------------------- the lists

/** Opens saved documents: the trust list against the pinned root, the status list against it. */
async function openLists(saved) {
  const { trust, info } = await openTrustList(saved.trust, pinnedRoot);
  // The page judges the age itself (a warning, below): the list is used however old.
  const status = await openStatusList(saved.status, trust, now(), Number.MAX_SAFE_INTEGER);
  return { trust, info, status, fetchedAt: saved.fetched_at };
}

async function loadSaved() {
  try {
    const saved = JSON.parse(localStorage.getItem(LISTS_KEY));
    if (saved) lists = await openLists(saved);
  } catch {
    lists = null;
  }
}

/** Downloads both lists; keeps them only when they verify. */
async function refresh(manual) {
  let note = '';
  try {
    const responses = await Promise.all(
      ['/api/v1/trust-list', '/api/v1/status-list'].map((u) => fetch(u, { cache: 'no-store', signal: AbortSignal.timeout(15_000) })),
    );
    if (!responses.every((r) => r.ok)) throw new Error('lists unavailable');
    const [trust, status] = await Promise.all(responses.map((r) => r.text()));
    const saved = { trust, status, fetched_at: now() };
    try {
      lists = await openLists(saved);
      localStorage.setItem(LISTS_KEY, JSON.stringify(saved));
      note = manual ? t('vf-lists-refreshed') : '';
    } catch {
      note = t('vf-lists-bad');
    }
  } catch {
    note = t('vf-lists-offline');
  }
  showLists(note);
}

function showLists(note) {
  const state = $('lists-state');
  const warnings = [];
  if (!lists) {
    state.textContent = note ? `${note} ${t('vf-lists-none')}` : t('vf-lists-none');
    state.className = 'alert';
    facts($('lists-facts'), []);
    return;
  }
  const statusAge = now() - lists.status.issued_at;
  if (statusAge > config.status_fresh_secs) warnings.push(t('vf-lists-stale-status'));
  if (now() - lists.info.issued_at > config.trust_fresh_secs) warnings.push(t('vf-lists-stale-trust'));
  state.textContent = [note, ...warnings].filter(Boolean).join(' ');
  state.className = warnings.length ? 'alert' : note ? 'notice' : '';
  facts($('lists-facts'), [
    [t('vf-lists-fetched'), `${beijing(lists.fetchedAt)} (${t('vf-beijing')})`],
    [t('vf-lists-status-issued'), `${beijing(lists.status.issued_at)} (${t('vf-beijing')})`],
    [t('vf-lists-age'), age(statusAge)],
    [t('vf-lists-trust-version'), String(lists.info.version)],
  ]);
}

// ---------------------------------------------------------------- the use checked for

function chosenUse() {
  return document.querySelector('input[name="use"]:checked')?.value ?? null;
}

function restoreUse() {
  const saved = localStorage.getItem(USE_KEY);
  const input = saved && document.querySelector(`input[name="use"][value="${CSS.escape(saved)}"]`);
  if (input) input.checked = true;
  for (const radio of document.querySelectorAll('input[name="use"]')) {
    radio.addEventListener('change', () => localStorage.setItem(USE_KEY, radio.value));
  }
}

// ---------------------------------------------------------------- verdicts

function showMessage(key) {
  $('result').hidden = false;
  $('verdict').replaceChildren(el('div', { class: 'verdict bad' }, el('p', { class: 'reason' }, t(key))));
  $('result-title').focus();
}

/** The credential id as signed (`TP-2026-000042`), or hex when it is not text. */
function credentialId(ctiHex) {
  const bytes = Uint8Array.from(ctiHex.match(/../g) ?? [], (h) => parseInt(h, 16));
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (/^[\x20-\x7e]+$/.test(text)) return text;
  } catch {
    // not text: hex below
  }
  return ctiHex;
}

function showVerdict(verdict, use) {
  const ok = verdict.valid;
  const box = el('div', { class: `verdict ${ok ? 'ok' : 'bad'}` },
    el('p', { class: 'word' }, t(ok ? 'vf-valid' : 'vf-not-valid')),
    el('p', { class: 'reason' }, t(`vf-reason-${verdict.reason}`)));
  const parts = [box];
  const claims = verdict.claims;
  if (claims) {
    const body = claims.body;
    const rows = [];
    if (body) {
      const names = [body.holder_name_zh, body.holder_name_latin].filter(Boolean).join(' · ');
      rows.push([t('vf-holder'), names]);
      rows.push([t('vf-document'), `${word('kind-', body.document_kind)} ${body.document_number}`]);
      if (body.linked_document_number) rows.push([t('vf-linked'), body.linked_document_number]);
    }
    rows.push([t('vf-credential-id'), credentialId(claims.cti)]);
    rows.push([t('vf-validity'), `${beijing(claims.nbf)} – ${beijing(claims.exp)} (${t('vf-beijing')})`]);
    const uses = permittedUses(verdict);
    rows.push([t('vf-uses'), uses.length ? uses.map((u) => word('vf-use-', u)).join(', ') : t('vf-uses-none')]);
    const dl = el('dl', { class: 'facts' });
    facts(dl, rows);
    parts.push(el('p', { class: 'kind' }, t(`vf-kind-${verdict.kind}`)), dl);
  }
  parts.push(el('p', { class: 'muted checked' },
    `${t('vf-checked-for')}: ${t(`vf-use-${use}`)}. ${t('vf-lists-status-issued')}: ${beijing(lists.status.issued_at)} (${t('vf-beijing')}), ${t('vf-lists-age')}: ${age(now() - lists.status.issued_at)}.`));
  $('result').hidden = false;
  $('verdict').replaceChildren(...parts);
  $('result-title').focus();
}

async function check(text) {
  const use = chosenUse();
  if (!use) {
    showMessage('vf-reason-no_use');
    document.querySelector('input[name="use"]')?.focus();
    return;
  }
  if (!lists) {
    showMessage('vf-reason-no_lists');
    return;
  }
  // Linkage proofs are not limited to uses: checking for linkage asks for an authentic,
  // current proof of that kind instead.
  const linkage = use === 'document_linkage';
  try {
    let verdict = await verify(text, lists.trust, {
      prefix: config.prefix,
      at: now(),
      requiredUse: linkage ? undefined : use,
      status: lists.status,
      clockSkewSecs: DEFAULT_CLOCK_SKEW_SECS,
    });
    if (linkage && verdict.valid && verdict.kind !== 'linkage_proof') {
      verdict = { ...verdict, valid: false, reason: 'wrong_use' };
    }
    showVerdict(verdict, use);
  } catch (e) {
    if (!(e instanceof UnsupportedAlgorithm)) console.error(e);
    showMessage('vf-reason-unsupported');
  }
}

// ---------------------------------------------------------------- the camera

let stream = null;

async function qrReader() {
  if ('BarcodeDetector' in window) {
    try {
      if ((await BarcodeDetector.getSupportedFormats()).includes('qr_code')) {
        const detector = new BarcodeDetector({ formats: ['qr_code'] });
        return async (video) => (await detector.detect(video))[0]?.rawValue;
      }
    } catch {
      // fall back to jsQR
    }
  }
  if (!window.jsQR) {
    await new Promise((resolve, reject) => {
      const s = el('script', { src: '/assets/vendor/jsqr.js' });
      s.onload = resolve;
      s.onerror = reject;
      document.head.append(s);
    });
  }
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return async (video) => {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    if (!canvas.width) return undefined;
    ctx.drawImage(video, 0, 0);
    const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
    return window.jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' })?.data;
  };
}

function stopCamera() {
  stream?.getTracks().forEach((track) => track.stop());
  stream = null;
  $('camera').hidden = true;
  $('stop').hidden = true;
  $('scan').hidden = false;
  $('camera-note').textContent = '';
}

async function startCamera() {
  const video = $('camera');
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    video.srcObject = stream;
    video.hidden = false;
    $('scan').hidden = true;
    $('stop').hidden = false;
    await video.play();
    $('camera-note').textContent = t('vf-camera-looking');
    const read = await qrReader();
    while (stream) {
      const text = await read(video).catch(() => undefined);
      if (text) {
        stopCamera();
        $('payload').value = text;
        await check(text);
        return;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  } catch {
    stopCamera();
    $('camera-note').textContent = t('vf-camera-unavailable');
  }
}

// ---------------------------------------------------------------- start

restoreUse();
$('paste-form').addEventListener('submit', (e) => {
  e.preventDefault();
  check($('payload').value);
});
$('scan').addEventListener('click', startCamera);
$('stop').addEventListener('click', stopCamera);
$('refresh').addEventListener('click', () => refresh(true));
if (!navigator.mediaDevices?.getUserMedia) $('scan').hidden = true;
await loadSaved();
showLists('');
await refresh(false);
document.body.dataset.ready = 'true';
