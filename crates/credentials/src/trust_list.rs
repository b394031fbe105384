//! The trust list: the document-signer certificates, versioned and signed by the root, as a
//! JSON document that verifiers fetch (`GET /api/v1/trust-list`) and check offline.

use crate::keys::kid_of;
use crate::signed_json::{self, SignedDocument};
use crate::x509::{issued_by, parse_cert};
use crate::{CredError, Reason, SigningKey, TrustStore};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `format` of a trust list document.
pub const TRUST_LIST_FORMAT: &str = "exitentry-trust-list/1";

/// What a verifier learns about the list it opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustListInfo {
    pub version: u64,
    pub issued_at: i64,
    /// Hex SHA-256 of the root certificate's DER: what operators compare out of band.
    pub root_fingerprint: String,
    /// Hex kids of the signers, in list order.
    pub signer_kids: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Signer {
    /// Hex kid (first 8 bytes of SHA-256 of the certificate DER).
    kid: String,
    /// base64 DER certificate.
    cert: String,
}

/// The signed part, serialized compactly in this field order: that is the canonical payload.
#[derive(Serialize, Deserialize)]
struct Payload {
    format: String,
    version: u64,
    issued_at: i64,
    /// base64 DER of the root certificate.
    root_cert: String,
    signers: Vec<Signer>,
}

/// Signs a trust list with the root key (whose certificate must be self-signed); every
/// signer certificate must have been issued by that root.
pub fn sign_trust_list(
    version: u64,
    issued_at: i64,
    signer_certs_der: &[Vec<u8>],
    root: &SigningKey,
) -> Result<String, CredError> {
    if !issued_by(root.cert_der(), root.cert_der()) {
        return Err(CredError::new(
            "bad_certificate",
            "the root certificate is not self-signed",
        ));
    }
    let mut signers = Vec::with_capacity(signer_certs_der.len());
    for der in signer_certs_der {
        parse_cert(der)?;
        if !issued_by(der, root.cert_der()) {
            return Err(CredError::new(
                "bad_certificate",
                format!(
                    "signer {} was not issued by this root",
                    hex::encode(kid_of(der))
                ),
            ));
        }
        signers.push(Signer {
            kid: hex::encode(kid_of(der)),
            cert: STANDARD.encode(der),
        });
    }
    let payload = Payload {
        format: TRUST_LIST_FORMAT.into(),
        version,
        issued_at,
        root_cert: STANDARD.encode(root.cert_der()),
        signers,
    };
    // Signed by the root.
    signed_json::sign(payload, root)
}

/// Opens a trust list: the signature must verify with the root certificate (the pinned one
/// if given, which must then equal the embedded one), and every signer must chain to it.
/// Any failure is `bad_trust_list`.
pub fn open_trust_list(
    doc: &str,
    pinned_root_der: Option<&[u8]>,
) -> Result<(TrustStore, TrustListInfo), Reason> {
    let bad = Reason::BadTrustList;
    let doc: SignedDocument<Payload> = serde_json::from_str(doc).map_err(|_| bad)?;
    if doc.payload.format != TRUST_LIST_FORMAT {
        return Err(bad);
    }
    let root_der = STANDARD
        .decode(doc.payload.root_cert.as_bytes())
        .map_err(|_| bad)?;
    if pinned_root_der.is_some_and(|pinned| pinned != root_der.as_slice()) {
        return Err(bad);
    }
    if !issued_by(&root_der, &root_der) {
        return Err(bad);
    }
    let root = parse_cert(&root_der).map_err(|_| bad)?;

    let s = doc.signed().ok_or(bad)?;
    if !root.key.verify_cose(s.alg, &s.tbs, &s.signature) {
        return Err(bad);
    }
    let payload = doc.payload;

    let mut store = TrustStore::new();
    let mut signer_kids = Vec::with_capacity(payload.signers.len());
    for signer in &payload.signers {
        let der = STANDARD.decode(signer.cert.as_bytes()).map_err(|_| bad)?;
        let kid = hex::encode(kid_of(&der));
        if !signer.kid.eq_ignore_ascii_case(&kid) || !issued_by(&der, &root_der) {
            return Err(bad);
        }
        store.add_cert_der(&der).map_err(|_| bad)?;
        signer_kids.push(kid);
    }
    Ok((
        store,
        TrustListInfo {
            version: payload.version,
            issued_at: payload.issued_at,
            root_fingerprint: hex::encode(Sha256::digest(&root_der)),
            signer_kids,
        },
    ))
}
