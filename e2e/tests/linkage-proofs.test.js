// Journeys: a holder signs in and gets a linkage proof online, prints it, and its QR
// payload verifies with the CLI; a counter clerk prints a paper proof for a holder who
// presents both documents, after a wrong residence-permit number is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { holderLogin, withPage } from '../lib/browser.js';
import { expectCount, expectText } from '../lib/expect.js';
import { demoFacts, issueTemporaryPermit } from '../lib/holder.js';
import { binaryPath, useDemo } from '../lib/server.js';

const demo = useDemo({ people: 200, workDir: 'linkage' });

const MOBILE = '13900139000';
const PASSWORD = 'my long travel password';


async function verifyWithCli(payload) {
  const trustFile = join(demo.work, 'trust-list.json');
  writeFileSync(trustFile, await (await fetch(`${demo.server.baseURL}/api/v1/trust-list`)).text());
  return JSON.parse(execFileSync(binaryPath(), ['credential', 'verify', '--trust-list', trustFile, payload], { encoding: 'utf8' }));
}

describe('linkage proofs', () => {
  test('a holder gets a proof online and it verifies offline', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, extraHTTPHeaders: { 'Accept-Language': 'en' } }, async ({ page }) => {
      await issueTemporaryPermit(demo.server, { mobile: MOBILE, password: PASSWORD });
      await holderLogin(page, '/my', { mobile: MOBILE, password: PASSWORD });
      // A Hong Kong resident is offered temporary permits and linkage proofs, not endorsements.
      await expectCount(page.locator('#offer-temporary-permit'), 1);
      await expectCount(page.locator('#offer-endorsements'), 0);
      await expectText(page.locator('#my-documents table'), /Home return permit/);
      await page.locator('#offer-linkage-proof').click();
      await page.getByRole('button', { name: 'Get a linkage proof' }).click();
      await page.waitForURL((u) => u.pathname.startsWith('/my/linkage-proofs/'));
      await expectText(page.locator('main h1'), /Proof of linkage/);
      await expectCount(page.locator('.proof .qr svg'), 1);
      await expectText(page.locator('#residence-permit'), demoFacts(demo.server).rp);
      await expectCount(page.getByRole('button', { name: 'Print' }), 1);
      // Printing hides the site's header and the buttons.
      await page.emulateMedia({ media: 'print' });
      assert.equal(await page.locator('header.top').isVisible(), false);
      assert.equal(await page.locator('.print-button').isVisible(), false);
      await page.emulateMedia({ media: 'screen' });
      await page.locator('details summary').click();
      const payload = (await page.locator('textarea.payload').inputValue()).trim();
      const verdict = await verifyWithCli(payload);
      assert.equal(verdict.valid, true, JSON.stringify(verdict));
      assert.equal(verdict.kind, 'linkage_proof');
    }));

  test('a counter clerk prints a paper proof', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, extraHTTPHeaders: { 'Accept-Language': 'en' } }, async ({ page }) => {
      const { rp } = demoFacts(demo.server);
      await page.goto('/staff/login');
      await page.locator('#username').fill('clerk');
      await page.locator('#password').fill('demo-clerk-pass');
      await page.locator('main form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/staff');
      await page.getByRole('link', { name: 'Linkage proofs' }).click();
      await page.locator('#travel_document_number').fill('H12345678');
      await page.locator('#residence_permit_number').fill('810000199001010011');
      await page.locator('#name').fill('CHAN TAI MAN');
      await page.getByRole('button', { name: 'Check and print' }).click();
      await expectCount(page.locator('main .error-summary'), 1);
      await page.locator('#residence_permit_number').fill(rp);
      await page.getByRole('button', { name: 'Check and print' }).click();
      await page.waitForURL((u) => u.pathname.startsWith('/staff/linkage-proofs/'));
      await expectCount(page.locator('.proof .qr svg'), 1);
      await expectText(page.locator('.proof'), /at the counter/);
      await page.locator('details summary').click();
      const verdict = await verifyWithCli((await page.locator('textarea.payload').inputValue()).trim());
      assert.equal(verdict.valid, true, JSON.stringify(verdict));
    }));
});
