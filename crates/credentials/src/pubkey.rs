//! Public keys for verification, parsed once when loaded (from a certificate's
//! SubjectPublicKeyInfo, a bare SPKI, or a JWK) so that verifying is only the `ring` call.

use crate::{Alg, CredError};
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use der::asn1::{BitStringRef, ObjectIdentifier, UintRef};
use der::{Decode, Reader, SliceReader};
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA384_ASN1,
    ECDSA_P384_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, ECDSA_P384_SHA384_FIXED, ED25519,
    RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm,
};
use spki::SubjectPublicKeyInfoRef;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

/// A public key of one of the types we verify with.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum VerifyKey {
    /// Uncompressed SEC1 point (65 bytes).
    EcP256(Vec<u8>),
    /// Uncompressed SEC1 point (97 bytes).
    EcP384(Vec<u8>),
    Ed25519(Vec<u8>),
    /// Modulus and exponent, big-endian, no leading zeros.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

impl VerifyKey {
    /// Verifies a COSE signature (ES256 and ES384 as r‖s, EdDSA, PS256). A key of another
    /// type than the algorithm needs never verifies.
    pub fn verify_cose(&self, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        match (self, alg) {
            (VerifyKey::EcP256(point), Alg::Es256) => {
                ring_verify(&ECDSA_P256_SHA256_FIXED, point, message, signature)
            }
            (VerifyKey::EcP384(point), Alg::Es384) => {
                ring_verify(&ECDSA_P384_SHA384_FIXED, point, message, signature)
            }
            (VerifyKey::Ed25519(key), Alg::EdDsa) => ring_verify(&ED25519, key, message, signature),
            (VerifyKey::Rsa { n, e }, Alg::Ps256) => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PSS_2048_8192_SHA256, message, signature)
                .is_ok(),
            _ => false,
        }
    }

    /// Verifies an X.509 signature: ECDSA signatures there are DER-encoded (ASN.1), not r‖s.
    /// Either curve may be signed with either hash, as certificate authorities do.
    pub fn verify_x509(&self, sig_alg: ObjectIdentifier, message: &[u8], signature: &[u8]) -> bool {
        let sha384 = sig_alg == OID_ECDSA_SHA384;
        let ecdsa = sha384 || sig_alg == OID_ECDSA_SHA256;
        let algorithm: &'static dyn VerificationAlgorithm = match self {
            VerifyKey::EcP256(_) if ecdsa && sha384 => &ECDSA_P256_SHA384_ASN1,
            VerifyKey::EcP256(_) if ecdsa => &ECDSA_P256_SHA256_ASN1,
            VerifyKey::EcP384(_) if ecdsa && sha384 => &ECDSA_P384_SHA384_ASN1,
            VerifyKey::EcP384(_) if ecdsa => &ECDSA_P384_SHA256_ASN1,
            VerifyKey::Ed25519(_) if sig_alg == OID_ED25519 => &ED25519,
            _ => return false,
        };
        match self {
            VerifyKey::EcP256(key) | VerifyKey::EcP384(key) | VerifyKey::Ed25519(key) => {
                ring_verify(algorithm, key, message, signature)
            }
            VerifyKey::Rsa { .. } => false,
        }
    }

    /// The algorithm this key verifies in COSE.
    pub fn alg(&self) -> Alg {
        match self {
            VerifyKey::EcP256(_) => Alg::Es256,
            VerifyKey::EcP384(_) => Alg::Es384,
            VerifyKey::Ed25519(_) => Alg::EdDsa,
            VerifyKey::Rsa { .. } => Alg::Ps256,
        }
    }

    /// From a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, CredError> {
        let bad = |m: &str| CredError::new("bad_public_key", m.to_string());
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| bad(&format!("not a SubjectPublicKeyInfo: {e}")))?;
        Self::from_spki(&spki)
    }

    pub fn from_spki(spki: &SubjectPublicKeyInfoRef<'_>) -> Result<Self, CredError> {
        let bad = |m: String| CredError::new("bad_public_key", m);
        let key = bit_string_bytes(&spki.subject_public_key)
            .ok_or_else(|| bad("public key bit string has unused bits".into()))?;
        let oid = spki.algorithm.oid;
        if oid == OID_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters_oid()
                .map_err(|_| bad("EC key without a named curve".into()))?;
            if curve == OID_P256 {
                Self::ec_point(key, 32)
            } else if curve == OID_P384 {
                Self::ec_point(key, 48)
            } else {
                Err(bad(format!("EC curve {curve} is neither P-256 nor P-384")))
            }
        } else if oid == OID_ED25519 {
            Self::ed25519(key)
        } else if oid == OID_RSA || oid == OID_RSA_PSS {
            let (n, e) = rsa_public_key(key)
                .ok_or_else(|| bad("RSA public key is not a valid RSAPublicKey".into()))?;
            Self::rsa(n, e)
        } else {
            Err(bad(format!("unsupported public key algorithm {oid}")))
        }
    }

    /// An uncompressed point on the curve whose coordinates are `size` bytes (32: P-256,
    /// 48: P-384).
    fn ec_point(point: &[u8], size: usize) -> Result<Self, CredError> {
        if point.len() != 1 + 2 * size || point[0] != 0x04 {
            return Err(CredError::new(
                "bad_public_key",
                format!(
                    "EC key must be an uncompressed point of {} bytes",
                    1 + 2 * size
                ),
            ));
        }
        Ok(if size == 48 {
            VerifyKey::EcP384(point.to_vec())
        } else {
            VerifyKey::EcP256(point.to_vec())
        })
    }

    fn ed25519(key: &[u8]) -> Result<Self, CredError> {
        if key.len() != 32 {
            return Err(CredError::new(
                "bad_public_key",
                "Ed25519 key must be 32 bytes",
            ));
        }
        Ok(VerifyKey::Ed25519(key.to_vec()))
    }

    fn rsa(n: &[u8], e: &[u8]) -> Result<Self, CredError> {
        let strip = |b: &[u8]| {
            b.iter()
                .position(|&x| x != 0)
                .map_or(Vec::new(), |i| b[i..].to_vec())
        };
        let (n, e) = (strip(n), strip(e));
        if n.len() < 256 || e.is_empty() {
            return Err(CredError::new(
                "bad_public_key",
                "RSA key must have a modulus of at least 2048 bits",
            ));
        }
        Ok(VerifyKey::Rsa { n, e })
    }

    /// From a JWK (RFC 7517): EC P-256 or P-384, OKP Ed25519 or RSA. Private keys are refused.
    pub fn from_jwk(json: &str) -> Result<Self, CredError> {
        let bad = |m: String| CredError::new("bad_jwk", m);
        let jwk: serde_json::Value =
            serde_json::from_str(json).map_err(|e| bad(format!("not JSON: {e}")))?;
        let field = |name: &str| -> Result<Vec<u8>, CredError> {
            let text = jwk
                .get(name)
                .and_then(|v| v.as_str())
                .ok_or_else(|| bad(format!("missing \"{name}\"")))?;
            URL_SAFE_NO_PAD
                .decode(text)
                .or_else(|_| URL_SAFE.decode(text))
                .map_err(|_| bad(format!("\"{name}\" is not base64url")))
        };
        if jwk.get("d").is_some() || jwk.get("p").is_some() {
            return Err(bad("this is a private key; give the public key only".into()));
        }
        let kty = jwk.get("kty").and_then(|v| v.as_str()).unwrap_or_default();
        let crv = jwk.get("crv").and_then(|v| v.as_str()).unwrap_or_default();
        match (kty, crv) {
            ("EC", "P-256" | "P-384") => {
                let size = if crv == "P-384" { 48 } else { 32 };
                let (x, y) = (field("x")?, field("y")?);
                if x.len() != size || y.len() != size {
                    return Err(bad(format!("{crv} coordinates must be {size} bytes")));
                }
                let mut point = vec![0x04];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Self::ec_point(&point, size)
            }
            ("OKP", "Ed25519") => Self::ed25519(&field("x")?),
            ("RSA", _) => Self::rsa(&field("n")?, &field("e")?),
            _ => Err(bad(format!(
                "unsupported key type kty={kty:?} crv={crv:?} (EC P-256 or P-384, OKP Ed25519 or RSA)"
            ))),
        }
    }
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyKey({})", self.alg())
    }
}

