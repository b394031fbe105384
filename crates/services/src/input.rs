//! Free text that staff and applicants type (names, reasons): given, and not too long.

use crate::{ErrorCode, Result, ServiceError};

/// A free-text field that must be given, with at most `max` characters once trimmed.
pub(crate) struct RequiredText {
    pub(crate) field: &'static str,
    pub(crate) max: usize,
    /// What an empty or too long value is refused with.
    pub(crate) code: ErrorCode,
    pub(crate) message: &'static str,
}

impl RequiredText {
    /// The value trimmed, or the refusal.
    pub(crate) fn check<'a>(&self, value: &'a str) -> Result<&'a str> {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > self.max {
            return Err(ServiceError::bad_input(self.field, self.code, self.message));
        }
        Ok(value)
    }
}
