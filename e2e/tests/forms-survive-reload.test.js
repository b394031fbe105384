// Every page reached by a form has an address a GET shows again: reloading it and switching
// language keep what was typed and the error, never "HTTP ERROR 405" or another 4xx/5xx. Walked
// on the temporary permit (both steps and "change"), the reception desk, the collection kiosk
// (whose screen starts over for the next person when left alone), the staff sign-in, the
// counter's acceptance, the kiosk's endorsement steps, /apply (a refused upload, the
// reviewer's refused decision, a refused booking, the booking and its cancellation's
// confirmation), the holders' sign-up, an endorsement application and the counter's
// linkage proof.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EN, holderLogin, staffLogin, withPage } from '../lib/browser.js';
import { nextMondayMorning, pairDevice } from '../lib/centre.js';
import { expectAttribute, expectCount, expectText } from '../lib/expect.js';
import { PDF, PNG, fillForm, registerAndStart, submitApplication, upload } from '../lib/applicant.js';
import { useDemo } from '../lib/server.js';

// A Monday morning, so the halls are open for walk-ins and the CTS centres for bookings.
const MONDAY = nextMondayMorning();

const demo = useDemo({ people: 50, clockStart: MONDAY });

/** Fails on any page answered 4xx/5xx in the context (the journey's own navigations). */
function watchStatuses(context) {
  const bad = [];
  context.on('response', (res) => {
    const req = res.request();
    if (req.isNavigationRequest() && res.status() >= 400) bad.push(`${res.status()} ${req.method()} ${res.url()}`);
  });
  return bad;
}

/**
 * Reloads the page and switches through the three languages with its language links; after
 * each, `check(lang)` finds the input and the error still there. Ends in English.
 */
async function keptThroughReloadAndLanguages(page, check) {
  const here = new URL(page.url()).pathname;
  const res = await page.reload();
  assert.ok(res.status() < 400, `reload of ${here}: HTTP ${res.status()}`);
  await check('en');
  for (const lang of ['zh-Hant', 'zh-Hans', 'en']) {
    await page.locator(`nav.langs a[lang="${lang}"]`).click();
    await page.waitForURL((u) => u.pathname === here);
    await expectAttribute(page.locator('html'), 'lang', lang);
    await check(lang);
  }
}

const ERROR_TITLE = { en: /^Error: /, 'zh-Hans': /^错误：/, 'zh-Hant': /^錯誤：/ };

async function expectErrorTitle(page, lang) {
  const title = await page.title();
  assert.match(title, ERROR_TITLE[lang], `title in ${lang}: ${title}`);
}

