//! Errors a service returns. Each has a stable code; the web layer maps them to HTTP
//! status and a translated message in one place (`web::error`).

use chrono::{DateTime, Utc};
use exitentry_domain::Invalid;
use exitentry_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A field failed validation.
    #[error("{field}: {error}")]
    Invalid { field: &'static str, error: Invalid },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("sign in first")]
    Unauthenticated,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("account locked until {until}")]
    Locked { until: DateTime<Utc> },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Too soon: allowed again from `retry_after` (e.g. a new SMS code).
    #[error("try again after {retry_after}")]
    TooSoon {
        code: &'static str,
        retry_after: DateTime<Utc>,
        /// Seconds from now until `retry_after` (by the service's clock).
        wait_secs: i64,
    },
    /// A limit is reached until `until` (e.g. temporary permits this month).
    #[error("limit reached until {until}")]
    LimitReached {
        code: &'static str,
        until: DateTime<Utc>,
    },
    /// A part of the system is not set up or not reachable (e.g. signing keys).
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// Anything the caller cannot fix; logged, never shown in detail.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid { error, .. } => error.code,
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Unauthenticated => "unauthenticated",
            ServiceError::Forbidden => "forbidden",
            ServiceError::BadCredentials => "bad_credentials",
            ServiceError::Locked { .. } => "account_locked",
            ServiceError::Conflict { code, .. } => code,
            ServiceError::Unavailable { code, .. } => code,
            ServiceError::TooSoon { code, .. } | ServiceError::LimitReached { code, .. } => code,
            ServiceError::Internal(_) => "internal",
        }
    }

    /// The moment from which a `TooSoon` or `LimitReached` request may succeed.
    pub fn available_from(&self) -> Option<DateTime<Utc>> {
        match self {
            ServiceError::TooSoon { retry_after, .. } => Some(*retry_after),
            ServiceError::LimitReached { until, .. } => Some(*until),
            _ => None,
        }
    }

    pub fn invalid(field: &'static str, error: Invalid) -> Self {
        ServiceError::Invalid { field, error }
    }
}

impl From<StorageError> for ServiceError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict(what) => ServiceError::Conflict {
                code: "conflict",
                message: format!("already exists: {what}"),
            },
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
