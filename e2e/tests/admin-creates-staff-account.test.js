// Journey: an administrator creates a reviewer's account, the new reviewer signs in, may
// search the registry, and may not open the administrator's pages; the audit log records it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withPage } from '../lib/browser.js';
import { expectCount, expectText } from '../lib/expect.js';
import { useDemo } from '../lib/server.js';

const demo = useDemo({});

async function signIn(page, username, password) {
  await page.goto('/staff/login');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('main form button[type="submit"]').click();
  await page.waitForURL((url) => url.pathname === '/staff');
}

describe('admin creates a staff account', () => {
  test('a new reviewer can sign in and search, but not administer', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, extraHTTPHeaders: { 'Accept-Language': 'en' } }, async ({ page }) => {
      await signIn(page, 'admin', 'demo-admin-pass');
      await page.locator('nav.main-nav a', { hasText: 'Staff accounts' }).click();
      await page.waitForURL((url) => url.pathname === '/staff/admin/users');

      // Too short a password is refused with a clear message and nothing is created.
      const form = page.locator('main form[action="/staff/admin/users"]');
      await form.locator('input[name="username"]').fill('reviewer.wong');
      await form.locator('input[name="password"]').fill('short');
      // Bypass the browser's own minlength check to see the server's answer.
      await form.locator('input[name="password"]').evaluate((el) => el.removeAttribute('minlength'));
      await form.locator('select[name="role"]').selectOption('reviewer');
      await form.locator('button[type="submit"]').click();
      await expectText(page.locator('main .error-summary'), /at least 10 characters/i);
      await expectCount(page.locator('main table td', { hasText: 'reviewer.wong' }), 0);

      await form.locator('input[name="username"]').fill('reviewer.wong');
      await form.locator('input[name="password"]').fill('a long reviewer password');
      await form.locator('select[name="role"]').selectOption('reviewer');
      await form.locator('input[name="office"]').fill('GZ-TH-001');
      await form.locator('button[type="submit"]').click();
      await expectText(page.locator('main p.notice'), /reviewer\.wong/);
      await expectText(page.locator('main table td'), 'reviewer.wong');

      // The audit log shows who created the account.
      await page.locator('nav.main-nav a', { hasText: 'Audit log' }).click();
      await expectText(page.locator('main p.notice'), /intact/i);
      await expectText(page.locator('main table code'), 'staff:reviewer.wong');

      // Sign out, sign in as the new reviewer.
      await page.locator('header form[action="/staff/logout"] button[type="submit"]').click();
      await page.waitForURL((url) => url.pathname === '/');
      await signIn(page, 'reviewer.wong', 'a long reviewer password');
      await page.locator('#q').fill('H12345678');
      await page.locator('main form[role="search"] button[type="submit"]').click();
      await expectText(page.locator('table.dense a'), /CHAN TAI MAN/);
      await expectCount(page.locator('nav.main-nav a', { hasText: 'Staff accounts' }), 0);
      const forbidden = await page.goto('/staff/admin/users');
      assert.equal(forbidden.status(), 403);
    }));
});
