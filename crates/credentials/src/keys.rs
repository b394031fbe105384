//! Signing keys and their certificates: loading (PKCS#8 + DER certificate) and generating a
//! root and document-signer certificates with `rcgen` on `ring`. Private material is never
//! printed: the `Debug` impls redact it.

use crate::x509;
use crate::{Alg, CredError};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519,
    SignatureAlgorithm,
};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _,
};
use sha2::{Digest, Sha256};
use std::fmt;

/// kid = the first 8 bytes of SHA-256 over the certificate's DER (the HCERT convention).
pub fn kid_of(cert_der: &[u8]) -> [u8; 8] {
    let digest = Sha256::digest(cert_der);
    let mut kid = [0u8; 8];
    kid.copy_from_slice(&digest[..8]);
    kid
}

/// A private key that signs credentials or documents, with the certificate that vouches
/// for it.
pub struct SigningKey {
    alg: Alg,
    pair: Pair,
    cert_der: Vec<u8>,
    kid: [u8; 8],
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl SigningKey {
    /// Loads a PKCS#8 private key and its DER certificate; the certificate's public key must
    /// be the key's own.
    pub fn from_pkcs8(alg: Alg, pkcs8_der: &[u8], cert_der: &[u8]) -> Result<Self, CredError> {
        let ecdsa = |signing: &'static EcdsaSigningAlgorithm| {
            EcdsaKeyPair::from_pkcs8(signing, pkcs8_der, &SystemRandom::new())
                .map(Pair::Ecdsa)
                .map_err(|e| CredError::new("bad_key", format!("{alg} PKCS#8 key: {e}")))
        };
        let pair = match alg {
            Alg::Es256 => ecdsa(&ECDSA_P256_SHA256_FIXED_SIGNING)?,
            Alg::Es384 => ecdsa(&ECDSA_P384_SHA384_FIXED_SIGNING)?,
            // maybe_unchecked: also accepts PKCS#8 v1 (no embedded public key) from other tools.
            Alg::EdDsa => Pair::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8_der)
                    .map_err(|e| CredError::new("bad_key", format!("Ed25519 PKCS#8 key: {e}")))?,
            ),
            Alg::Ps256 => {
                return Err(CredError::new(
                    "unsupported_algorithm",
                    "PS256 is accepted for verification only",
                ));
            }
        };
        let cert = x509::parse_cert(cert_der)?;
        let public = match &pair {
            Pair::Ecdsa(p) => p.public_key().as_ref(),
            Pair::Ed25519(p) => p.public_key().as_ref(),
        };
        if cert.public_key_bytes != public {
            return Err(CredError::new(
                "key_cert_mismatch",
                "the certificate is not for this private key",
            ));
        }
        Ok(Self {
            alg,
            pair,
            kid: kid_of(cert_der),
            cert_der: cert_der.to_vec(),
        })
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    pub fn kid(&self) -> [u8; 8] {
        self.kid
    }

    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The raw public key (uncompressed P-256 or P-384 point, or 32 Ed25519 bytes).
    pub fn public_key(&self) -> &[u8] {
        match &self.pair {
            Pair::Ecdsa(p) => p.public_key().as_ref(),
            Pair::Ed25519(p) => p.public_key().as_ref(),
        }
    }

    /// Signs raw bytes (for COSE: the Sig_structure). ECDSA signatures are r‖s (64 bytes for
    /// ES256, 96 for ES384).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CredError> {
        match &self.pair {
            Pair::Ecdsa(p) => p
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CredError::new("signing_failed", "ECDSA signing failed")),
            Pair::Ed25519(p) => Ok(p.sign(message).as_ref().to_vec()),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &hex::encode(self.kid))
            .field("private_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A freshly generated key pair and certificate, as bytes for the caller to store
/// (`pkcs8_der` belongs in a 0600 file).
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    pub alg: Alg,
    pub pkcs8_der: Vec<u8>,
    pub cert_der: Vec<u8>,
}

