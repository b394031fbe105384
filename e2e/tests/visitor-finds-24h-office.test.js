// Journey: a visitor switches the site to Traditional Chinese and finds an
// office in Tianhe (Guangzhou) that is open round the clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withPage } from '../lib/browser.js';
import { expectAttribute, expectCount, expectText } from '../lib/expect.js';
import { useDemo } from '../lib/server.js';

const demo = useDemo({});

const pathOf = (url) => new URL(url).pathname;

/** Resolves with the htmx request the office filter form fires after `action`. */
async function htmxFilter(page, action, expectParams) {
  const response = page.waitForResponse((res) => {
    const url = new URL(res.url());
    return (
      url.pathname === '/offices' &&
      res.request().headers()['hx-request'] === 'true' &&
      Object.entries(expectParams).every(([k, v]) => url.searchParams.get(k) === v)
    );
  });
  await action();
  const res = await response;
  assert.equal(res.status(), 200, `htmx GET ${res.url()}`);
  // hx-push-url: the address bar follows the filter once the swap is done.
  await page.waitForURL((url) =>
    url.pathname === '/offices' && Object.entries(expectParams).every(([k, v]) => url.searchParams.get(k) === v));
  return res;
}

/** Text of every listed office, read in one go. */
function readOffices(page) {
  return page.locator('#results li.office').evaluateAll((items) =>
    items.map((li) => ({
      name: li.querySelector('a strong')?.textContent.trim(),
      href: li.querySelector('a')?.getAttribute('href'),
      meta: li.querySelector('.meta')?.textContent.replace(/\s+/g, ' ').trim(),
      badges24: [...li.querySelectorAll('.badge.ok')].map((b) => b.textContent.trim()),
    })),
  );
}

