//! The signed JSON documents (the trust list, the status list): the payload's fields and a
//! `signature`, base64 of a tagged COSE_Sign1 with a detached payload over the payload's
//! canonical JSON (docs/CREDENTIALS.md).

use crate::envelope::{parse_sign1, sig_structure, sign1};
use crate::{Alg, CredError, SigningKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub(crate) struct SignedDocument<P> {
    #[serde(flatten)]
    pub(crate) payload: P,
    pub(crate) signature: String,
}

/// What a verifier checks: the algorithm, the signer's key id if named, the bytes signed
/// and the signature.
pub(crate) struct Signed {
    pub(crate) alg: Alg,
    pub(crate) kid: Option<Vec<u8>>,
    pub(crate) tbs: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

/// `payload` signed by `key`, as pretty JSON.
pub(crate) fn sign<P: Serialize>(payload: P, key: &SigningKey) -> Result<String, CredError> {
    let failed = |e: serde_json::Error| CredError::new("encoding_failed", e.to_string());
    let canonical = serde_json::to_vec(&payload).map_err(failed)?;
    let signature = STANDARD.encode(sign1(key, &canonical, true)?);
    serde_json::to_string_pretty(&SignedDocument { payload, signature }).map_err(failed)
}

impl<P: Serialize> SignedDocument<P> {
    /// The signature over the payload as read from the document; `None` when unreadable.
    pub(crate) fn signed(&self) -> Option<Signed> {
        let canonical = serde_json::to_vec(&self.payload).ok()?;
        let cose = STANDARD.decode(self.signature.as_bytes()).ok()?;
        let env = parse_sign1(&cose, true).ok()?;
        Some(Signed {
            alg: env.alg?,
            tbs: sig_structure(&env.protected, &canonical),
            kid: env.kid,
            signature: env.signature,
        })
    }
}
