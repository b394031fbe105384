// The credential verifier of crates/credentials, in the browser: prefix → base45 → zlib →
// COSE_Sign1 → CWT claims, the signature with WebCrypto, and the signed trust list and
// status list. Every stage answers the Rust verifier's reason code (docs/CREDENTIALS.md);
// the node test in crates/web/tests/js runs the Rust test vectors through this file.
// Pure apart from WebCrypto and DecompressionStream: no network, no clock (time is an argument).
import { Tokenizer } from './vendor/cborg.js';
import { MAX_INFLATED_BYTES, inflate, inflateLimited } from './verifier-zlib.js';
import { TrustStore, UnsupportedAlgorithm, base64Decode, equalBytes, hex, issuedBy, kidOf, parseCert, sha256 } from './verifier-x509.js';

export { MAX_INFLATED_BYTES, TrustStore, UnsupportedAlgorithm, base64Decode, hex, issuedBy, kidOf, parseCert };

export const DEFAULT_PREFIX = 'EE1:';
export const MAX_PAYLOAD_CHARS = 16 * 1024;
export const MAX_STATUS_LIST_LEN = 2 ** 26;
export const DEFAULT_CLOCK_SKEW_SECS = 300;
export const TRUST_LIST_FORMAT = 'exitentry-trust-list/1';
export const STATUS_LIST_FORMAT = 'exitentry-status-list/1';

const CWT_TAG = 61n;
const COSE_SIGN1_TAG = 18n;
const BODY_CLAIM = -70000n;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/** COSE algorithm ids → names. ES384 is accepted here ahead of the Rust verifier (issue 19). */
const ALGS = new Map([[-7n, 'ES256'], [-8n, 'EdDSA'], [-19n, 'EdDSA'], [-37n, 'PS256'], [-35n, 'ES384']]);
/** The algorithm ids IANA registers (coset refuses other ids outside the private range). */
const IANA_ALGS = new Set([
  -65535, -65534, -65533, -65532, -65531, -65530, -65529, -268, -267, -266, -265, -260, -259,
  -258, -257, -53, -52, -51, -50, -49, -48, -47, -46, -45, -44, -43, -42, -41, -40, -39, -38,
  -37, -36, -35, -34, -33, -32, -31, -30, -29, -28, -27, -26, -25, -19, -18, -17, -16, -15,
  -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, 0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13,
  14, 15, 24, 25, 26, 30, 31, 32, 33, 34,
].map(BigInt));