describe('forms survive a reload and a language switch', () => {
  test('temporary permit: both steps, a refusal, "change", reload and language switch', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 390, height: 844 } }, async ({ page, context }) => {
      const bad = watchStatuses(context);
      await page.goto('/temporary-permit');
      await page.locator('#document_number').fill('H123');
      await page.locator('#name').fill('陳大文');
      await page.locator('main form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        await expectAttribute(page.locator('#document_number'), 'aria-invalid', 'true');
        assert.equal(await page.locator('#document_number').inputValue(), 'H123');
        assert.equal(await page.locator('#name').inputValue(), '陳大文');
        await expectText(page.locator('.error-summary a[href="#document_number"]'), /H12345678/);
      });

      // Spaces and small letters are fine; step 2 has its own address.
      await page.locator('#document_number').fill('h1234 5678');
      await page.locator('main form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit/details');
      await page.locator('#document_expiry').fill('2040-01-01');
      await page.locator('input[name="sex"][value="M"]').check();
      await page.locator('#mobile').fill('13800138000');
      await page.locator('#password').fill('my long travel password');
      await page.locator('main form button[type="submit"]:not(#change)').click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit/details');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#document_expiry').inputValue(), '2040-01-01');
        assert.equal(await page.locator('#mobile').inputValue(), '13800138000');
        assert.equal(await page.locator('#password').inputValue(), '', 'the password is typed again');
        await expectAttribute(page.locator('#change'), 'aria-invalid', 'true');
      });
      // The refusal is about type, number or name: "change" takes them back to step 1, filled.
      await page.locator('#change').click();
      await page.waitForURL((u) => u.pathname === '/temporary-permit');
      assert.equal(await page.locator('#document_number').inputValue(), 'h1234 5678');
      assert.equal(await page.locator('#name').inputValue(), '陳大文');
      assert.deepEqual(bad, []);
    }));

  test('reception and the staff sign-in keep what was typed', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN }, async ({ page, context }) => {
      const bad = watchStatuses(context);
      await page.goto('/staff/login');
      await page.locator('#username').fill('clerk');
      await page.locator('#password').fill('not the password');
      await page.locator('main form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/staff/login');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#username').inputValue(), 'clerk');
      });
      await staffLogin(page, 'clerk', 'demo-clerk-pass');
      await page.goto('/staff/centre/reception');
      await page.locator('#reference').fill('nosuchref9');
      await page.locator('#reference').press('Enter');
      await page.waitForURL((u) => u.pathname === '/staff/centre/reception');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#reference').inputValue(), 'nosuchref9');
        await expectAttribute(page.locator('#reference'), 'aria-invalid', 'true');
      });
      await expectText(page.locator('.error-summary'), /No booking has this reference/);
      assert.deepEqual(bad, []);
    }));

  test('collection kiosk: a refusal keeps the input; left alone, it starts over', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 1080, height: 1920 } }, async ({ page, context }) => {
      const bad = watchStatuses(context);
      await pairDevice(page, demo.server, 'kiosk');
      await page.locator('#reference').fill('R00000000000');
      await page.locator('#id_number').fill('110105 19491231 002x');
      await page.locator('#collect').click();
      await page.waitForURL((u) => u.pathname === '/kiosk');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#reference').inputValue(), 'R00000000000');
        assert.equal(await page.locator('#id_number').inputValue(), '110105 19491231 002x');
      });
      // Touch targets: at least 48 px high everywhere on the kiosk's screen.
      const small = await page.evaluate(() => [...document.querySelectorAll('main button, main input:not([type=hidden]), main a:not(.error-summary a), header a')]
        .filter((e) => e.getBoundingClientRect().height < 48)
        .map((e) => e.outerHTML.slice(0, 80)));
      assert.deepEqual(small, []);

      // Left alone, the screen starts over for the next person (the wait shortened, once).
      await page.addInitScript(() => {
        if (!sessionStorage.getItem('idled')) {
          sessionStorage.setItem('idled', '1');
          window.kioskIdleMs = 300;
        }
      });
      const startedOver = page.waitForResponse((r) => new URL(r.url()).pathname === '/kiosk/start');
      await page.reload();
      await startedOver;
      await page.locator('.error-summary').waitFor({ state: 'detached', timeout: 10_000 });
      await page.waitForLoadState();
      assert.equal(await page.locator('#reference').inputValue(), '');
      assert.equal(await page.locator('#id_number').inputValue(), '');
      assert.equal(await page.locator('.error-summary').count(), 0);
      assert.deepEqual(bad, []);
    }));

  test('the counter: a refused acceptance keeps the product, the ticks and the numbers', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN }, async ({ page, context }) => {
      const bad = watchStatuses(context);
      await staffLogin(page, 'clerk', 'demo-clerk-pass');
      // A walk-in for the counter to call.
      await page.goto('/staff/centre/reception');
      await page.locator('input[name="service"][value="eep_application"]').check();
      await page.getByRole('button', { name: 'Print a ticket' }).click();
      await page.waitForURL((u) => u.pathname === '/staff/centre/reception' && u.search.startsWith('?ticket='));
      await page.goto('/staff/centre/counter?counter=3');
      await page.locator('#call-next').click();
      await page.locator('#product').selectOption('eep_card_renewal');
      await page.getByRole('button', { name: 'Choose' }).click();
      const boxes = page.locator('input[name="checklist"]');
      await boxes.nth(0).check();
      await page.locator('#id_number').fill('11010519491231002X');
      await page.locator('#photo_receipt').fill('P0000000000');
      await page.locator('#accept').click();
      await page.waitForURL((u) => u.pathname === '/staff/centre/counter');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#product').inputValue(), 'eep_card_renewal');
        assert.equal(await boxes.nth(0).isChecked(), true);
        assert.equal(await boxes.nth(1).isChecked(), false);
        assert.equal(await page.locator('#id_number').inputValue(), '11010519491231002X');
        assert.equal(await page.locator('#photo_receipt').inputValue(), 'P0000000000');
      });
      assert.deepEqual(bad, []);
    }));

  test('kiosk endorsements: a wrong number keeps the card; the list reloads in every language', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 1080, height: 1920 } }, async ({ page, context }) => {
      const bad = watchStatuses(context);
      await pairDevice(page, demo.server, 'kiosk');
      // Where the kiosk stands, by the office's name in the page's language, never its code.
      await expectText(page.locator('#kiosk-office'), /Exit-Entry Administration Detachment/);
      await page.locator('#card').fill('CA1234567');
      await page.locator('#end_id_number').fill('440106199001010010');
      await page.locator('#show-endorsements').click();
      await page.waitForURL((u) => u.pathname === '/kiosk');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#card').inputValue(), 'CA1234567');
        assert.equal(await page.locator('#end_id_number').inputValue(), '440106199001010010');
        assert.doesNotMatch(await page.locator('#kiosk-office').textContent(), /GZ-/);
      });
      await page.locator('#end_id_number').fill('11010519491231002X');
      await page.locator('#show-endorsements').click();
      await page.waitForURL((u) => u.pathname === '/kiosk/endorsements');
      await keptThroughReloadAndLanguages(page, async () => {
        await expectCount(page.locator('.error-summary'), 0);
        assert.equal(await page.locator('main h1').count(), 1);
        assert.doesNotMatch(await page.locator('#kiosk-office').textContent(), /GZ-/);
      });
      assert.deepEqual(bad, []);
    }));

  test('/apply: a refused upload, the reviewer\'s refused decision and a refused booking keep what was typed', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 390, height: 844 } }, async ({ page, context }) => {
      const bad = watchStatuses(context);
      const email = 'reload.smith@example.org';
      const path = await registerAndStart(page, demo.server, email, 'en');
      await fillForm(page, {
        name_latin: 'SMITH, JANE', sex: 'F', date_of_birth: '1982-03-04', nationality: 'GBR', region: 'hong_kong',
        permanent_id: 'A123456(3)', passport_number: '123456780', passport_expiry: '2031-01-01',
        address: "2 Queen's Road Central, Hong Kong", phone: '+852 9123 4560',
      });
      await page.locator('#purpose').selectOption('passport');
      await page.locator('#file').setInputFiles({ name: 'passport.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('PK\x03\x04not really') });
      await page.locator('#upload').click();
      await expectText(page.locator('#upload-error'), /^Passport data page: .*JPEG, PNG or PDF/);
      // The error is carried like every form's (no code in the address).
      assert.doesNotMatch(page.url(), /error=/);
      await keptThroughReloadAndLanguages(page, async () => {
        await expectCount(page.locator('#upload-error'), 1);
        assert.equal(await page.locator('#name_latin').inputValue(), 'SMITH, JANE');
      });
      await upload(page, 'id_card_front', 'front.png', 'image/png', PNG);
      await upload(page, 'id_card_back', 'back.png', 'image/png', PNG);
      await upload(page, 'passport', 'passport.pdf', 'application/pdf', PDF);
      await submitApplication(page, demo.server, email, { path });

      // The reviewer: a note too long is refused; the ticked item and the note stay.
      const office = await demo.browser.newContext({ baseURL: demo.server.baseURL, ...EN, viewport: { width: 1400, height: 900 } });
      const reviewer = await office.newPage();
      const badOffice = watchStatuses(office);
      await staffLogin(reviewer, 'reviewer', 'demo-reviewer-pass');
      await reviewer.goto('/staff/pre-applications');
      await reviewer.locator('#waiting button').first().click();
      await expectText(reviewer.locator('#details'), /SMITH, JANE/);
      await reviewer.locator('input[name="item"][value="passport"]').check();
      const note = 'The data page is cut off. '.repeat(40) + '!';
      await reviewer.locator('#supplement-note').evaluate((e) => e.removeAttribute('maxlength'));
      await reviewer.locator('#supplement-note').fill(note);
      await reviewer.locator('#request-supplements').click();
      await reviewer.waitForURL((u) => /^\/staff\/pre-applications\/[0-9a-f]+$/.test(u.pathname));
      await keptThroughReloadAndLanguages(reviewer, async (lang) => {
        await expectErrorTitle(reviewer, lang);
        assert.equal(await reviewer.locator('input[name="item"][value="passport"]').isChecked(), true);
        assert.equal(await reviewer.locator('#supplement-note').inputValue(), note);
      });
      await reviewer.locator('#approve').click();
      await reviewer.waitForURL((u) => u.pathname === '/staff/pre-applications');
      assert.deepEqual(badOffice, []);
      await office.close();

      // Booking: a time that is not offered is refused on the same office and day, with why.
      await page.goto(`${path}/book`);
      const chosen = await page.locator('#office').inputValue();
      assert.match(chosen, /^HK-/);
      await page.locator('input[name="slot_start"]').first().evaluate((e) => { e.value = '2020-01-06T09:00:00+08:00'; });
      await page.locator('#book').click();
      await page.waitForURL((u) => u.pathname === `${path}/book` && u.search.includes('office='));
      assert.doesNotMatch(page.url(), /error=/);
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        await expectCount(page.locator('.error-summary'), 1);
        assert.equal(await page.locator('#office').inputValue(), chosen);
        // The address under the picker in the page's language.
        const address = await page.locator('#office-address').textContent();
        if (lang === 'en') assert.match(address, /Kowloon|Hong Kong|New Territories/);
        else assert.match(address, /香港/);
      });
      await page.locator('#book').click();
      await page.waitForURL((u) => u.pathname === `${path}/book` && u.search === '');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectCount(page.locator('#booking-reference'), 1);
        const address = await page.locator('#booking-address').textContent();
        if (lang === 'en') assert.doesNotMatch(address, /[\u3400-\u9fff]/, `an English address: ${address}`);
        else assert.match(address, /[\u3400-\u9fff]/);
      });
      await page.locator('#booking-cancel').click();
      await page.waitForURL((u) => u.pathname === `${path}/book/cancel`);
      await keptThroughReloadAndLanguages(page, async () => {
        await expectCount(page.locator('#confirm'), 1);
      });
      assert.deepEqual(bad, []);
    }));

  test('holders: a refused sign-up and a refused endorsement application keep what was chosen', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 390, height: 844 } }, async ({ page, context }) => {
      const bad = watchStatuses(context);
      await page.goto('/my/signup');
      await page.locator('#id_number').fill('11010519491231002X');
      await page.locator('#name').fill('王五');
      await page.locator('#mobile').fill('13800000002');
      await page.locator('#password').fill('my own long password');
      await page.locator('main form button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/my/signup');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#id_number').inputValue(), '11010519491231002X');
        assert.equal(await page.locator('#name').inputValue(), '王五');
        assert.equal(await page.locator('#mobile').inputValue(), '13800000002');
        assert.equal(await page.locator('#password').inputValue(), '', 'the password is typed again');
      });

      // An endorsement for a destination already applied for is refused; the choice stays.
      await holderLogin(page, '/my/endorsements');
      const second = page.locator('input[name="choice"]').nth(1);
      const choice = await second.getAttribute('value');
      await second.check();
      await page.locator('#apply').click();
      await page.waitForURL((u) => /^\/my\/endorsements\/[0-9a-f]+$/.test(u.pathname));
      await page.goto('/my/endorsements');
      await page.locator(`input[name="choice"][value="${choice}"]`).check();
      await page.locator('#apply').click();
      await page.waitForURL((u) => u.pathname === '/my/endorsements');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator(`input[name="choice"][value="${choice}"]`).isChecked(), true);
      });
      assert.deepEqual(bad, []);
    }));

  test('the counter\'s linkage proof: a refused number keeps the form', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN }, async ({ page, context }) => {
      const bad = watchStatuses(context);
      await staffLogin(page, 'clerk', 'demo-clerk-pass');
      await page.goto('/staff/linkage-proofs');
      await page.locator('#travel_document_number').fill('H12345678');
      await page.locator('#residence_permit_number').fill('810000199001010011');
      await page.locator('#name').fill('CHAN TAI MAN');
      await page.getByRole('button', { name: 'Check and print' }).click();
      await page.waitForURL((u) => u.pathname === '/staff/linkage-proofs');
      await keptThroughReloadAndLanguages(page, async (lang) => {
        await expectErrorTitle(page, lang);
        assert.equal(await page.locator('#travel_document_number').inputValue(), 'H12345678');
        assert.equal(await page.locator('#residence_permit_number').inputValue(), '810000199001010011');
        assert.equal(await page.locator('#name').inputValue(), 'CHAN TAI MAN');
      });
      assert.deepEqual(bad, []);
    }));
});
