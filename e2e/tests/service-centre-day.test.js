// The whole day at a service centre: 李华 books an appointment online, checks in at the
// ticket printer, has her photo taken, is called on the waiting-room display, the counter
// accepts her card renewal and takes the fee, the back office finishes processing, and she
// collects the new card at a kiosk after inserting the old one, which is recorded as surrendered.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EN, holderLogin, staffLogin, withPage } from '../lib/browser.js';
import { collectAtKiosk, nextMondayMorning, pairDevice as pair, png } from '../lib/centre.js';
import { expectCount, expectText } from '../lib/expect.js';
import { useDemo } from '../lib/server.js';

const OFFICE = 'GZ-YX-002';

const MONDAY = nextMondayMorning();

const demo = useDemo({ people: 200, clockStart: MONDAY });

const pairDevice = (page, kind) => pair(page, demo.server, kind);

describe('a day at the service centre', () => {
  test('book → check in → photo → called → accepted → paid → processed → collected', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 390, height: 844 } }, async ({ page, context }) => {
      // 1. Online, on a phone: sign in and book the next free time today.
      await holderLogin(page, '/my/appointments');
      await page.locator('#new-appointment').click();
      await page.locator('#service').selectOption('eep_application');
      await page.locator('#office').selectOption(OFFICE);
      await page.locator('#date').fill(MONDAY.slice(0, 10));
      await page.locator('#find-slots').click();
      // Times inside the two-hour change cut-off are not offered, and the page says so.
      await expectText(page.locator('#too-soon'), /at least 2 hours ahead/);
      const first = await page.locator('fieldset.slots input[type="radio"]').first().getAttribute('value');
      assert.ok(Date.parse(first) >= Date.parse(MONDAY) + 2 * 3600 * 1000, `${first} is outside the cut-off`);
      await page.locator('#book').click();
      await page.waitForURL((u) => /^\/my\/appointments\/[0-9a-f]+$/.test(u.pathname));
      await expectCount(page.locator('.qr svg'), 1);
      const reference = (await page.locator('#appt-reference').textContent()).trim();
      assert.match(reference, /^[A-Z2-9]{10}$/);
      await expectText(page.locator('#appt-status'), 'Booked');
      // Booking the same service again is refused with a clear message.
      await page.goto(`/my/appointments/new?service=eep_application&office=${OFFICE}&date=${MONDAY.slice(0, 10)}`);
      await page.locator('#book').click();
      await expectText(page.locator('main .error-summary'), /already have an appointment/);

      // 2. At the ticket printer: scan (type) the reference.
      const printer = await context.browser().newContext({ baseURL: demo.server.baseURL, ...EN });
      const ticketPage = await printer.newPage();
      await pairDevice(ticketPage, 'printer');
      await ticketPage.locator('#reference').fill(reference.toLowerCase());
      await ticketPage.getByRole('button', { name: 'Check in and print the ticket' }).click();
      await expectText(ticketPage.locator('#ticket-label'), /^A\d{3}$/);
      const ticket = (await ticketPage.locator('#ticket-label').textContent()).trim();
      // A walk-in after her: her appointment (and her age, 76) puts her first anyway.
      await ticketPage.locator('input[name="service"][value="eep_application"]').check();
      await ticketPage.getByRole('button', { name: 'Print a ticket' }).click();
      await expectText(ticketPage.locator('#ticket-label'), /^A\d{3}$/);
      await printer.close();

      // 3. The waiting-room display, left open: it updates without reloading.
      const hall = await context.browser().newContext({ baseURL: demo.server.baseURL, ...EN, viewport: { width: 1920, height: 1080 } });
      const display = await hall.newPage();
      await display.goto(`/display/${OFFICE}`);
      // Everyone in the room reads it: the page's language first, then the other two.
      await expectText(display.locator('main h1 span[lang="en"]'), 'Now calling');
      await expectText(display.locator('main h1 span[lang="zh-Hans"]'), '正在叫号');
      await expectText(display.locator('main h1 span[lang="zh-Hant"]'), '現正叫號');

      // 4. Staff: the clerk takes the photo, calls her, accepts and takes the fee.
      const staff = await context.browser().newContext({ baseURL: demo.server.baseURL, ...EN, viewport: { width: 1280, height: 900 } });
      const clerk = await staff.newPage();
      await staffLogin(clerk, 'clerk', 'demo-clerk-pass');
      await clerk.getByRole('link', { name: 'Service centre', exact: true }).click();
      await clerk.getByRole('link', { name: 'Photo station' }).click();
      await clerk.locator('#photo').setInputFiles({ name: 'tiny.png', mimeType: 'image/png', buffer: png(40, 40) });
      await clerk.getByRole('button', { name: 'Check and keep the photo' }).click();
      await expectText(clerk.locator('main .error-summary'), /too small/);
      await clerk.locator('#photo').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: png(390, 567) });
      await clerk.getByRole('button', { name: 'Check and keep the photo' }).click();
      await clerk.waitForURL((u) => u.pathname.startsWith('/staff/centre/photos/'));
      await expectCount(clerk.locator('.barcode svg'), 1);
      const photoCode = (await clerk.locator('#photo-receipt-code').textContent()).trim();

      await clerk.goto('/staff/centre/counter?counter=5');
      await clerk.locator('#call-next').click();
      await expectText(clerk.locator('#serving-label'), ticket);
      await expectText(display.locator('#board tr.latest td').first(), ticket, { timeout: 15_000 });
      await expectText(display.locator('#board tr.latest td').nth(1), '5');

      await clerk.locator('#product').selectOption('eep_card_renewal');
      await clerk.getByRole('button', { name: 'Choose' }).click();
      await clerk.locator('#photo_receipt').fill(photoCode);
      // One document unticked: refused, nothing accepted.
      const boxes = clerk.locator('input[name="checklist"]');
      await expectCount(boxes, 4);
      for (let i = 0; i < 3; i++) await boxes.nth(i).check();
      await clerk.locator('#accept').click();
      await expectText(clerk.locator('main .error-summary'), /Tick every document/);
      // What was entered is still there; only the missing box needs a tick.
      assert.equal(await clerk.locator('input[name="checklist"]').nth(0).isChecked(), true);
      assert.equal(await clerk.locator('#photo_receipt').inputValue(), photoCode);
      for (let i = 0; i < 4; i++) await clerk.locator('input[name="checklist"]').nth(i).check();
      await clerk.locator('#photo_receipt').fill(photoCode);
      await clerk.locator('#accept').click();
      await clerk.waitForURL((u) => u.pathname.startsWith('/staff/centre/applications/'));
      await expectText(clerk.locator('#fee'), 'CNY 60.00');
      await clerk.locator('#method').selectOption('yang_cheng_tong');
      await clerk.locator('#pay').click();
      await clerk.waitForURL((u) => u.pathname.endsWith('/receipt'));
      const receiptRef = (await clerk.locator('#receipt-reference').textContent()).trim();
      assert.match(receiptRef, /^R\d{11}$/);
      await expectText(clerk.locator('#collection-date'), /^\d{4}-\d{2}-\d{2}$/);
      await expectCount(clerk.locator('.receipt .barcode svg'), 1);
      await expectText(clerk.locator('.receipt'), /Yang Cheng Tong · SBX-/);
      // The office by its name, not its code.
      await expectText(clerk.locator('#receipt-office'), /Exit-Entry Administration Detachment/);

      // 5. Back office: processing done.
      const office = await context.browser().newContext({ baseURL: demo.server.baseURL, ...EN });
      const approver = await office.newPage();
      await staffLogin(approver, 'approver', 'demo-approver-pass');
      await approver.getByRole('link', { name: 'Processing' }).click();
      await approver.getByRole('link', { name: receiptRef }).click();
      await approver.locator('#mark-ready').click();
      await expectText(approver.locator('#app-status'), 'Ready for collection');
      const newNumber = (await approver.locator('#new-document').textContent()).trim();
      assert.match(newNumber, /^C[A-HJ-NP-Z]\d{7}$/);

      // 6. The collection kiosk: receipt barcode + identity number; a wrong number is refused.
      const machine = await context.browser().newContext({ baseURL: demo.server.baseURL, ...EN, viewport: { width: 1080, height: 1920 } });
      const kiosk = await machine.newPage();
      await pairDevice(kiosk, 'kiosk');
      await collectAtKiosk(kiosk, { reference: receiptRef, idNumber: '440106199001010010' });
      await expectText(kiosk.locator('main .error-summary'), /do not match/);
      // The old card goes into the slot first: nothing is released without it.
      await collectAtKiosk(kiosk, { reference: receiptRef, idNumber: '11010519491231002X' });
      await expectText(kiosk.locator('main .error-summary'), /Insert the permit being renewed/);
      await collectAtKiosk(kiosk, { reference: receiptRef, idNumber: '11010519491231002X', oldPermit: 'CA1234567' });
      await expectText(kiosk.locator('#new-number'), newNumber);
      await expectText(kiosk.locator('#surrendered'), /CA1234567/);

      // 7. The uncollected list is empty again, and the registry shows the old card surrendered.
      await clerk.goto('/staff/centre/applications?status=ready');
      await expectText(clerk.locator('main p'), 'No applications here.');
      for (const c of [machine, office, staff, hall]) await c.close();
    }));

  test('a mainland resident creates a sign-in with an SMS code and a face check, in Simplified Chinese', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, extraHTTPHeaders: { 'Accept-Language': 'zh-CN' }, viewport: { width: 390, height: 844 } }, async ({ page }) => {
      await page.goto('/my/login');
      await page.locator('#signup-link').click();
      await page.waitForURL((u) => u.pathname === '/my/signup');
      await page.locator('#id_number').fill('11010519491231002X');
      await page.locator('#name').fill('王五');
      await page.locator('#mobile').fill('13800000001');
      await page.locator('#password').fill('my own long password');
      await page.locator('main form button[type="submit"]').click();
      await expectText(page.locator('main .error-summary'), /没有与该证件号码和姓名相符/);
      await page.locator('#name').fill('李华');
      await page.locator('#password').fill('my own long password');
      await page.locator('main form button[type="submit"]').click();
      await page.waitForURL((u) => /^\/my\/signup\/[0-9a-f]+$/.test(u.pathname));
      let code;
      for (let i = 0; i < 100 && !code; i++) {
        const outbox = await (await fetch(`${demo.server.baseURL}/api/v1/dev/outbox`)).json();
        code = outbox.find((m) => m.recipient === '13800000001')?.body.match(/\d{6}/)?.[0];
        if (!code) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(code, 'the sign-up code reached the outbox');
      await page.locator('#code').fill(code);
      await page.locator('main form button[type="submit"]').click();
      // The phone is proved; the person is proved by a face check before anything is bound.
      await page.waitForURL((u) => /^\/my\/signup\/[0-9a-f]+\/face$/.test(u.pathname));
      await expectCount(page.locator('#dev-face-note'), 1);
      await page.goto('/my');
      await page.waitForURL((u) => u.pathname === '/my/login');
      await page.goBack();
      await page.locator('#photo').setInputFiles({ name: 'selfie.png', mimeType: 'image/png', buffer: png(64, 64) });
      await page.locator('main form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/my/appointments');
      await expectCount(page.locator('#new-appointment'), 1);
    }));
});
