//! The credentials crate's test vectors the targets trust.

use exitentry_credentials::TrustStore;

/// The test vectors' ES256 signer certificate.
pub const SIGNER_ES256: &str =
    include_str!("../../crates/credentials/tests/vectors/signer-es256.pem");

/// A trust store holding the test vectors' ES256 signer.
pub fn es256_trust() -> TrustStore {
    let mut trust = TrustStore::new();
    trust.add_cert_pem(SIGNER_ES256).unwrap();
    trust
}