/** A refusal with its reason code; caught at the edge of each public function. */
class Refusal extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}
const refuse = (reason) => {
  throw new Refusal(reason);
};
/** Runs `f`; any error other than a Refusal becomes `reason`. */
async function as(reason, f) {
  try {
    return await f();
  } catch (e) {
    if (e instanceof Refusal) throw e;
    throw new Refusal(reason);
  }
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------- base45 (RFC 9285, strict)

const BASE45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const BASE45_DIGITS = new Int16Array(256).fill(-1);
for (let i = 0; i < BASE45.length; i++) BASE45_DIGITS[BASE45.charCodeAt(i)] = i;

export function base45Decode(text) {
  const bytes = utf8.encode(text);
  if (bytes.length === 0 || bytes.length > MAX_PAYLOAD_CHARS || bytes.length % 3 === 1) refuse('bad_base45');
  const digit = (c) => {
    const d = BASE45_DIGITS[c];
    if (d < 0) refuse('bad_base45');
    return d;
  };
  const out = [];
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const v = digit(bytes[i]) + 45 * digit(bytes[i + 1]) + 2025 * digit(bytes[i + 2]);
    if (v > 0xffff) refuse('bad_base45');
    out.push(v >> 8, v & 0xff);
  }
  if (i < bytes.length) {
    const v = digit(bytes[i]) + 45 * digit(bytes[i + 1]);
    if (v > 0xff) refuse('bad_base45');
    out.push(v);
  }
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------- CBOR (cborg's tokenizer)

// Values as ciborium's `Value` has them: maps keep their pairs in order (duplicates too: the
// callers decide, as the Rust code does), integers are BigInt, text is strict UTF-8.
const BREAK = Symbol('break');

/** Reads exactly one CBOR item; trailing bytes are an error (unsigned malleability). */
export function readCbor(bytes) {
  const tokens = new Tokenizer(bytes, { retainStringBytes: true, allowIndefinite: true, allowUndefined: true, allowBigInt: true });
  const value = item(tokens, 0);
  if (value === BREAK || !tokens.done()) throw new Error('trailing or stray bytes');
  return value;
}

function item(tokens, depth) {
  if (depth > 64) throw new Error('too deep');
  if (tokens.done()) throw new Error('truncated');
  const token = tokens.next();
  const v = token.value;
  switch (token.type.name) {
    case 'uint':
    case 'negint':
      return { t: 'int', v: BigInt(v) };
    case 'bytes':
      return { t: 'bytes', v: Uint8Array.from(v) };
    case 'string':
      return { t: 'text', v: strictUtf8.decode(token.byteValue) };
    case 'float':
      return { t: 'float', v };
    case 'true':
    case 'false':
      return { t: 'bool', v };
    case 'null':
    case 'undefined':
      return { t: 'null' };
    case 'break':
      return BREAK;
    case 'tag':
      return { t: 'tag', n: BigInt(v), v: needed(item(tokens, depth + 1)) };
    case 'array':
      return { t: 'array', v: members(tokens, depth, v, 'array', (x) => x) };
    case 'map':
      return {
        t: 'map',
        v: members(tokens, depth, v, 'map', (k) => [k, needed(item(tokens, depth + 1))]),
      };
    default:
      throw new Error(`unsupported CBOR ${token.type.name}`);
  }
}

/**
 * The members of an array or map of `count` items (`Infinity`: indefinite, up to a break),
 * each made by `member` from its first item (a map reads the value after the key).
 */
function members(tokens, depth, count, kind, member) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const x = item(tokens, depth + 1);
    if (x === BREAK) {
      if (count === Infinity) break;
      throw new Error(`break in a sized ${kind}`);
    }
    out.push(member(x));
  }
  return out;
}

function needed(x) {
  if (x === BREAK) throw new Error('unexpected break');
  return x;
}

// ---------------------------------------------------------------- COSE_Sign1 (RFC 9052)

function nonEmptyBytes(value) {
  if (value.t !== 'bytes' || value.v.length === 0) throw new Error('expected non-empty bytes');
  return value.v;
}

function i64(value) {
  if (value.t !== 'int' || value.v < I64_MIN || value.v > I64_MAX) throw new Error('expected an i64');
  return value.v;
}

/** A header map as coset reads it: labels int or text, no duplicates, typed known labels. */
function parseHeader(value) {
  if (value.t !== 'map') throw new Error('header is not a map');
  const header = { alg: null, crit: false, kid: null };
  const seen = new Set();
  let iv = false;
  let partialIv = false;
  for (const [label, v] of value.v) {
    let key;
    if (label.t === 'int') key = `i${i64(label)}`;
    else if (label.t === 'text') key = `t${label.v}`;
    else throw new Error('label type');
    if (seen.has(key)) throw new Error('duplicate header label');
    seen.add(key);
    switch (key) {
      case 'i1':
        if (v.t === 'int') {
          const id = i64(v);
          if (!IANA_ALGS.has(id) && !(id < -65536n)) throw new Error('unregistered algorithm');
          header.alg = ALGS.get(id) ?? 'other';
        } else if (v.t === 'text') header.alg = 'other';
        else throw new Error('alg type');
        break;
      case 'i2':
        if (v.t !== 'array' || v.v.length === 0) throw new Error('crit');
        for (const c of v.v) if (c.t !== 'int' && c.t !== 'text') throw new Error('crit label');
        header.crit = true;
        break;
      case 'i3':
        if (v.t === 'int') {
          if (v.v < 0n || v.v > 65535n) throw new Error('content type');
        } else if (v.t === 'text') {
          if (!v.v || v.v.trim() !== v.v || v.v.split('/').length !== 2) throw new Error('content type');
        } else throw new Error('content type');
        break;
      case 'i4':
        header.kid = nonEmptyBytes(v);
        break;
      case 'i5':
        nonEmptyBytes(v);
        iv = true;
        break;
      case 'i6':
        nonEmptyBytes(v);
        partialIv = true;
        break;
      case 'i7':
        if (v.t !== 'array' || v.v.length === 0) throw new Error('counter signature');
        break;
      default:
    }
    if (iv && partialIv) throw new Error('IV and partial IV');
  }
  return header;
}

