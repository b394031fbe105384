// A non-Chinese permanent resident of Hong Kong applies online for the Mainland Travel
// Permit: registers with an email address (the link, with which the password is chosen,
// comes through the dev outbox), fills in the form, uploads the identity card and passport,
// submits; a reviewer asks for a clearer passport page (the email lists it in the
// applicant's language); the applicant adds it and resubmits; the reviewer approves; the
// applicant books the CTS Kowloon Service Centre in Hong Kong (the CTS centres are the only
// ones taking the permit), is accepted at its counter, pays HK$260 by EPS, and collects the
// HA permit at its kiosk. Then a holder renews there: same number, the old card handed in.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { staffLogin, withPage } from '../lib/browser.js';
import { expectText } from '../lib/expect.js';
import { collectAtKiosk, nextMondayMorning } from '../lib/centre.js';
import {
  seeMoveCancelAndRebook, submitApplication,
  EN, HK_CENTRE, PDF, PNG, atTheCentre, book, fillForm, kioskPage, lastEmail, processed, registerAndStart, upload,
} from '../lib/applicant.js';
import { useDemo } from '../lib/server.js';

// The demo's clock starts on a Monday morning (not a Hong Kong public holiday) so the
// centre is open after the booking.
const MONDAY = nextMondayMorning();

const demo = useDemo({ people: 200, clockStart: MONDAY });

const EMAIL = 'j.smith@example.org';