fn ring_verify(
    algorithm: &'static dyn VerificationAlgorithm,
    key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    UnparsedPublicKey::new(algorithm, key)
        .verify(message, signature)
        .is_ok()
}

/// The bytes of a BIT STRING that has no unused bits.
pub(crate) fn bit_string_bytes<'a>(bits: &BitStringRef<'a>) -> Option<&'a [u8]> {
    bits.as_bytes()
}

/// PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_public_key(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut reader = SliceReader::new(der).ok()?;
    let (n, e) = reader
        .sequence(|r| {
            let n: UintRef<'_> = r.decode()?;
            let e: UintRef<'_> = r.decode()?;
            Ok::<_, der::Error>((n.as_bytes(), e.as_bytes()))
        })
        .ok()?;
    reader.finish().ok()?;
    Some((n, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwk_refusals() {
        let cases = [
            ("not json", "{", "bad_jwk"),
            (
                "private",
                r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#,
                "bad_jwk",
            ),
            (
                "short x",
                r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#,
                "bad_public_key",
            ),
            (
                "short p-384",
                r#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#,
                "bad_jwk",
            ),
            (
                "p-521",
                r#"{"kty":"EC","crv":"P-521","x":"AA","y":"AA"}"#,
                "bad_jwk",
            ),
            (
                "small rsa",
                r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#,
                "bad_public_key",
            ),
            (
                "missing y",
                r#"{"kty":"EC","crv":"P-256","x":"AA"}"#,
                "bad_jwk",
            ),
        ];
        for (name, json, code) in cases {
            assert_eq!(VerifyKey::from_jwk(json).unwrap_err().code, code, "{name}");
        }
        // RFC 8037 A.2 public key.
        let ok =
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        assert_eq!(VerifyKey::from_jwk(ok).unwrap().alg(), Alg::EdDsa);
    }

    #[test]
    fn rsa_key_parse() {
        // SEQUENCE { INTEGER 0x00ff.. (257 bytes with sign byte), INTEGER 65537 }
        let mut n = vec![0x00, 0xc1];
        n.extend(std::iter::repeat_n(0x55, 255));
        let mut der = vec![0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01];
        der.extend_from_slice(&n);
        der.extend_from_slice(&[0x02, 0x03, 0x01, 0x00, 0x01]);
        let (m, e) = rsa_public_key(&der).unwrap();
        assert_eq!(m.len(), 256);
        assert_eq!(e, &[1, 0, 1]);
        assert!(rsa_public_key(&der[..der.len() - 1]).is_none());
    }
}
