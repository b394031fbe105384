//! A form's error carried to the page it redirects to by its stable code (`?error=slot_full`),
//! so the page a person sees after a failed action has an address a GET reloads and a
//! language switch keeps; only our own codes are shown, never text from the address.

use crate::extract::context::Cx;
use crate::render::Failed;
use axum::http::StatusCode;
use exitentry_domain::ErrorCode;
use exitentry_services::ServiceError;

/// `path` with the error's code as `error=` (and `#anchor` after it, if any).
pub fn with_error(path: &str, e: &ServiceError, anchor: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}error={}{anchor}", e.code())
}

/// The message of an error carried by `with_error`, in the reader's language (the page is
/// answered 200: it is the page, showing what went wrong before).
pub fn carried_error(cx: &Cx, code: &str) -> Option<Failed> {
    let code = ErrorCode::parse(code)?;
    let key = format!("err-{}", code.code());
    cx.lang.try_t(&key)?;
    Some(Failed::key(StatusCode::OK, &key))
}