/**
 * Parses a COSE_Sign1: tagged (18), wrapped in the CWT tag (61 around 18), or untagged.
 * `detached`: the payload must be nil (the lists); otherwise present (credentials).
 */
export function parseSign1(bytes, detached) {
  try {
    let value = readCbor(bytes);
    let cwtTagged = false;
    let coseTagged = false;
    if (value.t === 'tag' && value.n === CWT_TAG) {
      if (value.v.t !== 'tag' || value.v.n !== COSE_SIGN1_TAG) throw new Error('CWT tag without COSE tag');
      [cwtTagged, coseTagged, value] = [true, true, value.v.v];
    } else if (value.t === 'tag' && value.n === COSE_SIGN1_TAG) {
      [coseTagged, value] = [true, value.v];
    } else if (value.t !== 'array') {
      throw new Error('not a COSE_Sign1');
    }
    if (value.t !== 'array' || value.v.length !== 4) throw new Error('not four items');
    const [p, u, payload, signature] = value.v;
    if (signature.t !== 'bytes') throw new Error('signature');
    if (payload.t !== 'bytes' && payload.t !== 'null') throw new Error('payload');
    const unprotected = parseHeader(u);
    if (p.t !== 'bytes') throw new Error('protected');
    const protectedHeader = p.v.length === 0 ? parseHeader({ t: 'map', v: [] }) : parseHeader(readCbor(p.v));
    if (protectedHeader.crit) throw new Error('critical header');
    const algName = protectedHeader.alg ?? unprotected.alg;
    const alg = algName && algName !== 'other' ? algName : null;
    const kid = protectedHeader.kid ?? unprotected.kid;
    if (detached !== (payload.t === 'null')) throw new Error('payload presence');
    return {
      protected: p.v,
      payload: payload.t === 'bytes' ? payload.v : new Uint8Array(0),
      signature: signature.v,
      alg,
      kid,
      kidProtected: protectedHeader.kid !== null,
      cwtTagged,
      coseTagged,
    };
  } catch {
    return refuse('bad_cose');
  }
}

/** `["Signature1", protected, h'', payload]` with empty external AAD (RFC 9052 §4.4). */
export function sigStructure(protectedBytes, payload) {
  const head = (len) => {
    if (len < 24) return [0x40 | len];
    if (len < 0x100) return [0x58, len];
    if (len < 0x10000) return [0x59, len >> 8, len & 0xff];
    return [0x5a, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff];
  };
  const parts = [
    [0x84, 0x6a],
    Array.from(utf8.encode('Signature1')),
    head(protectedBytes.length),
    protectedBytes,
    [0x40],
    head(payload.length),
    payload,
  ];
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let pos = 0;
  for (const x of parts) {
    out.set(x, pos);
    pos += x.length;
  }
  return out;
}

/** Prefix → base45 → zlib → COSE_Sign1, each failure with its own reason. */
async function openEnvelope(text, prefix) {
  const trimmed = trimAscii(text);
  if (!trimmed.startsWith(prefix)) refuse('bad_prefix');
  const compressed = base45Decode(trimmed.slice(prefix.length));
  const cose = await as('bad_compression', () => inflate(compressed));
  return parseSign1(cose, false);
}