impl GeneratedKey {
    pub fn to_signing_key(&self) -> Result<SigningKey, CredError> {
        SigningKey::from_pkcs8(self.alg, &self.pkcs8_der, &self.cert_der)
    }

    pub fn kid(&self) -> [u8; 8] {
        kid_of(&self.cert_der)
    }

    /// The certificate as PEM.
    pub fn cert_pem(&self) -> String {
        x509::to_pem("CERTIFICATE", &self.cert_der)
    }
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("alg", &self.alg)
            .field("kid", &hex::encode(self.kid()))
            .field("cert_der_len", &self.cert_der.len())
            .field("pkcs8_der", &"[redacted]")
            .finish()
    }
}

/// A self-signed root (country signing CA): CA, path length 0, may sign certificates and
/// documents (trust list).
pub fn generate_root(
    common_name: &str,
    alg: Alg,
    not_before: i64,
    not_after: i64,
) -> Result<GeneratedKey, CredError> {
    let key = new_key_pair(alg)?;
    let params = root_params(common_name, not_before, not_after)?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| CredError::new("certificate_failed", format!("root certificate: {e}")))?;
    Ok(GeneratedKey {
        alg,
        pkcs8_der: key.serialize_der(),
        cert_der: cert.der().to_vec(),
    })
}

/// A document-signer certificate issued by `root` (generated by [`generate_root`]).
pub fn generate_signer(
    root: &GeneratedKey,
    common_name: &str,
    alg: Alg,
    not_before: i64,
    not_after: i64,
) -> Result<GeneratedKey, CredError> {
    let root_cert = x509::parse_cert(&root.cert_der)?;
    let root_cn = root_cert.common_name.clone().ok_or_else(|| {
        CredError::new("bad_certificate", "the root certificate has no common name")
    })?;
    let root_key = KeyPair::from_pkcs8_der_and_sign_algo(
        &root.pkcs8_der.as_slice().into(),
        rcgen_alg(root.alg)?,
    )
    .map_err(|e| CredError::new("bad_key", format!("root key: {e}")))?;
    // rcgen needs the issuer's name and key usages; our roots carry exactly these.
    let root_params = root_params(&root_cn, 0, 1)?;
    let issuer = Issuer::new(root_params, root_key);

    let key = new_key_pair(alg)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(common_name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, not_before, not_after)?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| CredError::new("certificate_failed", format!("signer certificate: {e}")))?;
    let cert_der = cert.der().to_vec();
    // The rebuilt issuer name must be the root's subject byte for byte, and the signature
    // must check: otherwise the certificate would not chain.
    if !x509::issued_by(&cert_der, &root.cert_der) {
        return Err(CredError::new(
            "certificate_failed",
            "the signer certificate does not chain to the root (root not made by generate_root?)",
        ));
    }
    Ok(GeneratedKey {
        alg,
        pkcs8_der: key.serialize_der(),
        cert_der,
    })
}

fn rcgen_alg(alg: Alg) -> Result<&'static SignatureAlgorithm, CredError> {
    match alg {
        Alg::Es256 => Ok(&PKCS_ECDSA_P256_SHA256),
        Alg::Es384 => Ok(&PKCS_ECDSA_P384_SHA384),
        Alg::EdDsa => Ok(&PKCS_ED25519),
        Alg::Ps256 => Err(CredError::new(
            "unsupported_algorithm",
            "PS256 keys cannot be generated here",
        )),
    }
}

fn new_key_pair(alg: Alg) -> Result<KeyPair, CredError> {
    KeyPair::generate_for(rcgen_alg(alg)?)
        .map_err(|e| CredError::new("key_generation_failed", format!("{alg}: {e}")))
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

fn root_params(
    common_name: &str,
    not_before: i64,
    not_after: i64,
) -> Result<CertificateParams, CredError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, not_before, not_after)?;
    Ok(params)
}

