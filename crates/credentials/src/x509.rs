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

/// DER bytes from PEM text with the expected label. Lenient as OpenSSL is: any line length,
/// CRLF, blank lines and text around the block (RFC 7468's strict 64 columns refuse files
/// that other tools write).
pub(crate) fn from_pem(pem: &[u8], label: &str) -> Result<Vec<u8>, CredError> {
    let bad = |m: String| CredError::new("bad_pem", m);
    let text = std::str::from_utf8(pem).map_err(|_| bad("not PEM: not text".into()))?;
    let begin = format!("-----BEGIN {label}-----");
    let Some(start) = text.find(&begin) else {
        let found = text
            .split("-----BEGIN ")
            .nth(1)
            .and_then(|rest| rest.split("-----").next());
        return Err(bad(match found {
            Some(found) => format!("expected a PEM \"{label}\", found \"{found}\""),
            None => format!("not PEM: no \"{begin}\" line"),
        }));
    };
    let body = &text[start + begin.len()..];
    let end = body
        .find(&format!("-----END {label}-----"))
        .ok_or_else(|| bad(format!("not PEM: no END line for \"{label}\"")))?;
    let b64: String = body[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| bad(format!("not PEM: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_with_any_line_length_crlf_and_text_around() {
        let der: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let wrap = |width: usize, eol: &str| {
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(width)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            format!(
                "Subject: test{eol}-----BEGIN CERTIFICATE-----{eol}{}{eol}-----END CERTIFICATE-----{eol}",
                lines.join(eol)
            )
        };
        for pem in [
            to_pem("CERTIFICATE", &der),
            wrap(64, "\n"),
            wrap(76, "\n"),
            wrap(76, "\r\n"),
            wrap(b64.len(), "\n"),
            wrap(17, "\n\n"),
        ] {
            assert_eq!(
                from_pem(pem.as_bytes(), "CERTIFICATE").unwrap(),
                der,
                "{pem}"
            );
        }
    }

    #[test]
    fn pem_refusals_name_the_problem() {
        let key = to_pem("PUBLIC KEY", b"abc");
        let err = from_pem(key.as_bytes(), "CERTIFICATE").unwrap_err();
        assert_eq!(err.code, "bad_pem");
        assert!(
            err.message.contains("found \"PUBLIC KEY\""),
            "{}",
            err.message
        );
        for bad in [
            &b"no pem here"[..],
            b"-----BEGIN CERTIFICATE-----\nAAAA\n",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            b"\xff\xfe",
        ] {
            assert_eq!(from_pem(bad, "CERTIFICATE").unwrap_err().code, "bad_pem");
        }
    }
}
