// "My permits" (/my) shows the holder what they hold and have in progress, and offers only
// what they may apply for: the mainland demo holder (Exit-Entry Permit) gets appointments and
// endorsements, not temporary e-permits or linkage proofs. The Hong Kong holder's side is in
// linkage-proofs.test.js.
import { describe, test } from 'node:test';
import { EN, holderLogin, withPage } from '../lib/browser.js';
import { expectCount, expectText } from '../lib/expect.js';
import { useDemo } from '../lib/server.js';

const demo = useDemo({ people: 200 });

describe('my records', () => {
  test('a mainland holder sees his documents and only his offers', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN }, async ({ page }) => {
      await holderLogin(page, '/my');
      await expectText(page.locator('main h1'), 'My permits and applications');
      await expectText(page.locator('#my-documents table'), /Exit-Entry Permit \(card\)/);
      await expectText(page.locator('#my-documents table'), /CA1234567/);
      await expectCount(page.locator('#offer-endorsements'), 1);
      await expectCount(page.locator('#offer-appointments'), 1);
      await expectCount(page.locator('#offer-temporary-permit'), 0);
      await expectCount(page.locator('#offer-linkage-proof'), 0);
      // "My permits" in the navigation leads here.
      await page.goto('/offices');
      await page.locator('nav.main-nav a[href="/my"]').click();
      await page.waitForURL((u) => u.pathname === '/my');
    }));
});