fn set_validity(
    params: &mut CertificateParams,
    not_before: i64,
    not_after: i64,
) -> Result<(), CredError> {
    let at = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .map_err(|_| CredError::new("bad_validity", format!("time {t} is out of range")))
    };
    if not_after <= not_before {
        return Err(CredError::new(
            "bad_validity",
            "not_after must be later than not_before",
        ));
    }
    params.not_before = at(not_before)?;
    params.not_after = at(not_after)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NB: i64 = 1_750_000_000;
    const NA: i64 = 1_900_000_000;

    #[test]
    fn root_and_signer_chain_for_each_alg_pair() {
        for root_alg in [Alg::Es256, Alg::Es384, Alg::EdDsa] {
            let root = generate_root("EE Root", root_alg, NB, NA).unwrap();
            assert!(
                x509::issued_by(&root.cert_der, &root.cert_der),
                "self-signed"
            );
            for signer_alg in [Alg::Es256, Alg::Es384, Alg::EdDsa] {
                let signer = generate_signer(&root, "EE DS 1", signer_alg, NB, NA).unwrap();
                assert!(x509::issued_by(&signer.cert_der, &root.cert_der));
                let key = signer.to_signing_key().unwrap();
                assert_eq!(key.kid(), kid_of(&signer.cert_der));
                assert_eq!(key.cert_der(), signer.cert_der.as_slice());
                let other = generate_root("Other", root_alg, NB, NA).unwrap();
                assert!(!x509::issued_by(&signer.cert_der, &other.cert_der));
            }
        }
    }

    #[test]
    fn refusals() {
        let root = generate_root("EE Root", Alg::Es256, NB, NA).unwrap();
        let cases: Vec<(&str, Result<SigningKey, CredError>, &str)> = vec![
            (
                "ps256 sign",
                SigningKey::from_pkcs8(Alg::Ps256, &root.pkcs8_der, &root.cert_der),
                "unsupported_algorithm",
            ),
            (
                "wrong alg",
                SigningKey::from_pkcs8(Alg::EdDsa, &root.pkcs8_der, &root.cert_der),
                "bad_key",
            ),
            (
                "garbage key",
                SigningKey::from_pkcs8(Alg::Es256, b"nope", &root.cert_der),
                "bad_key",
            ),
            (
                "garbage cert",
                SigningKey::from_pkcs8(Alg::Es256, &root.pkcs8_der, b"nope"),
                "bad_certificate",
            ),
        ];
        for (name, result, code) in cases {
            assert_eq!(result.unwrap_err().code, code, "{name}");
        }
        let other = generate_root("Other", Alg::Es256, NB, NA).unwrap();
        let err = SigningKey::from_pkcs8(Alg::Es256, &root.pkcs8_der, &other.cert_der).unwrap_err();
        assert_eq!(err.code, "key_cert_mismatch");
        assert_eq!(
            generate_root("x", Alg::Es256, NA, NB).unwrap_err().code,
            "bad_validity"
        );
        assert_eq!(
            generate_root("x", Alg::Ps256, NB, NA).unwrap_err().code,
            "unsupported_algorithm"
        );
    }

    #[test]
    fn debug_never_shows_private_material() {
        for alg in [Alg::Es256, Alg::Es384, Alg::EdDsa] {
            let generated = generate_root("EE Root", alg, NB, NA).unwrap();
            let key = generated.to_signing_key().unwrap();
            for text in [
                format!("{generated:?}"),
                format!("{key:?}"),
                format!("{key:#?}"),
            ] {
                assert!(text.contains("[redacted]"), "{text}");
                // No run of the PKCS#8 bytes, in decimal list or hex form, appears.
                let pkcs8 = &generated.pkcs8_der;
                assert!(!text.contains(&hex::encode(pkcs8)), "{text}");
                for window in pkcs8.windows(4) {
                    assert!(!text.contains(&hex::encode(window)), "{text}");
                    assert!(
                        !text.contains(format!("{window:?}").trim_matches(['[', ']'])),
                        "{text}"
                    );
                }
            }
        }
    }
}
