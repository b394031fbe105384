//! What a form's action answers: a redirect (post, redirect, get), or the page drawn
//! again with what the action did; and which errors a form shows.

use crate::error::{PageError, PageResult};
use crate::extract::context::Cx;
use crate::render::Outcome;
use crate::session::anon_csrf_cookie;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use exitentry_services::ServiceError;

/// What a form's action answers: on success a redirect to `to(value)` (post, redirect, get:
/// a reload never repeats the action); on an error the form shows (`shown`), the page drawn
/// again (`again`) with the error, at `path` (unless placed elsewhere with `Cx::at`), where a
/// GET shows it again with what was typed; on any other error the error page for `path`.
pub async fn redirect_or_again<T>(
    cx: &Cx,
    done: Result<T, ServiceError>,
    to: impl FnOnce(T) -> String,
    shown: impl FnOnce(&ServiceError) -> bool,
    again: impl AsyncFnOnce(&Cx) -> PageResult,
    path: &str,
) -> PageResult {
    match done {
        Ok(v) => Ok(Redirect::to(&to(v)).into_response()),
        Err(e) => {
            let failed = cx.shown_or_fail(e, shown, path)?;
            again(&cx.at_unless_moved(path).after(Err(failed))).await
        }
    }
}

/// Errors in what was asked (a field, or a state that does not allow it): forms show them.
pub fn invalid_or_conflict(e: &ServiceError) -> bool {
    matches!(
        e,
        ServiceError::Invalid { .. } | ServiceError::Conflict { .. }
    )
}

/// A field in error: the form shows it.
pub fn invalid(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Invalid { .. })
}

/// A state that does not allow the action: the page shows it.
pub fn conflict(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Conflict { .. })
}

/// A page with a form for visitors not signed in: its CSRF token (`csrf`) kept in the
/// double-submit cookie for an hour.
pub fn with_anon_csrf(csrf: &str, page: Response) -> Response {
    ([(header::SET_COOKIE, anon_csrf_cookie(csrf))], page).into_response()
}

/// An action's outcome for the page drawn again: the notice `notice` makes of its answer,
/// an error the page shows (`shown`), or else the error page for `path`.
pub fn outcome<T>(
    cx: &Cx,
    done: Result<T, ServiceError>,
    notice: impl FnOnce(T) -> String,
    shown: impl FnOnce(&ServiceError) -> bool,
    path: &str,
) -> Result<Outcome, PageError> {
    match done {
        Ok(v) => Ok(Ok(notice(v))),
        Err(e) => cx.shown_or_fail(e, shown, path).map(Err),
    }
}
