// Journey: a railway gate agent opens /verifier on a phone (390×844) once with the network
// on; the page keeps itself and the signed lists. With the network off (Playwright's offline
// mode) it checks a traveller's temporary e-permit (valid for a domestic flight, refused for
// the border), a tampered copy, a linkage proof, and a permit an officer revoked after the
// lists were kept: still shown as valid, with the list's age, until the lists are refreshed
// online, then refused. The camera is a canvas showing the holder's QR.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EN, holderLogin, withPage } from '../lib/browser.js';
import { expectText } from '../lib/expect.js';
import { issueTemporaryPermit } from '../lib/holder.js';
import { useDemo } from '../lib/server.js';

const demo = useDemo({ people: 200 });

const MOBILE = '13600136000';
const PASSWORD = 'my long travel password';
const PHONE = { width: 390, height: 844 };

/** The holder's permit and a fresh linkage proof, as the QR payloads on their pages. */
async function holderPayloads() {
  const context = await demo.browser.newContext({ baseURL: demo.server.baseURL, ...EN });
  try {
    const page = await context.newPage();
    // The temporary permits have their own page; /my lists the holder's records.
    await holderLogin(page, '/my/temporary-permits', { mobile: MOBILE, password: PASSWORD });
    const qr = await page.locator('.permit .qr svg').evaluate((svg) => svg.outerHTML);
    await page.locator('.permit details summary').click();
    const permit = (await page.locator('.permit textarea.payload').inputValue()).trim();
    await page.goto('/my/linkage-proof');
    await page.getByRole('button', { name: 'Get a linkage proof' }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/my/linkage-proofs/'));
    await page.locator('details summary').click();
    const linkage = (await page.locator('textarea.payload').inputValue()).trim();
    return { permit, linkage, qr };
  } finally {
    await context.close();
  }
}

/** An officer (approver) revokes the permit on its page; the gate agent's phone is not told. */
async function revoke(permitNumber) {
  const context = await demo.browser.newContext({ baseURL: demo.server.baseURL, ...EN });
  try {
    const page = await context.newPage();
    await page.goto('/staff/login');
    await page.locator('#username').fill('approver');
    await page.locator('#password').fill('demo-approver-pass');
    await page.locator('main form button[type="submit"]').click();
    await page.waitForURL((u) => u.pathname === '/staff');
    await page.goto(`/staff/temporary-permits/${permitNumber}`);
    await page.locator('#reason').fill('reported stolen with the phone');
    await page.getByRole('button', { name: 'Revoke' }).click();
    await expectText(page.locator('main'), /revoked/i);
  } finally {
    await context.close();
  }
}

/**
 * Stands in for the phone's camera: getUserMedia answers a stream of a canvas showing the QR
 * (an SVG as the holder's page draws it), so the page's own scanning loop reads it.
 */
async function pointCameraAt(page, svg) {
  await page.evaluate(async (markup) => {
    const img = new Image();
    img.src = `data:image/svg+xml;base64,${btoa(markup)}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 480;
    const ctx = canvas.getContext('2d');
    const draw = () => {
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, 480, 480);
      ctx.drawImage(img, 40, 40, 400, 400);
    };
    draw();
    setInterval(draw, 100);
    navigator.mediaDevices.getUserMedia = async () => canvas.captureStream(10);
  }, svg);
}

/** Pastes a payload, checks it for `use`, and returns the verdict box's text. */
async function check(page, use, payload) {
  await page.getByRole('radio', { name: use, exact: true }).check();
  await page.locator('#payload').fill(payload);
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.locator('#verdict .verdict').waitFor();
  return (await page.locator('#verdict').innerText()).replace(/\s+/g, ' ');
}

const ready = (page) => page.waitForFunction(() => document.body.dataset.ready === 'true');

describe('the offline verifier', () => {
  test('a gate agent checks permits and proofs with the network off', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, viewport: PHONE, ...EN }, async ({ page, context, pageErrors }) => {
      await issueTemporaryPermit(demo.server, { mobile: MOBILE, password: PASSWORD });
      const { permit, linkage, qr } = await holderPayloads();
      assert.match(permit, /^EE1:/);
      assert.match(linkage, /^EE1:/);

      // Online once: the page keeps itself (service worker) and the verified lists.
      await page.goto('/verifier');
      await ready(page);
      await expectText(page.locator('main h1'), 'Credential verifier');
      await expectText(page.locator('.private'), /nothing you scan or paste is sent anywhere/);
      await expectText(page.locator('#lists-facts'), /Revocation list issued/);
      await page.waitForFunction(async () => (await navigator.serviceWorker.ready) && navigator.serviceWorker.controller !== null);

      // Network off: the page still opens, from the service worker.
      await context.setOffline(true);
      await page.reload();
      await ready(page);
      await expectText(page.locator('#lists-state'), /No network: the lists kept on this device are used/);
      assert.equal(await page.evaluate(() => fetch('/api/v1/status-list').then(() => 'online', () => 'offline')), 'offline');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= PHONE.width, `no sideways scrolling at 390 px (${width})`);

      // The permit, scanned: valid for a domestic flight, with the holder and validity as signed.
      await page.getByRole('radio', { name: 'Domestic flight', exact: true }).check();
      await pointCameraAt(page, qr);
      await page.getByRole('button', { name: 'Scan with the camera' }).click();
      await page.locator('#verdict .verdict').waitFor();
      assert.equal((await page.locator('#payload').inputValue()).trim(), permit, 'the QR read by the camera');
      assert.equal(await page.locator('#camera').isVisible(), false, 'the camera stops once a code is read');
      let verdict = (await page.locator('#verdict').innerText()).replace(/\s+/g, ' ');
      assert.match(verdict, /^Valid All checks passed/);
      assert.match(verdict, /Temporary e-permit/);
      assert.match(verdict, /CHAN TAI MAN/);
      assert.match(verdict, /Home return permit H12345678/);
      assert.match(verdict, /Permitted uses Domestic flight, Domestic train/);
      assert.match(verdict, /\d{4}-\d\d-\d\d \d\d:\d\d – \d{4}-\d\d-\d\d \d\d:\d\d \(Beijing time\)/);
      const permitNumber = (await page.locator('#verdict dt:text-is("Permit number") + dd').innerText()).trim();
      assert.match(permitNumber, /^TP-/);

      // Not for the border; a changed character is refused.
      verdict = await check(page, 'Border control', permit);
      assert.match(verdict, /^Not valid Authentic, but not valid for this use/);
      const i = 60;
      const tampered = permit.slice(0, i) + (permit[i] === 'A' ? 'B' : 'A') + permit.slice(i + 1);
      verdict = await check(page, 'Domestic flight', tampered);
      assert.match(verdict, /^Not valid The code is damaged or has been changed/);
      assert.doesNotMatch(verdict, /CHAN TAI MAN/, 'nothing unauthenticated is shown');

      // The linkage proof, checked for linkage; the choice is remembered on the next visit.
      verdict = await check(page, 'Linkage of travel permit and residence permit', linkage);
      assert.match(verdict, /^Valid /);
      assert.match(verdict, /Linkage proof/);
      await page.reload();
      await ready(page);
      assert.equal(await page.getByRole('radio', { name: 'Linkage of travel permit and residence permit' }).isChecked(), true);

      // Revoked after the lists were kept: still valid offline, with the list's age shown ...
      await revoke(permitNumber);
      verdict = await check(page, 'Domestic flight', permit);
      assert.match(verdict, /^Valid /);
      assert.match(verdict, /Revocation list age: \d+ min/);

      // ... and refused once the lists are refreshed online.
      await context.setOffline(false);
      await page.getByRole('button', { name: 'Refresh the lists' }).click();
      await expectText(page.locator('#lists-state'), 'The lists are up to date.');
      verdict = await check(page, 'Domestic flight', permit);
      assert.match(verdict, /^Not valid Revoked or cancelled/);
      assert.deepEqual(pageErrors, []);
    }));

  test('the page speaks the three languages, offline too', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, viewport: PHONE, extraHTTPHeaders: { 'Accept-Language': 'zh-CN' } }, async ({ page, context }) => {
      await page.goto('/verifier');
      await ready(page);
      await expectText(page.locator('main h1'), '凭证核验');
      await page.waitForFunction(async () => (await navigator.serviceWorker.ready) && navigator.serviceWorker.controller !== null);
      await context.setOffline(true);
      await page.getByRole('link', { name: '繁體中文' }).click();
      await ready(page);
      await expectText(page.locator('main h1'), '憑證核驗');
      await expectText(page.locator('#lists-state'), /無網絡/);
      await page.getByRole('link', { name: 'English' }).click();
      await ready(page);
      await expectText(page.locator('main h1'), 'Credential verifier');
    }));
});
