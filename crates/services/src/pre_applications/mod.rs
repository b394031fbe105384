//! The non-Chinese home return permit's online pre-application: applicants' accounts
//! (email verified by a link), the form saved as typed, the documents uploaded, submission,
//! and the review loop — claim, then approve, ask for supplements (by email, in the
//! applicant's language) or reject — repeated until approval. Every step is kept in the
//! application's history and the audit log. Booking the permit's service needs approval.

mod accounts;
mod application;
mod review;

pub use accounts::*;
pub use application::*;
pub use review::*;

use crate::ServiceError;
use exitentry_domain::Invalid;

/// How long a verification link works.
pub(super) const VERIFY_HOURS: i64 = 48;
/// Languages an applicant may choose for their emails.
pub const LANGS: [&str; 3] = ["zh-Hans", "zh-Hant", "en"];

pub(super) fn bad(
    field: &'static str,
    code: &'static str,
    message: impl Into<String>,
) -> ServiceError {
    ServiceError::invalid(field, Invalid::new(code, message))
}

pub(super) fn conflict(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::Conflict {
        code,
        message: message.into(),
    }
}