describe('visitor finds a 24-hour office', () => {
  test('switches to Traditional Chinese and filters Tianhe offices open 24 hours', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, extraHTTPHeaders: { 'Accept-Language': 'en' } }, async ({ page, context }) => {
      // Landing page in English, as the browser asks for.
      const home = await page.goto('/');
      assert.equal(home.status(), 200);
      assert.equal((await home.request().allHeaders())['accept-language'], 'en');
      const html = page.locator('html');
      await expectAttribute(html, 'lang', 'en');
      const langs = page.locator('nav.langs');
      await expectAttribute(langs.locator('a[hreflang="en"]'), 'aria-current', 'true');

      // Switch language with the header link.
      const hant = langs.locator('a[hreflang="zh-Hant"]');
      await expectText(hant, '繁體中文');
      const switched = page.waitForResponse((res) => pathOf(res.url()) === '/lang');
      await hant.click();
      assert.equal((await switched).status(), 303, 'the language switch redirects back');
      await expectAttribute(html, 'lang', 'zh-Hant');
      assert.equal(pathOf(page.url()), '/', 'back on the page where the switch was clicked');
      await expectAttribute(hant, 'aria-current', 'true');
      assert.equal(await langs.locator('a[aria-current]').count(), 1, 'exactly one active language');
      const mainNav = page.locator('nav.main-nav');
      await expectText(mainNav.locator('a'), '辦理網點');
      const cookies = await context.cookies();
      assert.ok(
        cookies.some((c) => c.name === 'lang' && c.value === 'zh-Hant'),
        `lang cookie set, got ${JSON.stringify(cookies.map((c) => `${c.name}=${c.value}`))}`,
      );

      // To the office directory through the main navigation.
      await mainNav.getByRole('link', { name: '辦理網點', exact: true }).click();
      await page.waitForURL((url) => url.pathname === '/offices');
      await expectAttribute(html, 'lang', 'zh-Hant');
      await expectText(page.locator('main h1'), '辦理網點');

      // The Tianhe option is labelled in Traditional Chinese, under Guangzhou.
      const tianhe = page.locator('select#district option[value="Tianhe"]');
      const { label, group } = await tianhe.evaluate((o) => ({ label: o.label.trim(), group: o.parentElement.label }));
      assert.match(label, /^天河區/, 'Tianhe is labelled in Traditional Chinese');
      assert.equal(group, '廣州市', 'Tianhe is listed under Guangzhou');

      // htmx replaces the results without a reload; mark the document to prove it.
      await page.evaluate(() => { window.__e2eSameDocument = true; });
      await htmxFilter(page, () => page.selectOption('select#district', 'Tianhe'), { district: 'Tianhe' });
      await expectText(page.locator('#results p.count strong'), '21');
      await expectCount(page.locator('#results li.office'), 21);

      const open24 = page.locator('input#open24');
      const open24Label = page.locator('label', { has: open24 });
      await expectText(open24Label, '24小時開放');
      await htmxFilter(page, () => open24.check(), { district: 'Tianhe', open24: '1' });
      assert.equal(await page.evaluate(() => window.__e2eSameDocument), true, 'filtering must not reload the page');
      assert.equal(await page.locator('select#district').inputValue(), 'Tianhe');
      assert.equal(await open24.isChecked(), true);

      await expectText(page.locator('#results p.count strong'), '14');
      await expectCount(page.locator('#results li.office'), 14);
      const offices = await readOffices(page);
      assert.equal(offices.length, 14);
      for (const office of offices) {
        assert.deepEqual(office.badges24, ['24小時開放'], `24h badge on ${office.name}`);
        assert.match(office.meta, /天河區/, `${office.name} lies in 天河區`);
        assert.match(office.href, /^\/offices\/[^/]+$/, `${office.name} links to its page`);
      }

      // The first office's detail page.
      const first = offices[0];
      await page.locator('#results li.office').first().locator('a').click();
      await page.waitForURL((url) => url.pathname === first.href);
      await expectText(page.locator('main h1'), first.name);
      await expectText(page.locator('main .badge.ok'), '24小時開放');
      await expectAttribute(html, 'lang', 'zh-Hant');
      // Its address in the page's language: Traditional here, English on the English page.
      await expectText(page.locator('#office-address'), /^廣州市天河區/);
      await page.locator('nav.langs a[hreflang="en"]').click();
      await expectAttribute(html, 'lang', 'en');
      await expectText(page.locator('#office-address'), /Tianhe District, Guangzhou$/);
    }));

  test('Accept-Language zh-HK alone yields Traditional Chinese on the first visit', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, extraHTTPHeaders: { 'Accept-Language': 'zh-HK' } }, async ({ page, context }) => {
      assert.deepEqual(await context.cookies(), [], 'a first visit carries no cookies');
      const res = await page.goto('/');
      assert.equal(res.status(), 200);
      assert.equal((await res.request().allHeaders())['accept-language'], 'zh-HK');
      await expectAttribute(page.locator('html'), 'lang', 'zh-Hant');
      await expectAttribute(page.locator('nav.langs a[hreflang="zh-Hant"]'), 'aria-current', 'true');
      await expectText(page.locator('nav.main-nav a'), '辦理網點');
    }));

  test('without JavaScript the filter form still works by submitting it', (t) =>
    withPage(t, demo.browser, {
      baseURL: demo.server.baseURL,
      javaScriptEnabled: false,
      extraHTTPHeaders: { 'Accept-Language': 'en' },
    }, async ({ page }) => {
      await page.goto('/offices');
      await expectAttribute(page.locator('html'), 'lang', 'en');
      await page.selectOption('select#district', 'Tianhe');
      await page.locator('input#open24').check();
      await page.locator('form.filters button[type="submit"]').click();
      await page.waitForURL((url) =>
        url.pathname === '/offices' &&
        url.searchParams.get('district') === 'Tianhe' &&
        url.searchParams.get('open24') === '1');
      await expectText(page.locator('#results p.count strong'), '14');
      await expectCount(page.locator('#results li.office'), 14);
      const offices = await readOffices(page);
      assert.ok(offices.every((o) => o.badges24.length === 1), 'every office has the 24h badge');
      assert.ok(offices.every((o) => /Tianhe/.test(o.meta)), `all in Tianhe: ${JSON.stringify(offices.map((o) => o.meta))}`);
    }));
});
