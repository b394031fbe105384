// What the non-Chinese permit journeys share: the applicant's account and form, the files
// they upload, the emails in the dev outbox, and the steps at the centre after approval
// (ticket, photo, counter, payment, processing, kiosk).
import assert from 'node:assert/strict';
import { EN, staffLogin } from './browser.js';
import { expectText } from './expect.js';
import { pairDevice, png } from './centre.js';

export { EN };
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC',
  'base64',
);
export const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');

/** The newest email to `to` containing `mustContain` in the dev outbox (the worker delivers within a second or two). */
export async function lastEmail(server, to, mustContain) {
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${server.baseURL}/api/v1/dev/outbox`);
    const list = await res.json();
    const m = list.find((x) => x.channel === 'email' && x.recipient === to && x.body.includes(mustContain));
    if (m) return m;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`no email to ${to} containing ${mustContain}`);
}

export async function upload(page, purpose, name, mimeType, buffer) {
  await page.locator('#purpose').selectOption(purpose);
  await page.locator('#file').setInputFiles({ name, mimeType, buffer });
  await page.locator('#upload').click();
  await page.waitForURL((u) => u.hash === '#documents');
}

/** Registers `email`, chooses the password through the emailed link, starts an application; returns its path. */
export async function registerAndStart(page, server, email, lang) {
  await page.goto('/apply');
  await page.locator('#register-link').click();
  await page.locator('#email').fill(email);
  await page.locator('#lang').selectOption(lang);
  await page.locator('#register').click();
  await expectText(page.locator('#check-email'), /sent it a link/);
  const verify = await lastEmail(server, email, '/apply/verify?token=');
  const link = new URL(verify.body.match(/https?:\/\/\S+\/apply\/verify\?token=[0-9a-f]+/)[0]);
  // The emailed link itself, as the applicant follows it: it points at the server actually
  // running (a random port here), not a default address.
  assert.equal(link.origin, new URL(server.baseURL).origin, 'the emailed link reaches this server');
  await page.goto(link.href);
  // The link proves the mailbox: the password is chosen here.
  await page.locator('#password').fill('correct horse battery');
  await page.locator('#set-password').click();
  await page.waitForURL((u) => u.pathname === '/apply/applications');
  await page.locator('#start').click();
  await page.waitForURL((u) => /^\/apply\/applications\/[0-9a-f]+$/.test(u.pathname));
  return new URL(page.url()).pathname;
}

/** Fills in the form's fields by element id (choices in selects, text in inputs) and saves it. */
export async function fillForm(page, fields) {
  for (const [id, value] of Object.entries(fields)) {
    const field = page.locator(`#${id}`);
    if (await field.evaluate((e) => e.tagName === 'SELECT')) await field.selectOption(value);
    else await field.fill(value);
  }
  await page.locator('#save').click();
  await page.waitForURL((u) => u.hash === '#documents');
}

/**
 * From the form, once complete with its documents: on to check your answers (the
 * nationality by its name), submit, and the "what happens next" page; the confirmation
 * email (in the account's language, `mustContain`) links back to the application on this
 * server. Returns the email.
 */
export async function submitApplication(page, server, email, { path, nationality, mustContain }) {
  await page.locator('#continue').click();
  await page.waitForURL((u) => u.pathname === `${path}/check`);
  if (nationality) await expectText(page.locator('#answer-nationality'), nationality);
  await page.locator('#submit').click();
  await page.waitForURL((u) => u.pathname === `${path}/submitted`);
  assert.ok((await page.locator('#submitted-email').textContent()).includes(email), 'the confirmation names the address');
  assert.equal(await page.locator('#next-steps li').count(), 4);
  const reference = (await page.locator('#submitted-reference').textContent()).trim();
  const mail = await lastEmail(server, email, reference);
  const link = new URL(mail.body.match(/https?:\/\/\S+\/apply\/applications\/[0-9a-f]+/)[0]);
  assert.equal(link.origin, new URL(server.baseURL).origin, 'the emailed link reaches this server');
  assert.equal(link.pathname, path);
  await page.goto(link.href);
  return mail;
}

/** Books the first free slot at `office` on `day` from the approved application's page; returns the booking reference. */
export async function book(page, path, office, day) {
  await page.goto(path);
  await expectText(page.locator('#hrp-status'), /Approved/);
  await page.locator('#book-link').click();
  // Only the CTS service centres in Hong Kong take the non-Chinese permit, grouped under
  // Hong Kong, each with its earliest free time.
  const offices = await page.locator('#office option').evaluateAll((os) => os.map((o) => o.value).sort());
  assert.deepEqual(offices, ['HK-HKI-001', 'HK-KLN-001', 'HK-NT-001']);
  assert.equal(await page.locator('#office optgroup').getAttribute('label'), 'Hong Kong');
  const label = await page.locator(`#office option[value="${office}"]`).textContent();
  assert.match(label, /earliest free \d{4}-\d{2}-\d{2} \d{2}:\d{2}|no free times/);
  await page.locator('#office').selectOption(office);
  await page.locator('#date').fill(day);
  await page.locator('#find-slots').click();
  await page.locator('#book').click();
  await page.waitForURL((u) => u.pathname === `${path}/book` && u.search === '');
  return (await page.locator('#booking-reference').textContent()).trim();
}

/**
 * From /apply after booking: the booking is shown (office name, address, map, time, QR with
 * its reference), moved to another free time on `day`, cancelled after a confirmation page, and
 * booked again on `rebookDay`; returns the final reference.
 */
