// After each journey: every page it saw is opened again in the three languages and checked
// with axe-core (no violation of any impact may remain) and for raw codes a person should not
// read (`terminal:alipay`, `verify_permit`, an office's code), and a screenshot of it at phone size
// (kiosk size for kiosk pages) is written to e2e/artifacts/, so the pages can be looked at.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ARTIFACTS_DIR, artifactName } from './artifacts.js';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const LANGS = ['en', 'zh-Hans', 'zh-Hant'];
export const PHONE = { width: 390, height: 844 };
export const KIOSK = { width: 1080, height: 1920 };

// Addresses that act rather than show (sign-out, language switch, the payment sandbox) or
// are not pages.
const NOT_PAGES = [/^\/lang\b/, /logout$/, /^\/dev\//, /^\/api\//, /^\/healthz/, /^\/assets\//];

/**
 * Records the pages a context shows: every main-frame navigation answered with HTML.
 * `get` holds the addresses a GET can show again; `posted` the pages shown in answer to a
 * POST (a reload of those would ask to send the form again).
 */
export function trackPages(context) {
  const seen = { get: new Map(), posted: [] };
  context.on('response', (res) => {
    const req = res.request();
    if (!req.isNavigationRequest() || req.frame().parentFrame()) return;
    if (res.status() >= 300 && res.status() < 400) return;
    if (!(res.headers()['content-type'] || '').startsWith('text/html')) return;
    const url = new URL(res.url());
    if (NOT_PAGES.some((re) => re.test(url.pathname))) return;
    if (req.method() === 'GET') seen.get.set(url.pathname + url.search, true);
    else seen.posted.push(`${req.method()} ${url.pathname}`);
  });
  return seen;
}

// What a person should never read: stored codes (snake_case words, `kind:value` pairs such as
// `staff:clerk`), a bare region code in brackets, the time zone written as "UTC+8", or an
// office's code (`GZ-YX-002`) where its name belongs.
const RAW = [/\b[a-z]+(?:_[a-z0-9]+)+\b/g, /\b(?:staff|applicant|holder|terminal|device|partner):[\w-]+/g, /\((?:hong_kong|macao|taiwan|mainland)\)/g, /UTC\+8/g, /\b[A-Z]{2}-[A-Z]{2,3}-\d{3}\b/g];

/** Raw codes in the text the page shows (form values and code samples excepted). */
export async function rawCodes(page) {
  const text = await page.evaluate(() => {
    const main = document.querySelector('main') || document.body;
    const clone = main.cloneNode(true);
    clone.querySelectorAll('code, pre, kbd, samp, script, style, textarea, [data-raw-ok]').forEach((n) => n.remove());
    return clone.innerText;
  });
  const found = new Set();
  for (const re of RAW) for (const m of text.matchAll(re)) found.add(m[0]);
  return [...found];
}

/** Runs axe-core on the page as it stands; returns its violations, one line each. */
export async function axeViolations(page) {
  // evaluate() is not subject to the page's Content-Security-Policy, unlike a script tag.
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help} [${v.targets.join(', ')}]`);
}

function isKiosk(path) {
  return path.startsWith('/kiosk') || path.includes('/kiosk/');
}

/**
 * Post/redirect/get: a page shown in answer to a form must have an address a reload shows
 * again, never "confirm form resubmission" or HTTP 405. A journey that sees one fails
 * (`E2E_STRICT_PRG=0` only reports them).
 */
export function resubmits(seen) {
  return seen.posted.map((p) => `${p}: a page shown in answer to a form (no redirect)`);
}

/**
 * Opens every page in `seen` again in a new tab of `context` (same session), in each language,
 * runs axe-core, and saves a screenshot per page and language. Returns the problems found.
 */
export async function auditPages(context, seen, testName, baseURL) {
  const problems = [];
  const paths = [...seen.get.keys()];
  if (paths.length === 0) return problems;
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const page = await context.newPage();
  try {
    for (const [i, path] of paths.entries()) {
      await page.setViewportSize(isKiosk(path) ? KIOSK : PHONE);
      for (const lang of LANGS) {
        await context.addCookies([{ name: 'lang', value: lang, url: baseURL }]);
        const res = await page.goto(path);
        const status = res?.status() ?? 0;
        if (status >= 500) problems.push(`${lang} ${path}: HTTP ${status}`);
        for (const v of await axeViolations(page)) problems.push(`${lang} ${path}: ${v}`);
        const raw = await rawCodes(page);
        if (raw.length) problems.push(`${lang} ${path}: raw codes shown: ${raw.join(', ')}`);
        const shot = `${artifactName(testName)}--${String(i + 1).padStart(2, '0')}-${lang}.png`;
        await page.screenshot({ path: join(ARTIFACTS_DIR, shot), fullPage: true, timeout: 10_000 });
      }
    }
  } finally {
    await page.close().catch(() => {});
  }
  return problems;
}
