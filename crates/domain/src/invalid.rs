//! The one error type for values that fail validation at the edge.

use crate::ErrorCode;

/// A value that failed validation: a stable machine code plus an English message for
/// operators. Pages translate the code (see `web/locales`), reports print both.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// The stable code, e.g. [`ErrorCode::BadCheckDigit`]. Never renamed once published.
    pub code: ErrorCode,
    /// Human-readable explanation in English.
    pub message: String,
}

impl Invalid {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