/** Rust's `trim_ascii`: space, tab, LF, FF, CR only. */
function trimAscii(text) {
  return String(text).replace(/^[ \t\n\f\r]+|[ \t\n\f\r]+$/g, '');
}

// ---------------------------------------------------------------- CWT claims (RFC 8392)

/** Integer seconds, or a finite float rounded down (saturating, as Rust's `as i64`). */
function timestamp(value) {
  if (value.t === 'int') return i64(value);
  if (value.t === 'float' && Number.isFinite(value.v)) {
    const f = Math.floor(value.v);
    if (f >= 2 ** 63) return I64_MAX;
    if (f < -(2 ** 63)) return I64_MIN;
    return BigInt(f);
  }
  throw new Error('timestamp');
}

function setOnce(slots, name, value) {
  if (name in slots) throw new Error(`duplicate ${name}`);
  slots[name] = value;
}

/** Parses the claims map: exp and iat (or nbf) required, duplicates of ours refused. */
export function parseClaims(bytes) {
  const map = readCbor(bytes);
  if (map.t !== 'map') throw new Error('claims are not a map');
  const s = {};
  for (const [label, value] of map.v) {
    if (label.t !== 'int') continue;
    switch (label.v) {
      case 1n:
        if (value.t !== 'text') throw new Error('iss');
        setOnce(s, 'iss', value.v);
        break;
      case 4n:
        setOnce(s, 'exp', timestamp(value));
        break;
      case 5n:
        setOnce(s, 'nbf', timestamp(value));
        break;
      case 6n:
        setOnce(s, 'iat', timestamp(value));
        break;
      case 7n:
        if (value.t !== 'bytes') throw new Error('cti');
        setOnce(s, 'cti', value.v);
        break;
      case BODY_CLAIM:
        setOnce(s, 'body', value);
        break;
      default:
    }
  }
  if (!('exp' in s)) throw new Error('no exp');
  const iat = s.iat ?? s.nbf;
  if (iat === undefined) throw new Error('no iat');
  return {
    iss: s.iss ?? '',
    iat,
    nbf: s.nbf ?? iat,
    exp: s.exp,
    cti: s.cti ?? new Uint8Array(0),
    body: s.body === undefined ? null : parseBody(s.body),
  };
}

const BODY_FIELDS = [
  'kind', 'holder_name_zh', 'holder_name_latin', 'date_of_birth', 'sex', 'document_kind',
  'document_number', 'permitted_uses', 'status_index', 'linked_document_number',
];

/** The credential body as serde reads it into `CredentialBody`. */
function parseBody(value) {
  if (value.t !== 'map') throw new Error('body is not a map');
  const f = {};
  for (const [k, v] of value.v) {
    if (k.t !== 'text' || !BODY_FIELDS.includes(k.v)) continue;
    if (k.v in f) throw new Error(`duplicate field ${k.v}`);
    f[k.v] = v;
  }
  const text = (name) => {
    const v = f[name];
    if (!v || v.t !== 'text') throw new Error(`${name} must be text`);
    return v.v;
  };
  const optionalText = (name) => {
    const v = f[name];
    if (!v || v.t === 'null') return null;
    if (v.t !== 'text') throw new Error(`${name} must be text`);
    return v.v;
  };
  const kind = text('kind');
  let uses = [];
  if (f.permitted_uses) {
    if (f.permitted_uses.t !== 'array') throw new Error('permitted_uses');
    uses = f.permitted_uses.v.map((u) => {
      if (u.t !== 'text') throw new Error('permitted_uses');
      return u.v;
    });
  }
  const index = f.status_index;
  if (!index || index.t !== 'int' || index.v < 0n || index.v > U64_MAX) throw new Error('status_index');
  const body = {
    kind: kind === 'temporary_permit' || kind === 'linkage_proof' ? kind : 'unknown',
    holder_name_zh: optionalText('holder_name_zh'),
    holder_name_latin: text('holder_name_latin'),
    date_of_birth: text('date_of_birth'),
    sex: text('sex'),
    document_kind: text('document_kind'),
    document_number: text('document_number'),
    permitted_uses: uses,
    status_index: index.v,
    linked_document_number: optionalText('linked_document_number'),
  };
  return body;
}

