// X.509, keys and signatures for the credential verifier: the little DER the trust list needs
// (certificates, SubjectPublicKeyInfo, ECDSA signatures) and WebCrypto for every check, as
// crates/credentials/src/x509.rs and pubkey.rs.

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Standard base64 with padding, strict like Rust's `base64` (no whitespace, zero trailing bits). */
export function base64Decode(text) {
  if (typeof text !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new Error('not base64');
  }
  const last = text.replace(/=+$/, '');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const tail = alphabet.indexOf(last[last.length - 1] ?? 'A');
  if ((text.endsWith('==') && (tail & 0x0f)) || (!text.endsWith('==') && text.endsWith('=') && (tail & 0x03))) {
    throw new Error('non-canonical base64');
  }
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** kid = the first 8 bytes of SHA-256 over the certificate's DER (the HCERT convention). */
export async function kidOf(certDer) {
  return (await sha256(certDer)).slice(0, 8);
}

// ---------------------------------------------------------------- DER and X.509 (the little we need)

function der(bytes, pos = 0) {
  if (pos + 2 > bytes.length) throw new Error('DER truncated');
  const tag = bytes[pos];
  if ((tag & 0x1f) === 0x1f) throw new Error('DER high tag');
  let len = bytes[pos + 1];
  let at = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || at + n > bytes.length) throw new Error('DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[at + i];
    if (bytes[at] === 0 || len < 0x80) throw new Error('DER non-minimal length');
    at += n;
  }
  if (at + len > bytes.length) throw new Error('DER truncated');
  return { tag, start: pos, body: bytes.subarray(at, at + len), end: at + len };
}

function children(node) {
  const out = [];
  for (let pos = 0; pos < node.body.length; ) {
    const c = der(node.body, pos);
    out.push(c);
    pos = c.end;
  }
  return out;
}

function whole(bytes, node) {
  return bytes.subarray(node.start, node.end);
}

