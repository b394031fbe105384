//! Errors a service returns. Each has a stable code ([`ErrorCode`]); the web layer maps them
//! to HTTP status and a translated message in one place (`web::error`).
//!
//! Build them with the constructors (`ServiceError::conflict(ErrorCode::SlotFull, "…")`)
//! and put a field on a domain validation with [`AtField::at_field`]:
//! `Mobile::parse(s).at_field("mobile")?`.

use chrono::{DateTime, Utc};
pub use exitentry_domain::ErrorCode;
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
    Conflict { code: ErrorCode, message: String },
    /// Too soon: allowed again from `retry_after` (e.g. a new SMS code).
    #[error("try again after {retry_after}")]
    TooSoon {
        code: ErrorCode,
        retry_after: DateTime<Utc>,
        /// Seconds from now until `retry_after` (by the service's clock).
        wait_secs: i64,
    },
    /// A limit is reached until `until` (e.g. temporary permits this month).
    #[error("limit reached until {until}")]
    LimitReached {
        code: ErrorCode,
        until: DateTime<Utc>,
    },
    /// A part of the system is not set up or not reachable (e.g. signing keys).
    #[error("{message}")]
    Unavailable { code: ErrorCode, message: String },
    /// Anything the caller cannot fix; logged, never shown in detail.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The stable code this error answers.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ServiceError::Invalid { error, .. } => error.code,
            ServiceError::NotFound(_) => ErrorCode::NotFound,
            ServiceError::Unauthenticated => ErrorCode::Unauthenticated,
            ServiceError::Forbidden => ErrorCode::Forbidden,
            ServiceError::BadCredentials => ErrorCode::BadCredentials,
            ServiceError::Locked { .. } => ErrorCode::AccountLocked,
            ServiceError::Conflict { code, .. }
            | ServiceError::Unavailable { code, .. }
            | ServiceError::TooSoon { code, .. }
            | ServiceError::LimitReached { code, .. } => *code,
            ServiceError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The code as published, e.g. `slot_full`.
    pub fn code(&self) -> &'static str {
        self.error_code().code()
    }

    /// The moment from which a `TooSoon` or `LimitReached` request may succeed.
    pub fn available_from(&self) -> Option<DateTime<Utc>> {
        match self {
            ServiceError::TooSoon { retry_after, .. } => Some(*retry_after),
            ServiceError::LimitReached { until, .. } => Some(*until),
            _ => None,
        }
    }

    /// A field that failed a domain validation.
    pub fn invalid(field: &'static str, error: Invalid) -> Self {
        ServiceError::Invalid { field, error }
    }

    /// A field that failed a check made here: `bad_input("days", ErrorCode::BadDays, "…")`.
    pub fn bad_input(field: &'static str, code: ErrorCode, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field,
            error: Invalid::new(code, message),
        }
    }

    /// The request is valid but the state of things refuses it (409).
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        ServiceError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// A domain rule refuses the request: its code and words, answered as a conflict.
    pub fn refused(e: Invalid) -> Self {
        ServiceError::Conflict {
            code: e.code,
            message: e.message,
        }
    }

    /// Nothing of this kind with that id (or not the caller's).
    pub fn not_found(what: &'static str) -> Self {
        ServiceError::NotFound(what)
    }

    /// A part of the system is not set up or not reachable.
    pub fn unavailable(code: ErrorCode, message: impl Into<String>) -> Self {
        ServiceError::Unavailable {
            code,
            message: message.into(),
        }
    }

    /// Allowed again from `retry_after`, `wait_secs` from now.
    pub fn too_soon(code: ErrorCode, retry_after: DateTime<Utc>, wait_secs: i64) -> Self {
        ServiceError::TooSoon {
            code,
            retry_after,
            wait_secs,
        }
    }

    /// A limit is reached until `until`.
    pub fn limit_reached(code: ErrorCode, until: DateTime<Utc>) -> Self {
        ServiceError::LimitReached { code, until }
    }
}

/// Names the field a domain validation was about: `Mobile::parse(s).at_field("mobile")?`.
pub trait AtField<T> {
    fn at_field(self, field: &'static str) -> Result<T, ServiceError>;
}

impl<T> AtField<T> for Result<T, Invalid> {
    fn at_field(self, field: &'static str) -> Result<T, ServiceError> {
        self.map_err(|error| ServiceError::Invalid { field, error })
    }
}

/// Turns a unique index's refusal into the conflict the caller can act on:
/// `store::insert(&mut tx, &row).await.on_conflict(already_booked)?`.
pub(crate) trait OnConflict<T> {
    fn on_conflict(self, conflict: impl FnOnce() -> ServiceError) -> Result<T, ServiceError>;
}

impl<T> OnConflict<T> for Result<T, StorageError> {
    fn on_conflict(self, conflict: impl FnOnce() -> ServiceError) -> Result<T, ServiceError> {
        self.map_err(|e| match e {
            StorageError::Conflict(_) => conflict(),
            other => other.into(),
        })
    }
}

impl From<StorageError> for ServiceError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict(what) => {
                ServiceError::conflict(ErrorCode::Conflict, format!("already exists: {what}"))
            }
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