// ---------------------------------------------------------------- the lists

/** JSON with the fields of `shape` checked as serde would: type, presence (extra fields ignored). */
function fields(obj, shape) {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('not an object');
  const out = {};
  for (const [name, kind] of Object.entries(shape)) {
    const v = obj[name];
    const ok = kind === 'string' ? typeof v === 'string'
      : kind === 'u64' ? Number.isSafeInteger(v) && v >= 0
        : kind === 'i64' ? Number.isSafeInteger(v)
          : Array.isArray(v);
    if (!ok) throw new Error(`${name}: expected ${kind}`);
    out[name] = v;
  }
  return out;
}

/**
 * Opens a trust list: the root must equal the pinned one (DER) when given and be validly
 * self-signed, the detached COSE signature over the canonical payload must verify with the
 * root key, and every signer must be issued by the root with a matching kid. Any failure:
 * `bad_trust_list`. Resolves to `{ trust, info }`.
 */
export async function openTrustList(docText, pinnedRootDer) {
  try {
    const doc = JSON.parse(docText);
    const p = fields(doc, { format: 'string', version: 'u64', issued_at: 'i64', root_cert: 'string', signers: 'array', signature: 'string' });
    const signers = p.signers.map((s) => fields(s, { kid: 'string', cert: 'string' }));
    if (p.format !== TRUST_LIST_FORMAT) throw new Error('format');
    const rootDer = base64Decode(p.root_cert);
    if (pinnedRootDer && !equalBytes(pinnedRootDer, rootDer)) throw new Error('not the pinned root');
    if (!(await issuedBy(rootDer, rootDer))) throw new Error('root not self-signed');
    const root = parseCert(rootDer);
    // The canonical payload: compact JSON in this field order (serde_json's escaping is JSON.stringify's).
    const canonical = utf8.encode(JSON.stringify({
      format: p.format,
      version: p.version,
      issued_at: p.issued_at,
      root_cert: p.root_cert,
      signers: signers.map((s) => ({ kid: s.kid, cert: s.cert })),
    }));
    const env = parseSign1(base64Decode(p.signature), true);
    if (!env.alg) throw new Error('algorithm');
    if (!(await root.key.check(env.alg, sigStructure(env.protected, canonical), env.signature))) throw new Error('signature');
    const trust = new TrustStore();
    const signerKids = [];
    for (const s of signers) {
      const certDer = base64Decode(s.cert);
      const kid = hex(await kidOf(certDer));
      if (s.kid.toLowerCase() !== kid || !(await issuedBy(certDer, rootDer))) throw new Error('signer');
      await trust.addCertDer(certDer);
      signerKids.push(kid);
    }
    return {
      trust,
      info: { version: p.version, issued_at: p.issued_at, root_fingerprint: hex(await sha256(rootDer)), signer_kids: signerKids },
    };
  } catch (e) {
    if (e instanceof UnsupportedAlgorithm) throw e;
    return refuse('bad_trust_list');
  }
}

/** A revocation bitstring: index i is bit 0x80 >> (i % 8) of byte i / 8; set = revoked. */
export class StatusList {
  constructor(issuedAt, bits, size) {
    this.issued_at = issuedAt;
    this.bits = bits;
    this.size = size;
  }

  isSet(index) {
    const i = BigInt(index);
    if (i < 0n || i >= BigInt(this.size)) return false;
    return (this.bits[Number(i / 8n)] & (0x80 >> Number(i % 8n))) !== 0;
  }
}

/**
 * Opens a status list: the signature by a key in `trust` (else `bad_status_list`), then the
 * age (`at − issued_at > maxAgeSecs` → `stale_status_list`), then the bits.
 */
