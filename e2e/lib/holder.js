// What the Hong Kong resident journeys share: the showcase holder's permit (printed by the
// demo), the JSON API the holder's app uses, and a temporary permit applied for through it.
import assert from 'node:assert/strict';

export const SELFIE_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/** The showcase documents the demo prints: the HRP's expiry and the residence permit number. */
export function demoFacts(server) {
  const expiry = server.logs().match(/H12345678 .* expires (\d{4}-\d{2}-\d{2})/)?.[1];
  const rp = server.logs().match(/residence permit (8[123]\d{16})/)?.[1];
  assert.ok(expiry, `the demo prints the showcase permit:\n${server.logs()}`);
  return { expiry, rp };
}

/** Calls the JSON API: a POST with `body`, else a GET. */
export async function api(server, path, body) {
  const res = await fetch(`${server.baseURL}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json() };
}

/**
 * The showcase holder (H12345678) applies for a temporary permit through the app API: the SMS
 * code from the dev outbox, then the face check. The account `mobile`/`password` is created.
 */
export async function issueTemporaryPermit(server, { mobile, password }) {
  const { expiry } = demoFacts(server);
  const created = await api(server, '/api/v1/temporary-permits/applications', {
    document_kind: 'hrp', document_number: 'H12345678', name: 'CHAN TAI MAN',
    document_expiry: expiry, sex: 'M', mobile, password,
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id = created.json.application_id;
  let code;
  // The job worker delivers about once a second; poll the outbox rather than sleep blindly.
  for (let i = 0; i < 100 && !code; i++) {
    const { json } = await api(server, '/api/v1/dev/outbox');
    code = json.find((m) => m.recipient === mobile)?.body.match(/\d{6}/)?.[0];
    if (!code) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(code, 'the SMS code reached the outbox');
  const sms = await api(server, `/api/v1/temporary-permits/applications/${id}/sms-code`, { code });
  assert.equal(sms.status, 200);
  const face = await api(server, `/api/v1/temporary-permits/applications/${id}/face`, { image: SELFIE_BASE64 });
  assert.equal(face.status, 200);
}
