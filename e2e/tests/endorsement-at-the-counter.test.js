// A family-visit (T) endorsement taken at the counter: the clerk finds the card holder,
// checks the documents for the type, takes the fee in cash; a reviewer confirms the declared
// relative; the holder then sees on her phone from which day a kiosk prints it.
import { describe, test } from 'node:test';
import { EN, holderLogin, staffLogin, withPage } from '../lib/browser.js';
import { expectText } from '../lib/expect.js';
import { useDemo } from '../lib/server.js';

const demo = useDemo({ people: 200 });

describe('endorsements at the counter', () => {
  test('clerk accepts a family visit → cash → reviewer confirms the relative → holder sees the print date', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 1280, height: 900 } }, async ({ page, context }) => {
      await staffLogin(page, 'clerk', 'demo-clerk-pass');
      await page.goto('/staff/centre');
      await page.locator('#tile-endorsements').click();
      await page.locator('#lookup-id').fill('11010519491231002x');
      await page.locator('#lookup').click();
      await expectText(page.locator('#card-number'), /CA1234567/);
      await page.locator('#kind-T').click();
      await page.locator('#destination').selectOption('hong_kong');
      await page.locator('#variant').selectOption('3:multiple');
      await page.locator('#relation').selectOption('spouse');
      await page.locator('#relative_name').fill('王伟');
      // Forgetting the proof of relation: refused, with what was typed kept.
      for (const c of ['identity_card', 'eep_card', 'application_form']) {
        await page.locator(`input[name="checklist"][value="${c}"]`).check();
      }
      await page.locator('#cend-accept').click();
      await expectText(page.locator('[role="alert"]'), /Tick every document/);
      await page.locator('input[name="checklist"][value="relation_proof"]').check();
      await page.locator('#cend-accept').click();
      await page.waitForURL((u) => /^\/staff\/centre\/endorsements\/[0-9a-f]+$/.test(u.pathname));
      await expectText(page.locator('#cend-status'), 'Waiting for payment');
      await expectText(page.locator('#fee'), 'CNY 80.00');
      await page.locator('#method').selectOption('cash');
      await page.locator('#pay').click();
      await expectText(page.locator('#cend-status'), /relation being checked/);
      const readyOn = (await page.locator('#ready-on').textContent()).trim();

      const office = await context.browser().newContext({ baseURL: demo.server.baseURL, ...EN });
      const reviewer = await office.newPage();
      await staffLogin(reviewer, 'reviewer', 'demo-reviewer-pass');
      await reviewer.locator('a[href="/staff/endorsements/review"]').click();
      await reviewer.locator('main table a').first().click();
      await expectText(reviewer.locator('#relation'), /王伟/);
      await reviewer.locator('#note').fill('Marriage certificate and HKID of the spouse seen');
      await reviewer.locator('#approve').click();
      await reviewer.waitForURL((u) => u.pathname === '/staff/endorsements/review');
      await expectText(reviewer.locator('#review-empty'), /Nothing waiting/);
      await office.close();

      const phone = await context.browser().newContext({ baseURL: demo.server.baseURL, ...EN, viewport: { width: 390, height: 844 } });
      const holder = await phone.newPage();
      await holderLogin(holder, '/my/endorsements');
      await holder.locator('main h2 a', { hasText: 'Family visit' }).click();
      await expectText(holder.locator('#end-status'), 'Paid, ready to print');
      await expectText(holder.locator('main p.muted', { hasText: 'Printable at a kiosk from' }), new RegExp(readyOn));
      await phone.close();
    }));
});