describe('non-Chinese permit pre-application', () => {
  test('register → apply with uploads → supplements by email → resubmit → approved → book → centre → collect', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 390, height: 844 } }, async ({ page, context }) => {
      const path = await registerAndStart(page, demo.server, EMAIL, 'zh-Hant');
      // A fresh draft shows no errors; the nationality is a country picked by its name.
      assert.equal(await page.locator('.field-error, #error-summary').count(), 0, 'no errors before saving');
      assert.equal(await page.locator('#nationality option[value="GBR"]').textContent(), 'United Kingdom');
      // Saving half a form leads to the first problem, named in plain words.
      await page.locator('#name_latin').fill('SMITH, JOHN');
      await page.locator('#save').click();
      await page.waitForURL((u) => u.search === '?check=1' && u.hash === '#error-summary');
      await expectText(page.locator('#error-summary a').first(), /Choose your sex/);
      assert.match(await page.title(), /^Error: /);
      await expectText(page.locator('#sex-error'), /Choose your sex/);
      assert.equal(await page.locator('#name_latin').inputValue(), 'SMITH, JOHN', 'what was typed is kept');
      await fillForm(page, {
        name_latin: 'SMITH, JOHN', sex: 'M', date_of_birth: '1980-05-01', nationality: 'GBR', region: 'hong_kong',
        permanent_id: 'A123456(3)', passport_number: '123456789', passport_expiry: '2031-01-01',
        address: "1 Queen's Road Central, Hong Kong", phone: '+852 9123 4567',
      });
      await upload(page, 'id_card_front', 'hkid-front.png', 'image/png', PNG);
      await upload(page, 'id_card_back', 'hkid-back.png', 'image/png', PNG);
      // A zip named like a photo is refused with a clear message.
      await page.locator('#purpose').selectOption('passport');
      await page.locator('#file').setInputFiles({ name: 'passport.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('PK\x03\x04not really') });
      await page.locator('#upload').click();
      await expectText(page.locator('#upload-error'), /^Passport data page: .*JPEG, PNG or PDF/);
      await upload(page, 'passport', 'passport.pdf', 'application/pdf', PDF);
      const confirmation = await submitApplication(page, demo.server, EMAIL, { path, nationality: 'United Kingdom' });
      assert.match(confirmation.subject, /已收到申請/, 'confirmed in the language the applicant chose');
      await expectText(page.locator('#hrp-status'), /waiting for review/);

      // The reviewer asks for a clearer passport page.
      const office = await context.browser().newContext({ baseURL: demo.server.baseURL, ...EN, viewport: { width: 1400, height: 900 } });
      const reviewer = await office.newPage();
      await staffLogin(reviewer, 'reviewer', 'demo-reviewer-pass');
      await reviewer.locator('a[href="/staff/pre-applications"]').first().click();
      await reviewer.locator('#waiting button').first().click();
      await expectText(reviewer.locator('#details'), /SMITH, JOHN/);
      await reviewer.locator('input[name="item"][value="passport"]').check();
      await reviewer.locator('#supplement-note').fill('The data page is cut off at the bottom.');
      await reviewer.locator('#request-supplements').click();
      await reviewer.waitForURL((u) => u.pathname === '/staff/pre-applications');

      const ask = await lastEmail(demo.server, EMAIL, 'cut off at the bottom');
      assert.match(ask.body, /護照/, 'the email is in the language the applicant chose');
      await page.goto(path);
      await expectText(page.locator('#hrp-status'), /add documents/);
      await expectText(page.locator('#requested li'), /passport/);
      await upload(page, 'passport', 'passport-full.pdf', 'application/pdf', PDF);
      await page.locator('#continue').click();
      await page.locator('#submit').click();
      await page.waitForURL((u) => u.pathname === `${path}/submitted`);
      await page.locator('#see-application').click();
      await expectText(page.locator('#hrp-status'), /waiting for review/);

      // Second round: approved.
      await reviewer.goto('/staff/pre-applications');
      await reviewer.locator('#waiting button').first().click();
      await reviewer.locator('#approve').click();
      await reviewer.waitForURL((u) => u.pathname === '/staff/pre-applications');
      await office.close();
      // The approval's emailed link leads to booking on this demo.server.
      const approved = await lastEmail(demo.server, EMAIL, `${path}/book`);
      const bookLink = new URL(approved.body.match(/https?:\/\/\S+\/book/)[0]);
      assert.equal(bookLink.origin, new URL(demo.server.baseURL).origin, 'the emailed link reaches this demo.server');
      await page.goto(bookLink.href);
      await page.waitForURL((u) => u.pathname === `${path}/book`);
      // The applicant lives in Hong Kong: a Hong Kong centre is chosen, its first free day's times shown.
      assert.match(await page.locator('#office').inputValue(), /^HK-/);
      assert.ok(await page.locator('input[name="slot_start"]').count() > 0);

      // Booked first two days later (still open to change), then moved, cancelled and booked
      // again for the Monday the centre steps below use.
      const later = new Date(Date.parse(MONDAY) + 2 * 86400 * 1000 + 8 * 3600 * 1000).toISOString().slice(0, 10);
      await book(page, path, HK_CENTRE, later);
      const booking = await seeMoveCancelAndRebook(page, path, HK_CENTRE, later, MONDAY.slice(0, 10));

      // At the CTS centre that day: ticket, photo, counter acceptance against the approved
      // pre-application, HK$260 by EPS, processing, and collection at the kiosk with the HKID.
      const receipt = await atTheCentre(demo.browser, demo.server, { booking, product: 'hrp_non_chinese_first', idNumber: 'A123456(3)' });
      const permit = await processed(demo.browser, demo.server, receipt);
      assert.match(permit, /^HA\d{7}$/);
      const { machine, kiosk } = await kioskPage(demo.browser, demo.server);
      await collectAtKiosk(kiosk, { reference: receipt, idNumber: 'A123456(3)' });
      await expectText(kiosk.locator('#new-number'), permit);
      await machine.close();
      await page.goto(path);
      await expectText(page.locator('#hrp-status'), /Used at the service centre/);
    }));

  // The demo's SMITH JOHN holds HA1234567 (issue 01); the renewal keeps the number.
  test('renewal: pre-application names the permit → reviewer sees it on record → centre → old permit in the slot → same number, issue 02', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 390, height: 844 } }, async ({ page, context }) => {
      const path = await registerAndStart(page, demo.server, 'john.smith@example.org', 'en');
      await fillForm(page, {
        'app-purpose': 'renewal', current_permit: 'HA1234567',
        name_latin: 'SMITH JOHN', sex: 'M', date_of_birth: '1978-11-02', nationality: 'GBR', region: 'hong_kong',
        permanent_id: 'C668668(9)', passport_number: '987654321', passport_expiry: '2032-06-30',
        address: '8 Finance Street, Central, Hong Kong', phone: '+852 9876 5432',
      });
      await upload(page, 'id_card_front', 'front.png', 'image/png', PNG);
      await upload(page, 'id_card_back', 'back.png', 'image/png', PNG);
      await upload(page, 'passport', 'passport.pdf', 'application/pdf', PDF);
      await submitApplication(page, demo.server, 'john.smith@example.org', { path });
      await expectText(page.locator('#hrp-status'), /waiting for review/);

      const office = await demo.browser.newContext({ baseURL: demo.server.baseURL, ...EN, viewport: { width: 1400, height: 900 } });
      const reviewer = await office.newPage();
      await staffLogin(reviewer, 'reviewer', 'demo-reviewer-pass');
      await reviewer.goto('/staff/pre-applications');
      await reviewer.locator('#waiting button').first().click();
      await expectText(reviewer.locator('#purpose'), /renewal.*HA1234567/);
      await expectText(reviewer.locator('.on-record'), /HA1234567 \(01\) · Valid/);
      await reviewer.locator('#approve').click();
      await reviewer.waitForURL((u) => u.pathname === '/staff/pre-applications');
      await office.close();

      const booking = await book(page, path, HK_CENTRE, MONDAY.slice(0, 10));
      const receipt = await atTheCentre(demo.browser, demo.server, { booking, product: 'hrp_non_chinese_renewal', idNumber: 'C668668(9)', method: 'octopus' });
      assert.equal(await processed(demo.browser, demo.server, receipt), 'HA1234567', 'the number is for life');

      // The old permit goes into the card slot first; nothing is released without it.
      const { machine, kiosk } = await kioskPage(demo.browser, demo.server);
      await collectAtKiosk(kiosk, { reference: receipt, idNumber: 'C668668(9)' });
      await expectText(kiosk.locator('main .error-summary'), /Insert the permit being renewed/);
      await collectAtKiosk(kiosk, { reference: receipt, idNumber: 'C668668(9)', oldPermit: 'HA1234567 01' });
      await expectText(kiosk.locator('#new-number'), 'HA1234567');
      await expectText(kiosk.locator('#surrendered'), /HA1234567/);
      await machine.close();
    }));
});