function oid(node) {
  if (node.tag !== 0x06) throw new Error('expected an OID');
  const b = node.body;
  const parts = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

function bitString(node) {
  if (node.tag !== 0x03 || node.body.length === 0 || node.body[0] !== 0) throw new Error('bit string');
  return node.body.subarray(1);
}

function unsigned(node) {
  if (node.tag !== 0x02 || node.body.length === 0) throw new Error('expected an INTEGER');
  let b = node.body;
  while (b.length > 1 && b[0] === 0) b = b.subarray(1);
  return b;
}

const OID_EC = '1.2.840.10045.2.1';
const OID_P256 = '1.2.840.10045.3.1.7';
const OID_P384 = '1.3.132.0.34';
const OID_ED25519 = '1.3.101.112';
const OID_RSA = '1.2.840.113549.1.1.1';
const OID_RSA_PSS = '1.2.840.113549.1.1.10';
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_ECDSA_SHA384 = '1.2.840.10045.4.3.3';

/** A public key from a DER SubjectPublicKeyInfo: P-256 (and P-384), Ed25519, RSA ≥ 2048 bits. */
export function keyFromSpki(spkiBytes) {
  const spki = der(spkiBytes);
  if (spki.tag !== 0x30 || spki.end !== spkiBytes.length) throw new Error('SPKI');
  const [algId, bits] = children(spki);
  const [algOid, params] = children(algId);
  const kind = oid(algOid);
  const key = bitString(bits);
  if (kind === OID_EC) {
    const curve = params && oid(params);
    const size = curve === OID_P256 ? 65 : curve === OID_P384 ? 97 : 0;
    if (!size || key.length !== size || key[0] !== 0x04) throw new Error('EC key');
    return new PublicKey(curve === OID_P256 ? 'P-256' : 'P-384', key);
  }
  if (kind === OID_ED25519) {
    if (key.length !== 32) throw new Error('Ed25519 key');
    return new PublicKey('Ed25519', key);
  }
  if (kind === OID_RSA || kind === OID_RSA_PSS) {
    const seq = der(key);
    const [n, e] = children(seq);
    const modulus = unsigned(n);
    const exponent = unsigned(e);
    if (seq.end !== key.length || modulus.length < 256 || (exponent.length === 1 && exponent[0] === 0)) throw new Error('RSA key');
    return new PublicKey('RSA', null, { n: modulus, e: exponent });
  }
  throw new Error(`unsupported key ${kind}`);
}

/** The parts of a certificate: its key, names (DER) and the signed part with its signature. */
export function parseCert(certDer) {
  const cert = der(certDer);
  if (cert.tag !== 0x30 || cert.end !== certDer.length) throw new Error('certificate');
  const [tbs, sigAlg, sig, ...rest] = children(cert);
  if (!tbs || !sigAlg || !sig || rest.length || tbs.tag !== 0x30 || sigAlg.tag !== 0x30) throw new Error('certificate');
  let fields = children(tbs);
  if (fields[0]?.tag === 0xa0) fields = fields.slice(1);
  const [serial, innerAlg, issuer, validity, subject, spki] = fields;
  if (serial?.tag !== 0x02 || innerAlg?.tag !== 0x30 || issuer?.tag !== 0x30 || validity?.tag !== 0x30 || subject?.tag !== 0x30 || spki?.tag !== 0x30) {
    throw new Error('certificate fields');
  }
  return {
    key: keyFromSpki(whole(tbs.body, spki)),
    issuer: whole(tbs.body, issuer),
    subject: whole(tbs.body, subject),
    tbs: whole(cert.body, tbs),
    sigAlg: oid(children(sigAlg)[0]),
    signature: bitString(sig),
  };
}

/** ECDSA-Sig-Value (DER) → r‖s of `size` bytes each, as WebCrypto wants. */
function ecdsaRaw(sigDer, size) {
  const seq = der(sigDer);
  if (seq.tag !== 0x30 || seq.end !== sigDer.length) throw new Error('ECDSA signature');
  const parts = children(seq);
  if (parts.length !== 2) throw new Error('ECDSA signature');
  const out = new Uint8Array(2 * size);
  parts.forEach((p, i) => {
    const v = unsigned(p);
    if (v.length > size) throw new Error('ECDSA signature');
    out.set(v, (i + 1) * size - v.length);
  });
  return out;
}

/** Whether `certDer` names `issuerDer`'s subject as issuer and carries its valid signature. */
export async function issuedBy(certDer, issuerDer) {
  try {
    const cert = parseCert(certDer);
    const issuer = parseCert(issuerDer);
    if (!equalBytes(cert.issuer, issuer.subject)) return false;
    const { key } = issuer;
    if (key.type === 'P-256' && cert.sigAlg === OID_ECDSA_SHA256) return await key.check('ES256', cert.tbs, ecdsaRaw(cert.signature, 32));
    if (key.type === 'P-384' && cert.sigAlg === OID_ECDSA_SHA384) return await key.check('ES384', cert.tbs, ecdsaRaw(cert.signature, 48));
    if (key.type === 'Ed25519' && cert.sigAlg === OID_ED25519) return await key.check('EdDSA', cert.tbs, cert.signature);
    return false;
  } catch (e) {
    if (e instanceof UnsupportedAlgorithm) throw e;
    return false;
  }
}

// ---------------------------------------------------------------- keys and WebCrypto

/** Thrown when this browser's WebCrypto lacks an algorithm (e.g. Ed25519 in older ones). */
export class UnsupportedAlgorithm extends Error {
  constructor(alg) {
    super(`this browser cannot check ${alg} signatures`);
    this.alg = alg;
  }
}

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

class PublicKey {
  constructor(type, raw, rsa) {
    this.type = type;
    this.raw = raw;
    this.rsa = rsa;
    this.imported = null;
  }

  /** The COSE algorithm this key verifies; a key of another type never verifies. */
  alg() {
    return { 'P-256': 'ES256', 'P-384': 'ES384', Ed25519: 'EdDSA', RSA: 'PS256' }[this.type];
  }

  async cryptoKey() {
    if (!this.imported) {
      const params = {
        'P-256': { name: 'ECDSA', namedCurve: 'P-256' },
        'P-384': { name: 'ECDSA', namedCurve: 'P-384' },
        Ed25519: { name: 'Ed25519' },
        RSA: { name: 'RSA-PSS', hash: 'SHA-256' },
      }[this.type];
      const imported = this.type === 'RSA'
        ? crypto.subtle.importKey('jwk', { kty: 'RSA', n: b64url(this.rsa.n), e: b64url(this.rsa.e), ext: true }, params, false, ['verify'])
        : crypto.subtle.importKey('raw', this.raw, params, false, ['verify']);
      this.imported = imported.catch((e) => {
        this.imported = null;
        throw e.name === 'NotSupportedError' ? new UnsupportedAlgorithm(this.alg()) : e;
      });
    }
    return this.imported;
  }

  /** Verifies a COSE-style signature (ECDSA as r‖s). */
  async check(alg, message, signature) {
    if (alg !== this.alg()) return false;
    if (this.type === 'RSA' && (this.rsa.n.length > 1024 || signature.length !== this.rsa.n.length)) return false;
    if ((this.type === 'P-256' && signature.length !== 64) || (this.type === 'P-384' && signature.length !== 96)) return false;
    if (this.type === 'Ed25519' && signature.length !== 64) return false;
    const key = await this.cryptoKey();
    const params = {
      'P-256': { name: 'ECDSA', hash: 'SHA-256' },
      'P-384': { name: 'ECDSA', hash: 'SHA-384' },
      Ed25519: { name: 'Ed25519' },
      RSA: { name: 'RSA-PSS', saltLength: 32 },
    }[this.type];
    return crypto.subtle.verify(params, key, signature, message);
  }
}

/** The keys a verifier trusts: signer certificates by kid, and bare keys that match any kid. */
export class TrustStore {
  constructor() {
    this.byKid = new Map();
    this.anyKid = [];
  }

  /** Adds a signer certificate (DER); returns its hex kid. */
  async addCertDer(certDer) {
    const { key } = parseCert(certDer);
    const kid = hex(await kidOf(certDer));
    const list = this.byKid.get(kid) ?? [];
    if (!list.some((k) => equalBytes(k.certDer, certDer))) list.push({ key, certDer });
    this.byKid.set(kid, list);
    return kid;
  }

  /** Adds a bare public key (DER SubjectPublicKeyInfo): tried for every credential. */
  addSpki(spkiDer) {
    this.anyKid.push(keyFromSpki(spkiDer));
  }

  get size() {
    let n = this.anyKid.length;
    for (const list of this.byKid.values()) n += list.length;
    return n;
  }

  certified(kid) {
    if (!kid || kid.length !== 8) return [];
    return (this.byKid.get(hex(kid)) ?? []).map((k) => k.key);
  }

  hasCandidates(kid) {
    return this.anyKid.length > 0 || this.certified(kid).length > 0;
  }

  /** Tries the keys for `kid`, then the bare keys; true if one verifies. */
  async verify(kid, alg, message, signature) {
    for (const key of [...this.certified(kid), ...this.anyKid]) {
      if (await key.check(alg, message, signature)) return true;
    }
    return false;
  }
}
