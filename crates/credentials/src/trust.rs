//! The verifier's keys: signer certificates by kid, plus bare keys that match any kid
//! (`exitentry credential verify --key`).

use crate::keys::kid_of;
use crate::pubkey::VerifyKey;
use crate::x509;
use crate::{Alg, CredError};
use std::collections::HashMap;

/// Public keys a verifier trusts. Keys are parsed when added, never per verification.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    by_kid: HashMap<[u8; 8], Vec<TrustedKey>>,
    any_kid: Vec<VerifyKey>,
}

#[derive(Debug, Clone)]
struct TrustedKey {
    key: VerifyKey,
    cert_der: Vec<u8>,
}

impl TrustStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a signer certificate (DER); returns its kid.
    pub fn add_cert_der(&mut self, der: &[u8]) -> Result<[u8; 8], CredError> {
        let cert = x509::parse_cert(der)?;
        let kid = kid_of(der);
        let entry = self.by_kid.entry(kid).or_default();
        if !entry.iter().any(|k| k.cert_der == der) {
            entry.push(TrustedKey {
                key: cert.key,
                cert_der: der.to_vec(),
            });
        }
        Ok(kid)
    }

    /// Adds a signer certificate (PEM, label `CERTIFICATE`); returns its kid.
    pub fn add_cert_pem(&mut self, pem: &str) -> Result<[u8; 8], CredError> {
        self.add_cert_der(&x509::from_pem(pem.as_bytes(), "CERTIFICATE")?)
    }

    /// Adds a bare public key (SubjectPublicKeyInfo, DER or PEM `PUBLIC KEY`). It has no
    /// certificate and so no kid: it is tried for every credential.
    pub fn add_spki(&mut self, spki_der_or_pem: &[u8]) -> Result<(), CredError> {
        let der = if spki_der_or_pem
            .trim_ascii_start()
            .starts_with(b"-----BEGIN")
        {
            x509::from_pem(spki_der_or_pem, "PUBLIC KEY")?
        } else {
            spki_der_or_pem.to_vec()
        };
        self.any_kid.push(VerifyKey::from_spki_der(&der)?);
        Ok(())
    }

    /// Adds a bare public key given as a JWK (EC P-256, OKP Ed25519, RSA); matches any kid.
    pub fn add_jwk(&mut self, jwk_json: &str) -> Result<(), CredError> {
        self.any_kid.push(VerifyKey::from_jwk(jwk_json)?);
        Ok(())
    }

    /// Number of keys (certificates and bare keys).
    pub fn len(&self) -> usize {
        self.by_kid.values().map(Vec::len).sum::<usize>() + self.any_kid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kids of the certificates held, sorted.
    pub fn kids(&self) -> Vec<[u8; 8]> {
        let mut kids: Vec<_> = self.by_kid.keys().copied().collect();
        kids.sort_unstable();
        kids
    }

    /// The certificate (DER) for a kid, if held.
    pub fn cert_der(&self, kid: &[u8; 8]) -> Option<&[u8]> {
        self.by_kid
            .get(kid)
            .and_then(|keys| keys.first())
            .map(|k| k.cert_der.as_slice())
    }

    /// Whether any key could be tried for this kid.
    pub(crate) fn has_candidates(&self, kid: Option<&[u8]>) -> bool {
        !self.any_kid.is_empty() || self.certified(kid).is_some()
    }

    fn certified(&self, kid: Option<&[u8]>) -> Option<&Vec<TrustedKey>> {
        let kid: &[u8; 8] = kid?.try_into().ok()?;
        self.by_kid.get(kid)
    }

    /// Tries the keys for `kid`, then the bare keys; true if one verifies.
    pub(crate) fn verify(
        &self,
        kid: Option<&[u8]>,
        alg: Alg,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        let certified = self.certified(kid).into_iter().flatten().map(|k| &k.key);
        certified
            .chain(self.any_kid.iter())
            .any(|key| key.verify_cose(alg, message, signature))
    }
}