export async function openStatusList(docText, trust, at, maxAgeSecs) {
  try {
    const doc = JSON.parse(docText);
    const p = fields(doc, { format: 'string', issued_at: 'i64', kid: 'string', size: 'u64', bits: 'string', signature: 'string' });
    if (p.format !== STATUS_LIST_FORMAT || p.size > MAX_STATUS_LIST_LEN) throw new Error('format');
    const canonical = utf8.encode(JSON.stringify({ format: p.format, issued_at: p.issued_at, kid: p.kid, size: p.size, bits: p.bits }));
    const env = parseSign1(base64Decode(p.signature), true);
    if (!env.alg) throw new Error('algorithm');
    if (!(await trust.verify(env.kid, env.alg, sigStructure(env.protected, canonical), env.signature))) throw new Error('signature');
    if (at - p.issued_at > maxAgeSecs) refuse('stale_status_list');
    const byteLen = Math.ceil(p.size / 8);
    const bits = await inflateLimited(base64Decode(p.bits), byteLen);
    if (bits.length !== byteLen) throw new Error('length');
    return new StatusList(p.issued_at, bits, p.size);
  } catch (e) {
    if ((e instanceof Refusal && e.reason === 'stale_status_list') || e instanceof UnsupportedAlgorithm) throw e;
    return refuse('bad_status_list');
  }
}

// ---------------------------------------------------------------- verify

function refused(reason) {
  return { valid: false, reason, kind: 'unknown', claims: null, valid_until: null };
}

/** The claims as the Rust verdict serializes them (cti in hex, absent optional fields left out). */
function claimsJson(c) {
  let body = null;
  if (c.body) {
    body = { ...c.body, status_index: Number(c.body.status_index) };
    if (body.holder_name_zh === null) delete body.holder_name_zh;
    if (body.linked_document_number === null) delete body.linked_document_number;
  }
  return { iss: c.iss, iat: Number(c.iat), nbf: Number(c.nbf), exp: Number(c.exp), cti: hex(c.cti), body };
}

/** Window, then revocation, then use (our kinds only for the last two). */
function judge(claims, opts) {
  const at = BigInt(opts.at);
  const skew = BigInt(Math.max(0, opts.clockSkewSecs ?? DEFAULT_CLOCK_SKEW_SECS));
  if (at + skew < claims.nbf) return 'not_yet_valid';
  if (at - skew >= claims.exp) return 'expired';
  const body = claims.body;
  if (!body || body.kind === 'unknown') return 'valid';
  if (opts.status && opts.status.isSet(body.status_index)) return 'revoked';
  if (opts.requiredUse != null && !body.permitted_uses.includes(opts.requiredUse)) return 'wrong_use';
  return 'valid';
}

/**
 * Verifies a payload: `{ prefix, at (unix seconds), requiredUse, status (an opened
 * StatusList), clockSkewSecs }`. Resolves to the verdict the Rust `verify` gives, as JSON
 * (`claims` only once the signature has verified). Rejects only with UnsupportedAlgorithm.
 */
export async function verify(text, trust, opts = {}) {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  let env;
  let claims;
  try {
    env = await openEnvelope(text, prefix);
    if (!env.alg) return refused('bad_cose');
    claims = await as('bad_claims', () => parseClaims(env.payload));
  } catch (e) {
    if (e instanceof Refusal) return refused(e.reason);
    throw e;
  }
  if (!trust.hasCandidates(env.kid)) return refused('unknown_signer');
  if (!(await trust.verify(env.kid, env.alg, sigStructure(env.protected, env.payload), env.signature))) {
    return refused('bad_signature');
  }
  const reason = judge(claims, opts);
  return {
    valid: reason === 'valid',
    reason,
    kind: claims.body ? claims.body.kind : 'unknown',
    claims: claimsJson(claims),
    valid_until: Number(claims.exp),
  };
}

/** What an authentic credential of ours is for (empty: not limited, or not authentic). */
export function permittedUses(verdict) {
  const body = verdict.claims?.body;
  return body && body.kind !== 'unknown' ? body.permitted_uses : [];
}
