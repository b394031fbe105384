// Small waiting assertions on top of playwright-core locators (there is no
// `expect` without @playwright/test). They wait for the condition with the
// locator's own auto-waiting and report what was actually on the page.
import assert from 'node:assert/strict';

const DEFAULT_TIMEOUT = 10_000;

function exactly(text) {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

async function describe(locator) {
  try {
    return JSON.stringify(await locator.allTextContents());
  } catch (err) {
    return `<${err.message.split('\n')[0]}>`;
  }
}

/**
 * Waits until some element matched by `locator` has text `expected`
 * (a string is matched exactly, ignoring surrounding white space).
 */
export async function expectText(locator, expected, { timeout = DEFAULT_TIMEOUT } = {}) {
  const re = expected instanceof RegExp ? expected : exactly(String(expected));
  try {
    await locator.filter({ hasText: re }).first().waitFor({ state: 'visible', timeout });
  } catch {
    assert.fail(`expected ${locator} to have text ${re}, found ${await describe(locator)}`);
  }
}

/** Waits until `locator` matches exactly `count` elements. */
export async function expectCount(locator, count, { timeout = DEFAULT_TIMEOUT } = {}) {
  const deadline = Date.now() + timeout;
  // Wait for the n-th element to exist and the (n+1)-th not to.
  try {
    if (count > 0) await locator.nth(count - 1).waitFor({ state: 'attached', timeout });
    await locator.nth(count).waitFor({ state: 'detached', timeout: Math.max(1, deadline - Date.now()) });
  } catch {
    // Fall through to the precise message below.
  }
  assert.equal(await locator.count(), count, `expected ${count} elements for ${locator}`);
}

/** Waits until the element matched by `locator` has attribute `name` equal to `value`. */
export async function expectAttribute(locator, name, value, { timeout = DEFAULT_TIMEOUT } = {}) {
  const withValue = locator.page().locator(`[${name}=${JSON.stringify(value)}]`);
  try {
    await locator.and(withValue).first().waitFor({ state: 'attached', timeout });
  } catch {
    const actual = await locator
      .first()
      .getAttribute(name, { timeout: 1_000 })
      .catch((err) => `<${err.message.split('\n')[0]}>`);
    assert.fail(`expected ${locator} to have ${name}=${JSON.stringify(value)}, found ${JSON.stringify(actual)}`);
  }
}
