//! The one error type for values that fail validation at the edge.

/// A value that failed validation: a stable machine code plus an English message for
/// operators. Pages translate the code (see `web/locales`), reports print both.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// Stable snake_case code, e.g. `bad_check_digit`. Never renamed once published.
    pub code: &'static str,
    /// Human-readable explanation in English.
    pub message: String,
}

impl Invalid {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
