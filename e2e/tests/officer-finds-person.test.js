// Journey: a counter clerk signs in, looks up a permit holder by document
// number, sees only what a clerk may see, and signs out again.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withPage } from '../lib/browser.js';
import { expectCount, expectText } from '../lib/expect.js';
import { useDemo } from '../lib/server.js';

const demo = useDemo({});

const FULL_ID_NUMBER = '11010519491231002X';

/** Asserts that the page sits on the sign-in form with next=/staff. */
function assertOnLogin(page) {
  const url = new URL(page.url());
  assert.equal(url.pathname, '/staff/login', `expected the sign-in page, got ${page.url()}`);
  assert.equal(url.searchParams.get('next'), '/staff', 'sign-in remembers where to go back to');
}

describe('officer finds a person', () => {
  test('clerk signs in, finds CA1234567, is kept out of admin and signs out', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, extraHTTPHeaders: { 'Accept-Language': 'en' } }, async ({ page }) => {
      // Anonymous visitors are sent to the sign-in page.
      const anon = await page.goto('/staff');
      assertOnLogin(page);
      assert.equal(anon.status(), 200);
      const redirect = anon.request().redirectedFrom();
      assert.ok(redirect, '/staff answered with a redirect');
      assert.equal(new URL(redirect.url()).pathname, '/staff');
      assert.equal((await redirect.response()).status(), 303);

      // A wrong password shows an alert and keeps the clerk on the form (post, redirect,
      // get: the form again at its own address, the name kept).
      await page.locator('#username').fill('clerk');
      await page.locator('#password').fill('not-the-password');
      const rejected = page.waitForResponse((res) =>
        new URL(res.url()).pathname === '/staff/login' && res.request().method() === 'POST');
      await page.locator('main form button[type="submit"]').click();
      assert.equal((await rejected).status(), 303);
      await expectText(page.locator('main .error-summary'), /wrong username or password/i);
      assert.equal(new URL(page.url()).pathname, '/staff/login');
      assert.equal(await page.locator('#username').inputValue(), 'clerk');

      // The right password leads to the officer desk.
      await page.locator('#username').fill('clerk');
      await page.locator('#password').fill('demo-clerk-pass');
      await page.locator('main form button[type="submit"]').click();
      await page.waitForURL((url) => url.pathname === '/staff');
      await expectCount(page.locator('main .error-summary'), 0);

      // Search by EEP card number, typed in lower case.
      await page.locator('input#q').fill('ca1234567');
      await page.locator('main form[role="search"] button[type="submit"]').click();
      await page.waitForURL((url) => url.pathname === '/staff/search' && url.searchParams.get('q') === 'ca1234567');
      const rows = page.locator('table.dense tbody tr');
      await expectCount(rows, 1);
      const link = rows.first().locator('a[href^="/staff/people/"]');
      await expectText(link, /李华\s+LI HUA/);
      const rowText = await rows.first().textContent();
      assert.ok(!rowText.includes(FULL_ID_NUMBER), `identity number must be masked in results: ${rowText}`);

      // The person page.
      const href = await link.getAttribute('href');
      await link.click();
      await page.waitForURL((url) => url.pathname === href);
      const h1 = page.locator('main h1');
      await expectText(h1, /李华/);
      await expectText(h1, /LI HUA/);

      const documents = page.locator('table#documents tbody tr');
      const card = documents.filter({ has: page.locator('td', { hasText: /^\s*CA1234567\s*$/ }) });
      await expectCount(card, 1);
      const status = card.locator('.status');
      await expectCount(status, 1);
      assert.match(await status.getAttribute('class'), /\bstatus-valid\b/);
      await expectText(status, 'Valid');

      const idNumber = page.locator('main dl.facts dd code');
      await expectCount(idNumber, 1);
      const shown = (await idNumber.textContent()).trim();
      assert.ok(shown.includes('*'), `identity number is masked: ${shown}`);
      assert.ok(!shown.includes(FULL_ID_NUMBER), `identity number is not shown in full: ${shown}`);
      assert.ok(!(await page.content()).includes(FULL_ID_NUMBER), 'full identity number appears nowhere on the page');

      // The person's sign-in and how it was bound, for the officer to see (number masked).
      await expectText(page.locator('#account-mobile'), '137****7000');
      await expectText(page.locator('#account-history'), /Sign-in bound to this person/);

      // A counter clerk may not manage users.
      const forbidden = await page.goto('/staff/admin/users');
      assert.equal(forbidden.status(), 403);

      // Sign out straight from the 403 page's header; the desk is closed again.
      const signOut = page.locator('header form[action="/staff/logout"] button[type="submit"]');
      await expectText(signOut, /sign out/i);
      await signOut.click();
      await page.waitForURL((url) => url.pathname !== '/staff');
      await expectCount(signOut, 0);
      await expectText(page.locator('nav.main-nav a'), 'Staff sign-in');
      await page.goto('/staff');
      assertOnLogin(page);
    }));
});
