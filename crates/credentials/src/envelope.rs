//! The transport layers around the CWT: COSE_Sign1, zlib, base45 and the context prefix.
//! Parsing here sees untrusted bytes: every step is bounded and returns a [`Reason`], never
//! panics.

use crate::claims::read_value;
use crate::deflate_end;
use crate::keys::SigningKey;
use crate::{Alg, CredError, Reason};
use ciborium::Value;
use coset::iana::EnumI64;
use coset::{
    AsCborValue, CoseSign1, CoseSign1Builder, HeaderBuilder, RegisteredLabelWithPrivate,
    TaggedCborSerializable,
};
use flate2::{Compression, Decompress, FlushDecompress, Status};
use std::io::Write;

/// The context prefix of our credentials.
pub const DEFAULT_PREFIX: &str = "EE1:";
/// Longest payload text accepted after the prefix (a version-40 QR code holds 4296
/// alphanumeric characters; this leaves room for text transports).
pub const MAX_PAYLOAD_CHARS: usize = 16 * 1024;
/// Most bytes a payload may inflate to (a zlib bomb stops here).
pub const MAX_INFLATED_BYTES: usize = 64 * 1024;

const CWT_TAG: u64 = 61;
const COSE_SIGN1_TAG: u64 = 18;

/// A parsed COSE_Sign1 with the parts verification needs, before the signature is checked.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    /// The protected header exactly as received (it is signed as bytes).
    pub protected: Vec<u8>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
    /// `None` when absent or not one we can verify.
    pub alg: Option<Alg>,
    pub kid: Option<Vec<u8>>,
    pub kid_protected: bool,
    pub cwt_tagged: bool,
    pub cose_tagged: bool,
}

/// Prefix → base45 → zlib → COSE_Sign1, each failure with its own reason.
pub(crate) fn open(text: &str, prefix: &str) -> Result<Envelope, Reason> {
    let body = text
        .trim_ascii()
        .strip_prefix(prefix)
        .ok_or(Reason::BadPrefix)?;
    let compressed = base45_decode(body)?;
    let cose = inflate(&compressed).map_err(|()| Reason::BadCompression)?;
    parse_sign1(&cose, false)
}

/// COSE_Sign1 bytes → text payload: zlib → base45 → prefix.
///
/// The zlib stream uses stored (uncompressed) deflate blocks. A signed CBOR message only
/// shrinks by about 10% under deflate, and compressed deflate is malleable: a Huffman
/// header can write the same code lengths in several ways of equal bit length (a repeat
/// code or literal zeros), so single-character variants of a compressed payload inflate
/// to the very same signed bytes and would verify. Stored blocks, with the padding bits
/// checked on decode, leave no such variant. Compressed payloads (HCERT issuers) are still
/// accepted by the verifier.
pub fn encode_envelope(cose_sign1: &[u8], prefix: &str) -> String {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::none());
    // Writing into a Vec cannot fail.
    let compressed = z
        .write_all(cose_sign1)
        .and_then(|()| z.finish())
        .unwrap_or_default();
    let mut out = String::with_capacity(prefix.len() + compressed.len() * 3 / 2 + 2);
    out.push_str(prefix);
    out.push_str(&base45::encode(compressed));
    out
}

/// The COSE `Sig_structure` for a COSE_Sign1 with empty external AAD (RFC 9052 §4.4):
/// `["Signature1", protected, h'', payload]`. Built by hand: it is on the hot path and the
/// encoding is fixed.
pub fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 24);
    out.push(0x84); // array(4)
    out.push(0x6a); // text(10)
    out.extend_from_slice(b"Signature1");
    bstr_header(&mut out, protected.len());
    out.extend_from_slice(protected);
    out.push(0x40); // external_aad: empty bstr
    bstr_header(&mut out, payload.len());
    out.extend_from_slice(payload);
    out
}

