//! Signed credentials: the temporary e-permit, linkage proofs and the documents that let a
//! verifier trust them (trust list, revocation status list).
//!
//! Wire format (see `docs/CREDENTIALS.md`): CWT claims → COSE_Sign1 → zlib → base45 → context
//! prefix (default `EE1:`). Signing is ES256 (default) or EdDSA with `ring`; verification also
//! accepts PS256 so the verifier stays usable for the HCERT family.
//!
//! Pure: no I/O and no clock. The time is always an argument; randomness (ECDSA nonces, key
//! generation) comes from the operating system through `ring`.

mod alg;
mod claims;
mod deflate_end;
mod envelope;
mod error;
mod keys;
mod pubkey;
mod reason;
mod signed_json;
mod status;
mod trust;
mod trust_list;
mod verify;
mod x509;

pub use alg::Alg;
pub use claims::{BODY_CLAIM, Claims, CredentialBody, CredentialKind, claims_to_cbor};
pub use envelope::{
    DEFAULT_PREFIX, MAX_INFLATED_BYTES, MAX_PAYLOAD_CHARS, encode_envelope, sig_structure,
};
pub use error::CredError;
pub use keys::{GeneratedKey, SigningKey, generate_root, generate_signer, kid_of};
pub use reason::Reason;
pub use status::{
    MAX_STATUS_LIST_LEN, STATUS_LIST_FORMAT, StatusList, open_status_list, sign_status_list,
};
pub use trust::TrustStore;
pub use trust_list::{TRUST_LIST_FORMAT, TrustListInfo, open_trust_list, sign_trust_list};
pub use verify::{DEFAULT_CLOCK_SKEW_SECS, Decoded, Verdict, VerifyOptions, decode, issue, verify};

/// Reproducible pseudo-random numbers for tests: a linear congruential generator.
#[cfg(test)]
pub(crate) struct Lcg(pub(crate) u32);

#[cfg(test)]
impl Lcg {
    pub(crate) fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        self.0
    }

    /// `len` bytes, from bits 16 to 23 of the numbers.
    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next_u32() >> 16) as u8).collect()
    }
}
