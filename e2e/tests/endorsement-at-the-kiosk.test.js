// A card holder applies online for a Hong Kong individual-visit (G) endorsement, pays in the
// payment sandbox, prints it at a kiosk, and border control counts her trips through the API
// until none is left.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EN, holderLogin, withPage } from '../lib/browser.js';
import { expectCount, expectText } from '../lib/expect.js';
import { binaryPath, useDemo } from '../lib/server.js';

const demo = useDemo({ people: 200 });

function kioskToken() {
  const t = demo.server.logs().match(/collection kiosk token ([0-9a-f]{64})/)?.[1];
  assert.ok(t, `the demo prints the kiosk token:\n${demo.server.logs()}`);
  return t;
}

/** A border-control partner, created with the CLI against the demo's database. */
function borderKey() {
  const db = `sqlite://${join(demo.server.cwd, 'data/demo/exitentry.db')}`;
  const out = execFileSync(binaryPath(), ['--database-url', db, 'partners', 'create', '--name', 'border-e2e',
    '--kind', 'government', '--scopes', 'border'], { encoding: 'utf8' });
  return out.trim().split('\n').at(-1);
}

async function crossing(key, direction, at) {
  const res = await fetch(`${demo.server.baseURL}/api/v1/border/crossings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ document_number: 'CA1234567', destination: 'hong_kong', direction, at }),
  });
  assert.equal(res.status, 200);
  return res.json();
}

describe('endorsements', () => {
  test('apply online, pay in the sandbox, print at the kiosk, cross until no trips are left', (t) =>
    withPage(t, demo.browser, { baseURL: demo.server.baseURL, ...EN, viewport: { width: 390, height: 844 } }, async ({ page, context }) => {
      await holderLogin(page, '/my/endorsements');
      // Hong Kong, individual visit, 3 months, two trips.
      await page.locator('input[name="choice"][value="hong_kong|G|3|2"]').check();
      await page.locator('#apply').click();
      await page.waitForURL((u) => /^\/my\/endorsements\/[0-9a-f]+$/.test(u.pathname));
      await expectText(page.locator('#end-status'), 'Waiting for payment');
      await page.locator('#pay-alipay').click();
      await page.waitForURL((u) => u.pathname.startsWith('/dev/pay/'));
      await expectText(page.locator('#sandbox-amount'), 'CNY 30.00');
      await page.locator('#sandbox-pay').click();
      await page.waitForURL((u) => /^\/my\/endorsements\/[0-9a-f]+$/.test(u.pathname));
      await expectText(page.locator('#end-status'), 'Paid, ready to print');

      // At the kiosk: the card's number and the identity number, then print.
      const machine = await context.browser().newContext({ baseURL: demo.server.baseURL, ...EN, viewport: { width: 1080, height: 1920 } });
      const kiosk = await machine.newPage();
      await kiosk.goto('/kiosk');
      await kiosk.locator('#token').fill(kioskToken());
      await kiosk.locator('main form button[type="submit"]').click();
      await kiosk.waitForURL((u) => u.pathname === '/kiosk');
      await kiosk.locator('#card').fill('CA1234567');
      await kiosk.locator('#end_id_number').fill('11010519491231002X');
      await kiosk.locator('#show-endorsements').click();
      await expectText(kiosk.locator('.end-status').first(), 'Paid, ready to print');
      await kiosk.locator('button.print-endorsement').first().click();
      await expectText(kiosk.locator('#printed h2'), 'Printed');
      await expectCount(kiosk.locator('button.print-endorsement'), 0);
      await machine.close();

      // At the border: two trips, then refused.
      const key = borderKey();
      const day = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
      let r = await crossing(key, 'exit', `${day}T23:00:00+08:00`);
      assert.deepEqual([r.allowed, r.reason, r.trips_left], [true, 'ok', 1]);
      r = await crossing(key, 'entry', `${day}T23:30:00+08:00`);
      assert.equal(r.reason, 'ok');
      r = await crossing(key, 'exit', `${day}T23:40:00+08:00`);
      assert.deepEqual([r.allowed, r.trips_left], [true, 0]);
      r = await crossing(key, 'entry', `${day}T23:50:00+08:00`);
      r = await crossing(key, 'exit', `${day}T23:55:00+08:00`);
      assert.deepEqual([r.allowed, r.reason], [false, 'no_trips_left']);
    }));
});
