// The browser verifier (crates/web/assets/verifier-core.js) against the Rust verifier: every
// test vector in crates/credentials/tests/vectors, and the freshly generated ones in
// $EXITENTRY_FRESH_VECTORS (scripts/test makes them with the Rust generator), must give the
// verdict the Rust side wrote into NAME.expected.json — validity, reason, kind and claims —
// and so must the damaged and re-packed variants the Rust side judged (mutations.json).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TrustStore, openStatusList, openTrustList, verify } from '../../assets/verifier-core.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXED = resolve(HERE, '../../../credentials/tests/vectors');

function pemToDer(pem) {
  const b64 = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

/** Runs one vector (or `text` under its keys) the way crates/credentials/tests/vectors.rs does. */
async function run(dir, spec, text) {
  const read = (name) => readFileSync(join(dir, name), 'utf8');
  let trust = new TrustStore();
  if (spec.cert) await trust.addCertDer(pemToDer(read(spec.cert)));
  if (spec.trust_list) {
    const pinned = spec.pinned_root ? pemToDer(read(spec.pinned_root)) : undefined;
    trust = (await openTrustList(read(spec.trust_list), pinned)).trust;
  }
  const status = spec.status_list ? await openStatusList(read(spec.status_list), trust, spec.at, spec.status_max_age) : undefined;
  return verify(text ?? read(spec.payload).trimEnd(), trust, {
    prefix: spec.prefix,
    at: spec.at,
    requiredUse: spec.use ?? undefined,
    status,
    clockSkewSecs: 300,
  });
}

function vectors(dir) {
  return readdirSync(dir).filter((n) => n.endsWith('.expected.json')).sort();
}

async function checkAll(dir) {
  const names = vectors(dir);
  assert.ok(names.length >= 8, `vectors missing in ${dir}: ${names}`);
  const reasons = new Set();
  for (const name of names) {
    const spec = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    const got = await run(dir, spec);
    assert.deepEqual(got, spec.verdict, `${name} in ${dir}`);
    reasons.add(got.reason);
  }
  for (const r of ['valid', 'expired', 'revoked', 'wrong_use', 'not_yet_valid', 'unknown_signer']) {
    assert.ok(reasons.has(r), `no vector for ${r}: ${[...reasons]}`);
  }
  return names.length;
}

test('the fixed vectors give the Rust verdicts in the browser code', async (t) => {
  t.diagnostic(`${await checkAll(FIXED)} fixed vectors`);
});

test('freshly generated vectors give the Rust verdicts in the browser code', async (t) => {
  const fresh = process.env.EXITENTRY_FRESH_VECTORS;
  if (!fresh) {
    t.skip('EXITENTRY_FRESH_VECTORS not set (scripts/test sets it)');
    return;
  }
  t.diagnostic(`${await checkAll(fresh)} fresh vectors from ${fresh}`);
});

test('damaged and re-packed credentials and lists give the Rust verdicts in the browser code', async (t) => {
  const fresh = process.env.EXITENTRY_FRESH_VECTORS;
  if (!fresh) {
    t.skip('EXITENTRY_FRESH_VECTORS not set (scripts/test sets it)');
    return;
  }
  const { payloads, lists } = JSON.parse(readFileSync(join(fresh, 'mutations.json'), 'utf8'));
  const read = (name) => readFileSync(join(FIXED, name), 'utf8');
  const wrong = [];
  for (const c of payloads) {
    const spec = JSON.parse(read(c.spec));
    const got = await run(FIXED, { ...spec, payload: null }, c.payload);
    try {
      assert.deepEqual(got, c.verdict);
    } catch {
      wrong.push(`${c.spec} ${c.case}: browser ${got.reason}, Rust ${c.verdict.reason}`);
    }
  }
  const pinned = pemToDer(read('root.pem'));
  const { trust } = await openTrustList(read('trust-list.json'), pinned);
  const outcome = (p) => p.then(() => 'ok', (e) => e.message);
  for (const c of lists) {
    const got = c.list === 'trust'
      ? await outcome(openTrustList(c.doc, pinned))
      : await outcome(openStatusList(c.doc, trust, c.at, c.max_age));
    if (got !== c.result) wrong.push(`${c.list} list ${c.case}: browser ${got}, Rust ${c.result}`);
  }
  assert.deepEqual(wrong, [], `${wrong.length} of ${payloads.length + lists.length} cases differ`);
  t.diagnostic(`${payloads.length} payloads and ${lists.length} list documents agree`);
});
