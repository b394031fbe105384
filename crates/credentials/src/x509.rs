//! The little of X.509 we need: a certificate's public key, names and validity, and whether
//! one certificate was issued (signed) by another.

use crate::CredError;
use crate::pubkey::{VerifyKey, bit_string_bytes};
use base64::Engine as _;
use der::asn1::BitStringRef;
use der::{Decode, Encode, Reader, SliceReader};
use spki::AlgorithmIdentifierRef;
use x509_cert::Certificate;

/// What we keep from a parsed certificate.
#[derive(Debug, Clone)]
pub(crate) struct CertInfo {
    pub key: VerifyKey,
    /// The raw subjectPublicKey bytes (for matching against a private key).
    pub public_key_bytes: Vec<u8>,
    pub common_name: Option<String>,
    pub subject_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
}

pub(crate) fn parse_cert(der: &[u8]) -> Result<CertInfo, CredError> {
    let bad = |m: String| CredError::new("bad_certificate", m);
    let cert =
        Certificate::from_der(der).map_err(|e| bad(format!("not a DER certificate: {e}")))?;
    let tbs = cert.tbs_certificate();
    let spki_der = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(|e| bad(format!("public key: {e}")))?;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(&spki_der)
        .map_err(|e| bad(format!("public key: {e}")))?;
    let key = VerifyKey::from_spki(&spki)?;
    let public_key_bytes = bit_string_bytes(&spki.subject_public_key)
        .unwrap_or_default()
        .to_vec();
    let common_name = tbs
        .subject()
        .common_name()
        .ok()
        .flatten()
        .map(|cn| cn.value().into_owned());
    Ok(CertInfo {
        key,
        public_key_bytes,
        common_name,
        subject_der: tbs.subject().to_der().map_err(|e| bad(e.to_string()))?,
        issuer_der: tbs.issuer().to_der().map_err(|e| bad(e.to_string()))?,
    })
}

/// The signed part of a certificate exactly as encoded, its signature algorithm and value.
fn signed_parts(der: &[u8]) -> Option<(&[u8], AlgorithmIdentifierRef<'_>, &[u8])> {
    let mut reader = SliceReader::new(der).ok()?;
    let parts = reader
        .sequence(|r| {
            let tbs = r.tlv_bytes()?;
            let alg: AlgorithmIdentifierRef<'_> = r.decode()?;
            let sig: BitStringRef<'_> = r.decode()?;
            Ok::<_, der::Error>((tbs, alg, sig))
        })
        .ok()?;
    reader.finish().ok()?;
    let (tbs, alg, sig) = parts;
    Some((tbs, alg, bit_string_bytes(&sig)?))
}

/// Whether `cert_der` names `issuer_der`'s subject as its issuer and carries a valid
/// signature by `issuer_der`'s key (ES256 or Ed25519). Self-signed: pass the same bytes.
pub(crate) fn issued_by(cert_der: &[u8], issuer_der: &[u8]) -> bool {
    let (Ok(cert), Ok(issuer)) = (parse_cert(cert_der), parse_cert(issuer_der)) else {
        return false;
    };
    if cert.issuer_der != issuer.subject_der {
        return false;
    }
    let Some((tbs, alg, signature)) = signed_parts(cert_der) else {
        return false;
    };
    issuer.key.verify_x509(alg.oid, tbs, signature)
}

/// PEM text of DER bytes, 64 columns.
pub(crate) fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// DER bytes from PEM text with the expected label.
pub(crate) fn from_pem(pem: &[u8], label: &str) -> Result<Vec<u8>, CredError> {
    let (found, der) = der::pem::decode_vec(pem.trim_ascii())
        .map_err(|e| CredError::new("bad_pem", format!("not PEM: {e}")))?;
    if found != label {
        return Err(CredError::new(
            "bad_pem",
            format!("expected a PEM \"{label}\", found \"{found}\""),
        ));
    }
    Ok(der)
}