fn bstr_header(out: &mut Vec<u8>, len: usize) {
    let len = len as u64;
    match len {
        0..=23 => out.push(0x40 | len as u8),
        24..=0xff => out.extend_from_slice(&[0x58, len as u8]),
        0x100..=0xffff => {
            out.push(0x59);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0x5a);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
        _ => {
            out.push(0x5b);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
}

/// Signs `payload` as a tagged COSE_Sign1 with alg and kid in the protected header. With
/// `detached`, the payload is left out of the structure (nil) but still signed.
pub(crate) fn sign1(
    key: &SigningKey,
    payload: &[u8],
    detached: bool,
) -> Result<Vec<u8>, CredError> {
    let alg = match key.alg() {
        Alg::Es256 => coset::iana::Algorithm::ES256,
        Alg::Es384 => coset::iana::Algorithm::ES384,
        Alg::EdDsa => coset::iana::Algorithm::EdDSA,
        Alg::Ps256 => return Err(CredError::new("unsupported_algorithm", "PS256 cannot sign")),
    };
    let protected = HeaderBuilder::new()
        .algorithm(alg)
        .key_id(key.kid().to_vec())
        .build();
    let builder = CoseSign1Builder::new().protected(protected);
    let sign1 = if detached {
        builder.try_create_detached_signature(payload, b"", |tbs| key.sign(tbs))?
    } else {
        builder
            .payload(payload.to_vec())
            .try_create_signature(b"", |tbs| key.sign(tbs))?
    };
    sign1
        .build()
        .to_tagged_vec()
        .map_err(|e| CredError::new("encoding_failed", format!("COSE_Sign1: {e}")))
}

/// Parses a COSE_Sign1: tagged (18), wrapped in the CWT tag (61 around 18), or untagged.
/// `detached`: the payload must be nil (documents signed over canonical JSON); otherwise it
/// must be present (credentials).
pub(crate) fn parse_sign1(bytes: &[u8], detached: bool) -> Result<Envelope, Reason> {
    let value = read_value(bytes).map_err(|()| Reason::BadCose)?;
    let (cwt_tagged, cose_tagged, value) = match value {
        Value::Tag(CWT_TAG, inner) => match *inner {
            Value::Tag(COSE_SIGN1_TAG, inner) => (true, true, *inner),
            _ => return Err(Reason::BadCose),
        },
        Value::Tag(COSE_SIGN1_TAG, inner) => (false, true, *inner),
        value @ Value::Array(_) => (false, false, value),
        _ => return Err(Reason::BadCose),
    };
    let sign1 = CoseSign1::from_cbor_value(value).map_err(|_| Reason::BadCose)?;
    let protected_header = &sign1.protected.header;
    // We understand no critical header parameter beyond the ones every COSE library knows.
    if !protected_header.crit.is_empty() {
        return Err(Reason::BadCose);
    }
    let alg = protected_header
        .alg
        .as_ref()
        .or(sign1.unprotected.alg.as_ref())
        .and_then(|alg| match alg {
            RegisteredLabelWithPrivate::Assigned(a) => Alg::from_cose_id(a.to_i64()),
            _ => None,
        });
    // A kid in the protected header wins: the unprotected one is not signed.
    let (kid, kid_protected) = if !protected_header.key_id.is_empty() {
        (Some(protected_header.key_id.clone()), true)
    } else if !sign1.unprotected.key_id.is_empty() {
        (Some(sign1.unprotected.key_id.clone()), false)
    } else {
        (None, false)
    };
    let payload = match (sign1.payload, detached) {
        (Some(p), false) => p,
        (None, true) => Vec::new(),
        _ => return Err(Reason::BadCose),
    };
    Ok(Envelope {
        protected: sign1.protected.original_data.unwrap_or_default(),
        payload,
        signature: sign1.signature,
        alg,
        kid,
        kid_protected,
        cwt_tagged,
        cose_tagged,
    })
}

const BASE45_ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const NOT_BASE45: u8 = 0xff;

/// Character → digit, `NOT_BASE45` elsewhere.
static BASE45_DIGITS: [u8; 256] = {
    let mut table = [NOT_BASE45; 256];
    let mut i = 0;
    while i < BASE45_ALPHABET.len() {
        table[BASE45_ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Base45 (RFC 9285), strict: a triple must encode at most 0xffff and a final pair at most
/// 0xff (the `base45` crate lets a final pair wrap, so two texts could give the same byte).
/// Hand-written with a lookup table: the crate's per-character search was 5% of a full
/// verification. (`base45` still encodes, and the tests check both agree.)
fn base45_decode(text: &str) -> Result<Vec<u8>, Reason> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_PAYLOAD_CHARS || bytes.len() % 3 == 1 {
        return Err(Reason::BadBase45);
    }
    let digit = |c: u8| match BASE45_DIGITS[usize::from(c)] {
        NOT_BASE45 => Err(Reason::BadBase45),
        d => Ok(u32::from(d)),
    };
    let mut out = Vec::with_capacity(bytes.len() / 3 * 2 + 1);
    let mut chunks = bytes.chunks_exact(3);
    for triple in &mut chunks {
        let value = digit(triple[0])? + 45 * digit(triple[1])? + 2025 * digit(triple[2])?;
        if value > 0xffff {
            return Err(Reason::BadBase45);
        }
        out.extend_from_slice(&(value as u16).to_be_bytes());
    }
    if let [a, b] = chunks.remainder() {
        let value = digit(*a)? + 45 * digit(*b)?;
        if value > 0xff {
            return Err(Reason::BadBase45);
        }
        out.push(value as u8);
    }
    Ok(out)
}

/// zlib inflate, bounded, whole input consumed, and canonical: the bits a decoder ignores
/// (padding of the last byte, alignment before stored blocks) must be zero. Without that
/// check a one-character change of the base45 text could give different bytes that still
/// inflate to the signed payload.
fn inflate(data: &[u8]) -> Result<Vec<u8>, ()> {
    if let Some(stored) = inflate_stored(data) {
        return stored;
    }
    let out = inflate_limited(data, MAX_INFLATED_BYTES)?;
    // 2 bytes zlib header, the deflate stream, 4 bytes Adler-32.
    let deflate = data.get(2..data.len().saturating_sub(4)).ok_or(())?;
    if !deflate_end::is_canonical_end(deflate) {
        return Err(());
    }
    Ok(out)
}

/// Fast path for what we issue: a zlib stream of stored blocks only, unpacked without
/// `flate2` (whose 40 KiB inflate state showed in the profile). `None` when the stream has
/// a compressed block: the general path takes it.
fn inflate_stored(data: &[u8]) -> Option<Result<Vec<u8>, ()>> {
    let [cmf, flg, ..] = *data else {
        return Some(Err(()));
    };
    // CM 8 (deflate), window ≤ 32 KiB, check bits, no preset dictionary.
    if cmf & 0x0f != 8
        || cmf >> 4 > 7
        || (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0
        || flg & 0x20 != 0
    {
        return Some(Err(()));
    }
    let mut pos = 2;
    let mut out = Vec::new();
    loop {
        // A stored block header alone in its byte: BFINAL, BTYPE 00, zero padding.
        let header = *data.get(pos)?;
        if header > 1 {
            return None;
        }
        let Some(&[l0, l1, n0, n1]) = data.get(pos + 1..pos + 5) else {
            return Some(Err(()));
        };
        let len = u16::from_le_bytes([l0, l1]);
        if len != !u16::from_le_bytes([n0, n1]) {
            return Some(Err(()));
        }
        let start = pos + 5;
        let Some(block) = data.get(start..start + usize::from(len)) else {
            return Some(Err(()));
        };
        if out.len() + block.len() > MAX_INFLATED_BYTES {
            return Some(Err(()));
        }
        if out.is_empty() {
            out.reserve_exact(data.len().saturating_sub(11));
        }
        out.extend_from_slice(block);
        pos = start + usize::from(len);
        if header == 1 {
            break;
        }
    }
    // Exactly the Adler-32 of the output must follow.
    let ok = data.get(pos..) == Some(&adler32(&out).to_be_bytes()[..]);
    Some(if ok { Ok(out) } else { Err(()) })
}

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that can be summed before the u32 could overflow (zlib's NMAX).
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    b << 16 | a
}

/// zlib inflate of the whole of `data` into at most `limit` bytes.
pub(crate) fn inflate_limited(data: &[u8], limit: usize) -> Result<Vec<u8>, ()> {
    let mut z = Decompress::new(true);
    // (`clamp` would panic for limits under 256: min/max instead.)
    let initial = data
        .len()
        .saturating_mul(4)
        .max(256)
        .min(limit.saturating_add(1));
    let mut out = Vec::with_capacity(initial);
    loop {
        let (in_before, out_before) = (z.total_in(), out.len());
        let input = data.get(z.total_in() as usize..).ok_or(())?;
        match z
            .decompress_vec(input, &mut out, FlushDecompress::None)
            .map_err(drop)?
        {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                if out.len() == out.capacity() {
                    // One byte beyond the limit tells "exactly at the limit" from "over it".
                    if out.capacity() > limit {
                        return Err(());
                    }
                    let more = out.capacity().max(1).min(limit + 1 - out.capacity());
                    out.reserve_exact(more);
                } else if z.total_in() == in_before && out.len() == out_before {
                    return Err(()); // truncated: no progress possible
                }
            }
        }
    }
    if z.total_in() as usize != data.len() || out.len() > limit {
        return Err(());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sig_structure_matches_coset() {
        for (plen, ylen) in [
            (0, 0),
            (3, 23),
            (13, 24),
            (13, 255),
            (13, 256),
            (13, 70_000),
        ] {
            let protected = vec![0xa1; plen];
            let payload = vec![7u8; ylen];
            let expected = coset::sig_structure_data(
                coset::SignatureContext::CoseSign1,
                coset::ProtectedHeader {
                    original_data: Some(protected.clone()),
                    header: Default::default(),
                },
                None,
                b"",
                &payload,
            );
            assert_eq!(
                sig_structure(&protected, &payload),
                expected,
                "{plen} {ylen}"
            );
        }
    }

    #[test]
    fn inflate_limits() {
        let bomb = vec![0u8; MAX_INFLATED_BYTES + 1];
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(&bomb).unwrap();
        let compressed = z.finish().unwrap();
        assert!(inflate(&compressed).is_err(), "bomb refused");

        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(&vec![1u8; MAX_INFLATED_BYTES]).unwrap();
        let compressed = z.finish().unwrap();
        assert_eq!(
            inflate(&compressed).unwrap().len(),
            MAX_INFLATED_BYTES,
            "limit itself ok"
        );

        let mut trailing = compressed.clone();
        trailing.push(0);
        assert!(inflate(&trailing).is_err(), "trailing byte");
        assert!(
            inflate(&compressed[..compressed.len() - 1]).is_err(),
            "truncated"
        );
        assert!(inflate(&[]).is_err());
    }

    #[test]
    fn non_canonical_padding_is_refused() {
        // Find inputs whose last deflate byte has unused high bits, set one, expect refusal.
        let mut found = 0;
        for n in 1..200u32 {
            let input: Vec<u8> = (0..n).map(|i| (i * 7 % 13) as u8).collect();
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
            z.write_all(&input).unwrap();
            let good = z.finish().unwrap();
            assert_eq!(inflate(&good).unwrap(), input);
            let last = good.len() - 5;
            if good[last] & 0x80 == 0 {
                let mut bad = good.clone();
                bad[last] |= 0x80;
                if inflate_limited(&bad, MAX_INFLATED_BYTES).is_ok_and(|o| o == input) {
                    found += 1;
                    assert!(inflate(&bad).is_err(), "n={n}");
                }
            }
        }
        assert!(found > 10, "too few padded cases exercised: {found}");
    }

    #[test]
    fn base45_matches_the_crate() {
        let mut lcg = crate::Lcg(3);
        for len in 0..300 {
            let data = lcg.bytes(len);
            let text = base45::encode(&data);
            if len > 0 {
                assert_eq!(base45_decode(&text), Ok(data.clone()));
            }
            assert_eq!(base45::decode(&text).unwrap(), data);
        }
        assert_eq!(base45_decode("%69 VD92EX0"), Ok(b"Hello!!".to_vec())); // RFC 9285
    }

    #[test]
    fn stored_fast_path_agrees_with_flate2() {
        for len in [0usize, 1, 100, 65_535, 65_536] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::none());
            z.write_all(&data).unwrap();
            let stream = z.finish().unwrap();
            assert_eq!(inflate_stored(&stream), Some(Ok(data.clone())), "{len}");
            assert_eq!(
                inflate_limited(&stream, MAX_INFLATED_BYTES),
                Ok(data),
                "{len}"
            );
            let mut bad_adler = stream.clone();
            *bad_adler.last_mut().unwrap() ^= 1;
            assert_eq!(inflate_stored(&bad_adler), Some(Err(())));
            let mut padded = stream.clone();
            padded[2] |= 0x08; // a padding bit after BFINAL/BTYPE
            assert!(inflate(&padded).is_err(), "padding {len}");
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(b"compressed compressed compressed").unwrap();
        assert_eq!(
            inflate_stored(&z.finish().unwrap()),
            None,
            "compressed: general path"
        );
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn base45_canonical_final_pair() {
        assert_eq!(base45_decode("U5"), Ok(vec![0xff])); // 30 + 5*45 = 255
        assert_eq!(base45_decode("V5"), Err(Reason::BadBase45)); // 256
        assert_eq!(base45_decode("A"), Err(Reason::BadBase45));
        assert_eq!(base45_decode("GGW"), Err(Reason::BadBase45)); // > 65535
        assert_eq!(base45_decode("ab"), Err(Reason::BadBase45)); // lowercase
        assert_eq!(base45_decode(""), Err(Reason::BadBase45));
    }

    #[test]
    fn tags() {
        let arr = Value::Array(vec![
            Value::Bytes(vec![]),
            Value::Map(vec![]),
            Value::Bytes(vec![1]),
            Value::Bytes(vec![2]),
        ]);
        let enc = |v: Value| {
            let mut out = Vec::new();
            ciborium::ser::into_writer(&v, &mut out).unwrap();
            out
        };
        let t18 = Value::Tag(18, Box::new(arr.clone()));
        let cases = [
            ("untagged", enc(arr.clone()), true),
            ("cose tag", enc(t18.clone()), true),
            ("cwt around cose", enc(Value::Tag(61, Box::new(t18))), true),
            (
                "cwt without cose",
                enc(Value::Tag(61, Box::new(arr.clone()))),
                false,
            ),
            (
                "other tag",
                enc(Value::Tag(98, Box::new(arr.clone()))),
                false,
            ),
            ("not an array", enc(Value::Integer(1.into())), false),
        ];
        for (name, bytes, ok) in cases {
            assert_eq!(parse_sign1(&bytes, false).is_ok(), ok, "{name}");
        }
    }
}
