// Every page reached by a form has an address a GET shows again: reloading it and switching
// language keep what was typed and the error, never "HTTP ERROR 405" or another 4xx/5xx. Walked
// on the temporary permit (both steps and "change"), the reception desk, the collection kiosk
// (whose screen starts over for the next person when left alone) and the staff sign-in.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EN, staffLogin, withPage } from '../lib/browser.js';
import { pairDevice } from '../lib/centre.js';
import { expectAttribute, expectText } from '../lib/expect.js';
import { useDemo } from '../lib/server.js';

const demo = useDemo({ people: 50 });

/** Fails on any page answered 4xx/5xx in the context (the journey's own navigations). */
function watchStatuses(context) {
  const bad = [];
  context.on('response', (res) => {
    const req = res.request();
    if (req.isNavigationRequest() && res.status() >= 400) bad.push(`${res.status()} ${req.method()} ${res.url()}`);
  });
  return bad;
}

/**
 * Reloads the page and switches through the three languages with its language links; after
 * each, `check(lang)` finds the input and the error still there. Ends in English.
 */
async function keptThroughReloadAndLanguages(page, check) {
  const here = new URL(page.url()).pathname;
  const res = await page.reload();
  assert.ok(res.status() < 400, `reload of ${here}: HTTP ${res.status()}`);
  await check('en');
  for (const lang of ['zh-Hant', 'zh-Hans', 'en']) {
    await page.locator(`nav.langs a[lang="${lang}"]`).click();
    await page.waitForURL((u) => u.pathname === here);
    await expectAttribute(page.locator('html'), 'lang', lang);
    await check(lang);
  }
}

const ERROR_TITLE = { en: /^Error: /, 'zh-Hans': /^错误：/, 'zh-Hant': /^錯誤：/ };

async function expectErrorTitle(page, lang) {
  const title = await page.title();
  assert.match(title, ERROR_TITLE[lang], `title in ${lang}: ${title}`);
}

describe('forms survive a reload and a language switch', () => {
  test('temporary permit: both steps, a refusal, "change", reload and language switch', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 390, height: 844 } }, async ({ page, context }) => {
      const bad = watchStatuses(context);
      await page.goto('/temporary-permit');
      await page.locator('#document_number').fill('H123');
      await page.locator('#name').fill('陳大文');
      await page.locator('main form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        await expectAttribute(page.locator('#document_number'), 'aria-invalid', 'true');
        assert.equal(await page.locator('#document_number').inputValue(), 'H123');
        assert.equal(await page.locator('#name').inputValue(), '陳大文');
        await expectText(page.locator('.error-summary a[href="#document_number"]'), /H12345678/);
      });

      // Spaces and small letters are fine; step 2 has its own address.
      await page.locator('#document_number').fill('h1234 5678');
      await page.locator('main form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit/details');
      await page.locator('#document_expiry').fill('2040-01-01');
      await page.locator('input[name="sex"][value="M"]').check();
      await page.locator('#mobile').fill('13800138000');
      await page.locator('#password').fill('my long travel password');
      await page.locator('main form button[type="submit"]:not(#change)').click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit/details');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#document_expiry').inputValue(), '2040-01-01');
        assert.equal(await page.locator('#mobile').inputValue(), '13800138000');
        assert.equal(await page.locator('#password').inputValue(), '', 'the password is typed again');
        await expectAttribute(page.locator('#change'), 'aria-invalid', 'true');
      });
      // The refusal is about type, number or name: "change" takes them back to step 1, filled.
      await page.locator('#change').click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit');
      assert.equal(await page.locator('#document_number').inputValue(), 'h1234 5678');
      assert.equal(await page.locator('#name').inputValue(), '陳大文');
      assert.deepEqual(bad, []);
    }));

  test('reception and the staff sign-in keep what was typed', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN }, async ({ page, context }) => {
      const bad = watchStatuses(context);
      await page.goto('/staff/login');
      await page.locator('#username').fill('clerk');
      await page.locator('#password').fill('not the password');
      await page.locator('main form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/staff/login');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#username').inputValue(), 'clerk');
      });
      await staffLogin(page, 'clerk', 'demo-clerk-pass');
      await page.goto('/staff/centre/reception');
      await page.locator('#reference').fill('nosuchref9');
      await page.locator('#reference').press('Enter');
      await page.waitForURL((u) => u.pathname === '/staff/centre/reception');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#reference').inputValue(), 'nosuchref9');
        await expectAttribute(page.locator('#reference'), 'aria-invalid', 'true');
      });
      await expectText(page.locator('.error-summary'), /No booking has this reference/);
      assert.deepEqual(bad, []);
    }));

  test('collection kiosk: a refusal keeps the input; left alone, it starts over', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 1080, height: 1920 } }, async ({ page, context }) => {
      const bad = watchStatuses(context);
      await pairDevice(page, demo.server, 'kiosk');
      await page.locator('#reference').fill('R00000000000');
      await page.locator('#id_number').fill('110105 19491231 002x');
      await page.locator('#collect').click();
      await page.waitForURL((u) => u.pathname === '/kiosk');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#reference').inputValue(), 'R00000000000');
        assert.equal(await page.locator('#id_number').inputValue(), '110105 19491231 002x');
      });
      // Touch targets: at least 48 px high everywhere on the kiosk's screen.
      const small = await page.evaluate(() => [...document.querySelectorAll('main button, main input:not([type=hidden]), main a:not(.error-summary a), header a')]
        .filter((e) => e.getBoundingClientRect().height < 48)
        .map((e) => e.outerHTML.slice(0, 80)));
      assert.deepEqual(small, []);

      // Left alone, the screen starts over for the next person (the wait shortened, once).
      await page.addInitScript(() => {
        if (!sessionStorage.getItem('idled')) {
          sessionStorage.setItem('idled', '1');
          window.kioskIdleMs = 300;
        }
      });
      const startedOver = page.waitForResponse((r) => new URL(r.url()).pathname === '/kiosk/start');
      await page.reload();
      await startedOver;
      await page.locator('.error-summary').waitFor({ state: 'detached', timeout: 10_000 });
      await page.waitForLoadState();
      assert.equal(await page.locator('#reference').inputValue(), '');
      assert.equal(await page.locator('#id_number').inputValue(), '');
      assert.equal(await page.locator('.error-summary').count(), 0);
      assert.deepEqual(bad, []);
    }));
});
