// What journeys through a service centre share: the demo's device tokens and pairing, a
// real PNG for the photo station, and the Monday morning the demo's clock starts at.
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';

/**
 * Mondays the demo's calendars close (its public holidays: the mainland's New Year's Day,
 * Hong Kong's general holidays in crates/services/src/demo.rs); the journeys skip them.
 */
const CLOSED_MONDAYS = new Set(['2027-02-08', '2027-03-29', '2027-04-05', '2027-12-27']);

/** The next open Monday (Beijing date) at 09:00 Beijing time: the demo's clock starts there. */
export function nextMondayMorning() {
  const beijing = new Date(Date.now() + 8 * 3600 * 1000);
  let days = ((8 - beijing.getUTCDay()) % 7) || 7;
  for (;;) {
    const d = new Date(Date.UTC(beijing.getUTCFullYear(), beijing.getUTCMonth(), beijing.getUTCDate() + days));
    const day = d.toISOString().slice(0, 10);
    if (!CLOSED_MONDAYS.has(day) && !day.endsWith('-01-01')) return `${day}T09:00:00+08:00`;
    days += 7;
  }
}

/**
 * The pairing token the demo printed for a ticket printer or collection kiosk: the
 * Guangzhou hall's, or (with `office`) the one of that office, e.g. the CTS centre HK-KLN-001.
 */
export function deviceToken(server, kind, office) {
  const what = kind === 'printer' ? 'ticket printer token' : 'collection kiosk token';
  // The Guangzhou hall's tokens are printed first; another office's lines start with its code.
  const re = new RegExp(`${office ? `${office} ` : ''}${what} ([0-9a-f]{64})`);
  const t = server.logs().match(re)?.[1];
  assert.ok(t, `the demo prints the ${office ?? 'hall'}'s ${kind} token:\n${server.logs()}`);
  return t;
}

/** Pairs this browser page as a ticket printer or kiosk of the demo (of `office` if given). */
export async function pairDevice(page, server, kind, office) {
  await page.goto('/kiosk');
  await page.locator('#token').fill(deviceToken(server, kind, office));
  await page.locator('main form button[type="submit"]').click();
  await page.waitForURL((u) => u.pathname === '/kiosk');
}

/** A real PNG of w×h grey pixels (the photo station checks format and size). */
export function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc((w + 1) * h, 0xc0);
  for (let y = 0; y < h; y++) raw[y * (w + 1)] = 0; // filter byte
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Collects at the kiosk: the receipt's reference and the identity number, and the permit
 * being renewed when `oldPermit` is given (read from the card slot).
 */
export async function collectAtKiosk(kiosk, { reference, idNumber, oldPermit }) {
  await kiosk.locator('#reference').fill(reference);
  await kiosk.locator('#id_number').fill(idNumber);
  if (oldPermit) await kiosk.locator('#old_permit').fill(oldPermit);
  await kiosk.locator('#collect').click();
}
