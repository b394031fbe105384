// Journey: a Hong Kong resident on a phone, reading Traditional Chinese, applies for a
// temporary e-permit (permit details, SMS code from the demo outbox, a selfie), gets the
// QR, and the payload read off the page verifies offline with `exitentry credential
// verify` against the trust list the server publishes. Then they sign in to "my
// permits", and a wrong SMS code and a face refused on the way give clear errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { submitHolderLogin, withPage } from '../lib/browser.js';
import { expectCount, expectText } from '../lib/expect.js';
import { binaryPath, useDemo } from '../lib/server.js';

const demo = useDemo({ people: 200, workDir: 'verify' });

// A real 1×1 PNG: the development face check accepts any well-formed photo.
const SELFIE = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
const MOBILE = '13800138000';
const PASSWORD = 'my long travel password';

/** The expiry date of the showcase permit, as the demo prints it. */
function showcaseExpiry() {
  const m = demo.server.logs().match(/H12345678 .* expires (\d{4}-\d{2}-\d{2})/);
  assert.ok(m, `the demo prints the showcase permit:\n${demo.server.logs()}`);
  return m[1];
}

/** The newest SMS code sent to MOBILE (the demo's outbox stands in for the phone). */
async function latestCode(previous) {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${demo.server.baseURL}/api/v1/dev/outbox`);
    const messages = await res.json();
    const sms = messages.find((m) => m.recipient === MOBILE);
    const code = sms?.body.match(/\d{6}/)?.[0];
    if (code && sms.body !== previous) return { code, body: sms.body };
    // The job worker delivers about once a second; poll the outbox, do not sleep blindly.
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no SMS code reached the outbox');
}

const phone = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  locale: 'zh-HK',
  extraHTTPHeaders: { 'Accept-Language': 'zh-HK,zh;q=0.9' },
};

describe('traveller gets a temporary e-permit on a phone', () => {
  test('apply in Traditional Chinese, get the QR, verify it offline, see it in my permits', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...phone }, async ({ page }) => {
      await page.goto('/');
      await page.getByRole('link', { name: '臨時電子通行證' }).first().click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit');
      await expectText(page.locator('main h1'), '臨時電子通行證');
      assert.equal(await page.locator('html').getAttribute('lang'), 'zh-Hant');
      // Nothing spills sideways on a phone.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);

      // Step 1: the permit.
      await page.getByLabel('港澳居民來往內地通行證').check();
      await page.locator('#document_number').fill('h12345678');
      await page.locator('#name').fill('陳大文');
      await page.getByRole('button', { name: '下一步' }).click();

      // Step 2: details that do not match are refused with one clear message.
      await page.locator('#document_expiry').fill('2040-01-01');
      await page.getByLabel('男').check();
      await page.locator('#mobile').fill(MOBILE);
      await page.locator('#password').fill(PASSWORD);
      await page.getByRole('button', { name: '發送短訊驗證碼' }).click();
      await expectText(page.locator('main .error-summary'), /沒有與您輸入的證件/);

      await page.locator('#document_expiry').fill(showcaseExpiry());
      await page.locator('#password').fill(PASSWORD);
      await page.getByRole('button', { name: '發送短訊驗證碼' }).click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit/code');
      await expectText(page.locator('main'), /138\*\*\*\*8000/);

      // Step 3: a wrong code, then the one from the SMS.
      const { code } = await latestCode();
      const wrong = code === '000000' ? '111111' : '000000';
      await page.locator('#code').fill(wrong);
      await page.getByRole('button', { name: '確認' }).click();
      await expectText(page.locator('main .error-summary'), /驗證碼不正確/);
      await page.locator('#code').fill(code);
      await page.getByRole('button', { name: '確認' }).click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit/face');

      // Step 4: a file that is not a photo is refused; a selfie passes.
      await page.locator('#photo').setInputFiles({ name: 'note.txt', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
      await page.getByRole('button', { name: '人臉核驗並簽發' }).click();
      await expectText(page.locator('main .error-summary'), /JPEG 或 PNG/);
      await page.locator('#photo').setInputFiles({ name: 'selfie.png', mimeType: 'image/png', buffer: SELFIE });
      await page.getByRole('button', { name: '人臉核驗並簽發' }).click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit/issued');

      // Issued: the QR, the validity in Beijing time, the payload as text.
      await expectText(page.locator('main h1'), '您的臨時電子通行證');
      await expectCount(page.locator('.qr svg'), 1);
      const box = await page.locator('.qr svg').boundingBox();
      assert.ok(box.width >= 250 && box.width <= 390, `QR fits the phone (${box.width}px)`);
      await expectText(page.locator('.valid-until'), /^\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(北京時間\)\s*$/);
      await page.locator('details summary').click();
      const payload = (await page.locator('textarea.payload').inputValue()).trim();
      assert.match(payload, /^EE1:/);

      // Offline verification with the CLI against the served trust list.
      const trustList = await (await fetch(`${demo.server.baseURL}/api/v1/trust-list`)).text();
      const trustFile = join(demo.work, 'trust-list.json');
      writeFileSync(trustFile, trustList);
      const verify = (use) =>
        execFileSync(binaryPath(), ['credential', 'verify', '--trust-list', trustFile, '--use', use, payload], {
          encoding: 'utf8',
        });
      const verdict = JSON.parse(verify('domestic_flight'));
      assert.equal(verdict.valid, true, JSON.stringify(verdict));
      assert.equal(verdict.kind, 'temporary_permit');
      let border;
      try {
        verify('border');
        assert.fail('a temporary permit is not for border control');
      } catch (err) {
        assert.equal(err.status, 1, 'exit 1 for an invalid credential');
        border = JSON.parse(err.stdout);
      }
      assert.equal(border.reason, 'wrong_use');

      // My permits: sign in with mobile number and password, see the same QR.
      await page.getByRole('link', { name: '我的臨時通行證' }).click();
      await submitHolderLogin(page, { mobile: MOBILE, password: PASSWORD });
      await page.waitForURL((u) => u.pathname === '/my/temporary-permits');
      await expectCount(page.locator('.permit .qr svg'), 1);
      await expectText(page.locator('.permit .status'), '有效');
      await page.locator('.permit details summary').click();
      assert.equal((await page.locator('.permit textarea.payload').inputValue()).trim(), payload);

      // Cancelling is confirmed on its own page that says it cannot be undone.
      await page.locator('a[id^="cancel-"]').click();
      await page.waitForURL((u) => /^\/my\/temporary-permits\/[^/]+\/cancel$/.test(u.pathname));
      await expectText(page.locator('#confirm-warning'), /此操作無法撤銷/);
      await page.locator('#confirm').click();
      await page.waitForURL((u) => u.pathname === '/my/temporary-permits');
      await expectText(page.locator('.permit .status'), '已註銷');
      await expectCount(page.locator('.permit .qr svg'), 0);
    }));
});
