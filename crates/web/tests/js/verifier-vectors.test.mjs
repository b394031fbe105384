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

/** CBOR byte string or map header of `len` (major type in `major`). */
function head(major, len) {
  if (len < 24) return [(major << 5) | len];
  if (len < 256) return [(major << 5) | 24, len];
  return [(major << 5) | 25, len >> 8, len & 0xff];
}
const bstr = (bytes) => [...head(2, bytes.length), ...bytes];
const u32 = (n) => [0x1a, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** COSE_Sign1 bytes → `prefix` + base45(zlib stored block). */
function pack(cose, prefix) {
  let a = 1;
  let b = 0;
  for (const x of cose) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  const adler = ((b << 16) | a) >>> 0;
  const n = cose.length;
  const z = [0x78, 0x01, 0x01, n & 0xff, n >> 8, ~n & 0xff, (~n >> 8) & 0xff, ...cose,
    adler >>> 24, (adler >>> 16) & 0xff, (adler >>> 8) & 0xff, adler & 0xff];
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
  let out = '';
  for (let i = 0; i < z.length; i += 2) {
    if (i + 1 < z.length) {
      let v = z[i] * 256 + z[i + 1];
      for (let k = 0; k < 3; k++, v = Math.floor(v / 45)) out += alphabet[v % 45];
    } else {
      out += alphabet[z[i] % 45] + alphabet[Math.floor(z[i] / 45)];
    }
  }
  return prefix + out;
}

// The fixed es384-hcert vector is the independent known answer both sides agree on; this one also
// signs with a key WebCrypto made.
test('ES384 verifies in the browser code', async () => {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  const protectedHeader = [0xa1, 0x01, 0x38, 0x22]; // {1: -35}
  const claims = [0xa2, 0x04, ...u32(2_000_000_000), 0x06, ...u32(1_700_000_000)];
  const { sigStructure } = await import('../../assets/verifier-core.js');
  const tbs = sigStructure(Uint8Array.from(protectedHeader), Uint8Array.from(claims));
  const sign = async (data) => new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-384' }, pair.privateKey, data));
  const cose = (sig) => [0xd2, 0x84, ...bstr(protectedHeader), 0xa0, ...bstr(claims), ...bstr(sig)];
  const trust = new TrustStore();
  trust.addSpki(spki);
  const good = await verify(pack(cose(await sign(tbs)), 'EE1:'), trust, { at: 1_800_000_000 });
  assert.equal(good.reason, 'valid');
  assert.equal(good.kind, 'unknown');
  const other = await sign(Uint8Array.from([1, 2, 3]));
  const bad = await verify(pack(cose(other), 'EE1:'), trust, { at: 1_800_000_000 });
  assert.equal(bad.reason, 'bad_signature');
});
