// System Chromium through playwright-core: one browser per test file, a fresh
// context per test (each page it showed is audited, see audit.js), and a full-page screenshot
// in e2e/artifacts/ when a test fails.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS_DIR, artifactName } from './artifacts.js';
import { auditPages, resubmits, trackPages } from './audit.js';

export { ARTIFACTS_DIR, artifactName };

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}

/** Saves a full-page screenshot of `page` as e2e/artifacts/<test-name>.png; returns the path. */
export async function saveScreenshot(page, testName) {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${artifactName(testName)}.png`);
  await page.screenshot({ path, fullPage: true, timeout: 10_000 });
  return path;
}

/**
 * Runs `fn({ page, context })` in a fresh browser context. On failure a
 * full-page screenshot is saved (named after the node:test context `t`) and
 * the error is rethrown with the screenshot path and the page URL appended.
 * The context is always closed.
 *
 *   test('name', (t) => withPage(t, browser, { baseURL, extraHTTPHeaders }, async ({ page }) => { ... }));
 */
export async function withPage(t, browser, contextOptions, fn) {
  const problems = [];
  const newContext = browser.newContext;
  // Every context the journey opens (the applicant's, the counter's, the kiosk's) is audited
  // before it closes, while its session still stands.
  const audited = async (options) => {
    const context = await newContext.call(browser, { viewport: { width: 1280, height: 900 }, ...options });
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(30_000);
    const seen = trackPages(context);
    const close = context.close.bind(context);
    let done = false;
    context.close = async () => {
      if (!done) {
        done = true;
        // axe-core needs scripts; a context that turned them off is audited by the others.
        if (!failed && options.javaScriptEnabled !== false) {
          problems.push(...(await auditPages(context, seen, t.name, options.baseURL)));
          // Every form redirects (post/redirect/get); E2E_STRICT_PRG=0 only reports them.
          const prg = resubmits(seen);
          if (process.env.E2E_STRICT_PRG === '0') for (const p of prg) t.diagnostic(`post/redirect/get: ${p}`);
          else problems.push(...prg);
        }
      }
      return close();
    };
    return context;
  };
  let failed = false;
  browser.newContext = audited;
  const context = await audited(contextOptions);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  try {
    await fn({ page, context, pageErrors });
    await context.close();
    if (problems.length) {
      throw new Error(`axe-core and the pages seen again found:\n    ${problems.join('\n    ')}`);
    }
  } catch (err) {
    failed = true;
    let note;
    try {
      note = `screenshot: ${await saveScreenshot(page, t.name)}`;
    } catch (shotErr) {
      note = `screenshot failed: ${shotErr.message}`;
    }
    const extra = `\n    at page ${page.url()}\n    ${note}` +
      (pageErrors.length ? `\n    page errors: ${pageErrors.join(' | ')}` : '');
    t.diagnostic(note);
    if (err && typeof err === 'object' && typeof err.message === 'string') {
      err.message += extra;
      throw err;
    }
    throw new Error(String(err) + extra);
  } finally {
    browser.newContext = newContext;
    await context.close().catch(() => {});
  }
}

/** The demo holder (a mainland resident with an Exit-Entry Permit). */
export const DEMO_HOLDER = { mobile: '13700137000', password: 'demo-holder-pass' };

/** A browser asking for English pages. */
export const EN = { extraHTTPHeaders: { 'Accept-Language': 'en' } };

/** Opens `path` as a holder: the page asks for the sign-in first, then shows `path`. */
export async function holderLogin(page, path, holder = DEMO_HOLDER) {
  await page.goto(path);
  await submitHolderLogin(page, holder);
  await page.waitForURL((u) => u.pathname === path);
}

/** Waits for the holder sign-in form (where a link or a redirect led) and sends it. */
export async function submitHolderLogin(page, { mobile, password } = DEMO_HOLDER) {
  await page.waitForURL((u) => u.pathname === '/my/login');
  await page.locator('#mobile').fill(mobile);
  await page.locator('#password').fill(password);
  await page.locator('main form button[type="submit"]').click();
}

/** Signs a member of staff in through the login form; waits for the officer desk. */
export async function staffLogin(page, username, password) {
  await page.goto('/staff/login');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('main form button[type="submit"]').click();
  await page.waitForURL((u) => u.pathname === '/staff');
}
