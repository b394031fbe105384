// A non-Chinese permanent resident of Hong Kong applies online for the Mainland Travel
// Permit: registers with an email address (the link, with which the password is chosen,
// comes through the dev outbox), fills in the form, uploads the identity card and passport, submits; a reviewer asks for a clearer
// passport page (the email lists it in the applicant's language); the applicant adds it and
// resubmits; the reviewer approves; the applicant books a service centre, is accepted at the
// counter, pays HK$260, and collects the HA permit at the kiosk.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, staffLogin, withPage } from '../lib/browser.js';
import { expectText } from '../lib/expect.js';
import { nextMondayMorning, pairDevice, png } from '../lib/centre.js';
import { startServer } from '../lib/server.js';

let server;
let browser;

// The demo's clock starts on a Monday morning so the centre is open after the booking.
const MONDAY = nextMondayMorning();

before(async () => {
  server = await startServer({ people: 200, clockStart: MONDAY });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const EN = { extraHTTPHeaders: { 'Accept-Language': 'en' } };
const EMAIL = 'j.smith@example.org';
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC',
  'base64',
);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');

/** The newest email to `to` in the development outbox (the worker delivers within a second or two). */
async function lastEmail(to, mustContain) {
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${server.baseURL}/api/v1/dev/outbox`);
    const list = await res.json();
    const m = list.find((x) => x.channel === 'email' && x.recipient === to && x.body.includes(mustContain));
    if (m) return m;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`no email to ${to} containing ${mustContain}`);
}

async function upload(page, purpose, name, mimeType, buffer) {
  await page.locator('#purpose').selectOption(purpose);
  await page.locator('#file').setInputFiles({ name, mimeType, buffer });
  await page.locator('#upload').click();
  await page.waitForURL((u) => u.hash === '#documents');
}

describe('non-Chinese permit pre-application', () => {
  test('register → apply with uploads → supplements by email → resubmit → approved → book → centre → collect', (t) =>
    withPage(t, browser, { baseURL: server.baseURL, ...EN, viewport: { width: 390, height: 844 } }, async ({ page, context }) => {
      await page.goto('/apply');
      await page.locator('#register-link').click();
      await page.locator('#email').fill(EMAIL);
      await page.locator('#lang').selectOption('zh-Hant');
      await page.locator('#register').click();
      await expectText(page.locator('#check-email'), /sent it a link/);
      const verify = await lastEmail(EMAIL, '/apply/verify?token=');
      const link = verify.body.match(/https?:\/\/\S+\/apply\/verify\?token=[0-9a-f]+/)[0];
      await page.goto(new URL(link).pathname + new URL(link).search);
      // The link proves the mailbox: the password is chosen here.
      await page.locator('#password').fill('correct horse battery');
      await page.locator('#set-password').click();
      await page.waitForURL((u) => u.pathname === '/apply/applications');
      await page.locator('#start').click();
      await page.waitForURL((u) => /^\/apply\/applications\/[0-9a-f]+$/.test(u.pathname));
      const path = new URL(page.url()).pathname;

      await page.locator('#name_latin').fill('SMITH, JOHN');
      await page.locator('#sex').selectOption('M');
      await page.locator('#date_of_birth').fill('1980-05-01');
      await page.locator('#nationality').fill('gbr');
      await page.locator('#region').selectOption('hong_kong');
      await page.locator('#permanent_id').fill('A123456(3)');
      await page.locator('#passport_number').fill('123456789');
      await page.locator('#passport_expiry').fill('2031-01-01');
      await page.locator('#address').fill("1 Queen's Road Central, Hong Kong");
      await page.locator('#phone').fill('+852 9123 4567');
      await page.locator('#save').click();
      await page.waitForURL((u) => u.hash === '#documents');
      await upload(page, 'id_card_front', 'hkid-front.png', 'image/png', PNG);
      await upload(page, 'id_card_back', 'hkid-back.png', 'image/png', PNG);
      // A zip named like a photo is refused with a clear message.
      await page.locator('#purpose').selectOption('passport');
      await page.locator('#file').setInputFiles({ name: 'passport.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('PK\x03\x04not really') });
      await page.locator('#upload').click();
      await expectText(page.locator('[role="alert"]'), /JPEG, PNG or PDF/);
      await upload(page, 'passport', 'passport.pdf', 'application/pdf', PDF);
      await page.locator('#submit').click();
      await expectText(page.locator('#hrp-status'), /waiting for review/);

      // The reviewer asks for a clearer passport page.
      const office = await context.browser().newContext({ baseURL: server.baseURL, ...EN, viewport: { width: 1400, height: 900 } });
      const reviewer = await office.newPage();
      await staffLogin(reviewer, 'reviewer', 'demo-reviewer-pass');
      await reviewer.locator('a[href="/staff/pre-applications"]').first().click();
      await reviewer.locator('#waiting button').first().click();
      await expectText(reviewer.locator('#details'), /SMITH, JOHN/);
      await reviewer.locator('input[name="item"][value="passport"]').check();
      await reviewer.locator('#supplement-note').fill('The data page is cut off at the bottom.');
      await reviewer.locator('#request-supplements').click();
      await reviewer.waitForURL((u) => u.pathname === '/staff/pre-applications');

      const ask = await lastEmail(EMAIL, 'cut off at the bottom');
      assert.match(ask.body, /護照/, 'the email is in the language the applicant chose');
      await page.goto(path);
      await expectText(page.locator('#hrp-status'), /add documents/);
      await expectText(page.locator('#requested li'), /passport/);
      await upload(page, 'passport', 'passport-full.pdf', 'application/pdf', PDF);
      await page.locator('#submit').click();
      await expectText(page.locator('#hrp-status'), /waiting for review/);

      // Second round: approved.
      await reviewer.goto('/staff/pre-applications');
      await reviewer.locator('#waiting button').first().click();
      await reviewer.locator('#approve').click();
      await reviewer.waitForURL((u) => u.pathname === '/staff/pre-applications');
      await office.close();
      const approved = await lastEmail(EMAIL, `${path}/book`);
      assert.ok(approved.subject);

      await page.goto(path);
      await expectText(page.locator('#hrp-status'), /Approved/);
      await page.locator('#book-link').click();
      await page.locator('#office').selectOption('GZ-YX-002');
      await page.locator('#date').fill(MONDAY.slice(0, 10));
      await page.locator('#find-slots').click();
      await page.locator('#book').click();
      const booking = (await page.locator('#booking-reference').textContent()).trim();

      // At the centre that day: ticket, photo, counter acceptance against the approved
      // pre-application, HK$260, processing, and collection at the kiosk with the HKID.
      const hall = await context.browser().newContext({ baseURL: server.baseURL, ...EN });
      const printer = await hall.newPage();
      await pairDevice(printer, server, 'printer');
      await printer.locator('#reference').fill(booking);
      await printer.getByRole('button', { name: 'Check in and print the ticket' }).click();
      await expectText(printer.locator('#ticket-label'), /^[A-Z]\d{3}$/);
      const ticket = (await printer.locator('#ticket-label').textContent()).trim();
      await hall.close();

      const desk = await context.browser().newContext({ baseURL: server.baseURL, ...EN, viewport: { width: 1280, height: 900 } });
      const clerk = await desk.newPage();
      await staffLogin(clerk, 'clerk', 'demo-clerk-pass');
      await clerk.goto('/staff/centre/photo');
      await clerk.locator('#photo').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: png(390, 567) });
      await clerk.getByRole('button', { name: 'Check and keep the photo' }).click();
      await clerk.waitForURL((u) => u.pathname.startsWith('/staff/centre/photos/'));
      const photoCode = (await clerk.locator('#photo-receipt-code').textContent()).trim();
      await clerk.goto('/staff/centre/counter?counter=7');
      await clerk.locator('#call-next').click();
      await expectText(clerk.locator('#serving-label'), ticket);
      await clerk.locator('#product').selectOption('hrp_non_chinese_first');
      await clerk.getByRole('button', { name: 'Choose' }).click();
      const boxes = clerk.locator('input[name="checklist"]');
      for (let i = 0; i < await boxes.count(); i++) await boxes.nth(i).check();
      await clerk.locator('#id_number').fill('A123456(3)');
      await clerk.locator('#photo_receipt').fill(photoCode);
      await clerk.locator('#accept').click();
      await clerk.waitForURL((u) => u.pathname.startsWith('/staff/centre/applications/'));
      await expectText(clerk.locator('#fee'), 'HKD 260.00');
      await clerk.locator('#method').selectOption('octopus');
      await clerk.locator('#pay').click();
      await clerk.waitForURL((u) => u.pathname.endsWith('/receipt'));
      const receipt = (await clerk.locator('#receipt-reference').textContent()).trim();
      await desk.close();

      const back = await context.browser().newContext({ baseURL: server.baseURL, ...EN });
      const approver = await back.newPage();
      await staffLogin(approver, 'approver', 'demo-approver-pass');
      await approver.getByRole('link', { name: 'Processing' }).click();
      await approver.getByRole('link', { name: receipt }).click();
      await approver.locator('#mark-ready').click();
      const permit = (await approver.locator('#new-document').textContent()).trim();
      assert.match(permit, /^HA\d{7}$/);
      await back.close();

      const machine = await context.browser().newContext({ baseURL: server.baseURL, ...EN, viewport: { width: 1080, height: 1920 } });
      const kiosk = await machine.newPage();
      await pairDevice(kiosk, server, 'kiosk');
      await kiosk.locator('#reference').fill(receipt);
      await kiosk.locator('#id_number').fill('A123456(3)');
      await kiosk.locator('#collect').click();
      await expectText(kiosk.locator('#new-number'), permit);
      await machine.close();
    }));
});