export async function seeMoveCancelAndRebook(page, path, office, day, rebookDay) {
  await page.goto(path);
  await expectText(page.locator('#hrp-status'), /booked for/);
  await page.locator('#book-link').click();
  await page.waitForURL((u) => u.pathname === `${path}/book`);
  await expectText(page.locator('#booking-office'), /Kowloon|Hong Kong|New Territories/);
  assert.equal(await page.locator('#booked .qr[role="img"]').count(), 1);
  assert.match(await page.locator('#booking-map').getAttribute('href'), /^https:\/\/www\.openstreetmap\.org\//);
  const before = (await page.locator('#booking-time').textContent()).trim();
  await page.locator('#booking-move').click();
  await page.locator('#date').fill(day);
  await page.locator('#find-slots').click();
  await page.locator('input[name="slot_start"]').nth(1).check();
  await page.locator('#book').click();
  await page.waitForURL((u) => u.pathname === `${path}/book` && u.search === '');
  const after = (await page.locator('#booking-time').textContent()).trim();
  assert.notEqual(after, before, 'the booking moved');
  await page.locator('#booking-cancel').click();
  await page.waitForURL((u) => u.pathname === `${path}/book/cancel`);
  await expectText(page.locator('#confirm-warning'), /cannot be undone/);
  await page.locator('#confirm').click();
  await page.waitForURL((u) => u.pathname === `${path}/book`);
  assert.equal(await page.locator('#booked').count(), 0, 'no booking after cancelling');
  return book(page, path, office, rebookDay);
}

/** The CTS service centre in Hong Kong where the demo walks the non-Chinese permit, and its clerk. */
export const HK_CENTRE = 'HK-KLN-001';
const HK_CLERK = ['hkclerk', 'demo-hkclerk-pass'];

/**
 * At the CTS centre: the ticket printer checks the booking in, the photo station takes the
 * photo, the clerk calls the ticket and accepts `product` for `idNumber`, and takes HK$260
 * by `method` (EPS unless told); returns the receipt's reference.
 */
export async function atTheCentre(browser, server, { booking, product, idNumber, method = 'eps' }) {
  const hall = await browser.newContext({ baseURL: server.baseURL, ...EN });
  const printer = await hall.newPage();
  await pairDevice(printer, server, 'printer', HK_CENTRE);
  await printer.locator('#reference').fill(booking);
  await printer.getByRole('button', { name: 'Check in and print the ticket' }).click();
  await expectText(printer.locator('#ticket-label'), /^[A-Z]\d{3}$/);
  const ticket = (await printer.locator('#ticket-label').textContent()).trim();
  await hall.close();

  const desk = await browser.newContext({ baseURL: server.baseURL, ...EN, viewport: { width: 1280, height: 900 } });
  const clerk = await desk.newPage();
  await staffLogin(clerk, ...HK_CLERK);
  await clerk.goto('/staff/centre/photo');
  await clerk.locator('#photo').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: png(390, 567) });
  await clerk.getByRole('button', { name: 'Check and keep the photo' }).click();
  await clerk.waitForURL((u) => u.pathname.startsWith('/staff/centre/photos/'));
  const photoCode = (await clerk.locator('#photo-receipt-code').textContent()).trim();
  await clerk.goto('/staff/centre/counter?counter=7');
  await clerk.locator('#call-next').click();
  await expectText(clerk.locator('#serving-label'), ticket);
  await clerk.locator('#product').selectOption(product);
  await clerk.getByRole('button', { name: 'Choose' }).click();
  const boxes = clerk.locator('input[name="checklist"]');
  for (let i = 0; i < await boxes.count(); i++) await boxes.nth(i).check();
  await clerk.locator('#id_number').fill(idNumber);
  await clerk.locator('#photo_receipt').fill(photoCode);
  await clerk.locator('#accept').click();
  await clerk.waitForURL((u) => u.pathname.startsWith('/staff/centre/applications/'));
  await expectText(clerk.locator('#fee'), 'HKD 260.00');
  // A Hong Kong centre takes cash, EPS, Octopus or a credit card; no mainland wallets.
  const methods = await clerk.locator('#method option').evaluateAll((os) => os.map((o) => o.value).sort());
  assert.deepEqual(methods, ['card', 'cash', 'eps', 'octopus']);
  await clerk.locator('#method').selectOption(method);
  await clerk.locator('#pay').click();
  await clerk.waitForURL((u) => u.pathname.endsWith('/receipt'));
  await expectText(clerk.locator('.receipt'), new RegExp(`HKD 260\\.00 · ${method === 'eps' ? 'EPS' : '.+'}`));
  // The office by its name, not its code.
  await expectText(clerk.locator('#receipt-office'), /Kowloon Service Centre/);
  await expectText(clerk.locator('#collection-date'), /^\d{4}-\d{2}-\d{2}$/);
  const receipt = (await clerk.locator('#receipt-reference').textContent()).trim();
  await desk.close();
  return receipt;
}

/** The back office marks the application ready; returns the permit's number. */
export async function processed(browser, server, receipt) {
  const back = await browser.newContext({ baseURL: server.baseURL, ...EN });
  const approver = await back.newPage();
  await staffLogin(approver, 'approver', 'demo-approver-pass');
  await approver.getByRole('link', { name: 'Processing' }).click();
  await approver.getByRole('link', { name: receipt }).click();
  await approver.locator('#mark-ready').click();
  const permit = (await approver.locator('#new-document').textContent()).trim();
  await back.close();
  return permit;
}

/** A kiosk page paired as the CTS centre's collection kiosk (portrait screen). */
export async function kioskPage(browser, server) {
  const machine = await browser.newContext({ baseURL: server.baseURL, ...EN, viewport: { width: 1080, height: 1920 } });
  const kiosk = await machine.newPage();
  await pairDevice(kiosk, server, 'kiosk', HK_CENTRE);
  return { machine, kiosk };
}
