//! Staff sessions from cookies, and CSRF checks for forms.

use crate::AppState;
use crate::error::PageError;
use crate::i18n::{Lang, cookie};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use exitentry_services::ServiceError;
use exitentry_services::auth::{self, StaffSession};

pub const SESSION_COOKIE: &str = "ee_session";
pub const LOGIN_CSRF_COOKIE: &str = "ee_login_csrf";

/// The signed-in staff member; anonymous requests are sent to the login page.
pub struct Staff(pub StaffSession);

/// The signed-in staff member, if any (public pages show a staff link then).
pub struct MaybeStaff(pub Option<StaffSession>);

async fn lookup(parts: &Parts, state: &AppState) -> Result<Option<StaffSession>, ServiceError> {
    match cookie(parts, SESSION_COOKIE) {
        Some(token) if !token.is_empty() => auth::session(&state.app, token).await,
        _ => Ok(None),
    }
}

fn path_of(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_request_parts(parts, state)
            .await
            .unwrap_or(Lang::ZhHans);
        let path = path_of(parts);
        match lookup(parts, state).await {
            Ok(Some(s)) => Ok(Staff(s)),
            Ok(None) => Err(PageError {
                err: ServiceError::Unauthenticated,
                lang,
                path,
            }),
            Err(err) => Err(PageError { err, lang, path }),
        }
    }
}

/// The signed-in staff member for the JSON API: 401 JSON instead of a redirect.
pub struct ApiStaff(pub StaffSession);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = crate::error::ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_request_parts(parts, state)
            .await
            .unwrap_or(Lang::En);
        match lookup(parts, state).await {
            Ok(Some(s)) => Ok(ApiStaff(s)),
            Ok(None) => Err(crate::error::ApiError::new(
                ServiceError::Unauthenticated,
                lang,
            )),
            Err(e) => Err(crate::error::ApiError::new(e, lang)),
        }
    }
}

impl FromRequestParts<AppState> for MaybeStaff {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeStaff(lookup(parts, state).await.ok().flatten()))
    }
}

/// Compares a submitted CSRF token with the expected one in constant time.
pub fn csrf_ok(expected: &str, submitted: &str) -> bool {
    !expected.is_empty()
        && expected.len() == submitted.len()
        && expected
            .bytes()
            .zip(submitted.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// A `Set-Cookie` value with the platform's defaults: HttpOnly, SameSite=Strict, Path=/.
pub fn set_cookie(name: &str, value: &str, max_age_secs: Option<i64>, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age_secs {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}
