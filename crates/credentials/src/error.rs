//! The error type of the issuer side: loading keys, generating certificates, signing.
//! (The verifier side answers with a [`crate::Reason`] instead.)

/// A failure to build or sign something: a stable machine code plus an English message for
/// operators. Never carries private key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CredError {
    /// Stable snake_case code, e.g. `bad_key`. Never renamed once published.
    pub code: &'static str,
    /// Human-readable explanation in English.
    pub message: String,
}

impl CredError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
