//! Staff sessions from cookies, and CSRF checks for forms.

use crate::AppState;
use crate::error::PageError;
use crate::i18n::{Lang, cookie};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use exitentry_services::ServiceError;
use exitentry_services::auth::{self, StaffSession};
use exitentry_services::holders::{self, HolderSession};
use exitentry_services::pre_applications::{self, ApplicantSession};

pub const SESSION_COOKIE: &str = "ee_session";
pub const HOLDER_COOKIE: &str = "ee_holder";
/// Applicants for the non-Chinese permit (accounts by email, under /apply).
pub const APPLICANT_COOKIE: &str = "ee_applicant";
/// Double-submit CSRF cookie for forms used before anyone is signed in.
pub const LOGIN_CSRF_COOKIE: &str = "ee_login_csrf";

/// The CSRF token of an anonymous form: the one already in the cookie, or a new one.
pub fn anon_csrf(headers: &axum::http::HeaderMap) -> String {
    crate::i18n::cookie_in(headers, LOGIN_CSRF_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
        .unwrap_or_else(exitentry_services::tokens::random_token)
}

/// The `Set-Cookie` value that keeps an anonymous form's CSRF token for an hour.
pub fn anon_csrf_cookie(token: &str) -> String {
    set_cookie(LOGIN_CSRF_COOKIE, token, Some(3600), false)
}

/// True when an anonymous form echoes the token in its cookie.
pub fn anon_csrf_ok(headers: &axum::http::HeaderMap, submitted: &str) -> bool {
    csrf_ok(
        crate::i18n::cookie_in(headers, LOGIN_CSRF_COOKIE).unwrap_or(""),
        submitted,
    )
}

/// The signed-in permit holder; anonymous requests are sent to the holders' sign-in.
pub struct Holder(pub HolderSession);

/// The signed-in permit holder, if any.
pub struct MaybeHolder(pub Option<HolderSession>);

async fn holder_lookup(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<HolderSession>, ServiceError> {
    match cookie(parts, HOLDER_COOKIE) {
        Some(token) if !token.is_empty() => holders::session(&state.app, token).await,
        _ => Ok(None),
    }
}

impl FromRequestParts<AppState> for Holder {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let found = holder_lookup(parts, state).await;
        required(parts, state, Lang::ZhHans, found)
            .await
            .map(Holder)
    }
}

impl FromRequestParts<AppState> for MaybeHolder {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeHolder(
            holder_lookup(parts, state).await.ok().flatten(),
        ))
    }
}

/// The signed-in permit holder for the JSON API: 401 JSON, before any body is read.
pub struct ApiHolder(pub HolderSession);

impl FromRequestParts<AppState> for ApiHolder {
    type Rejection = crate::error::ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_headers(&parts.headers);
        match holder_lookup(parts, state).await {
            Ok(Some(h)) => Ok(ApiHolder(h)),
            Ok(None) => Err(crate::error::ApiError::new(
                ServiceError::Unauthenticated,
                lang,
            )),
            Err(e) => Err(crate::error::ApiError::new(e, lang)),
        }
    }
}

/// The signed-in online applicant; anonymous requests are sent to the applicants' sign-in.
pub struct Applicant(pub ApplicantSession);

impl FromRequestParts<AppState> for Applicant {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let found = match cookie(parts, APPLICANT_COOKIE) {
            Some(token) if !token.is_empty() => pre_applications::session(&state.app, token).await,
            _ => Ok(None),
        };
        required(parts, state, Lang::En, found).await.map(Applicant)
    }
}

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

/// The session a page needs, or the page error that sends the visitor to sign in (the
/// error page picks the sign-in by path) in their language (`fallback` without one).
async fn required<T>(
    parts: &mut Parts,
    state: &AppState,
    fallback: Lang,
    found: Result<Option<T>, ServiceError>,
) -> Result<T, PageError> {
    let lang = Lang::from_request_parts(parts, state)
        .await
        .unwrap_or(fallback);
    let path = path_of(parts);
    match found {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(PageError {
            err: ServiceError::Unauthenticated,
            lang,
            path,
        }),
        Err(err) => Err(PageError { err, lang, path }),
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
        let found = lookup(parts, state).await;
        required(parts, state, Lang::ZhHans, found).await.map(Staff)
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
    !expected.is_empty() && exitentry_services::tokens::constant_time_eq(expected, submitted)
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

/// Known-device cookies, one per kind of account: a client that has signed in before is
/// counted apart from strangers by the lock-out (so a stranger cannot lock the owner out).
pub const STAFF_DEVICE_COOKIE: &str = "ee_device_staff";
pub const HOLDER_DEVICE_COOKIE: &str = "ee_device_holder";
pub const APPLICANT_DEVICE_COOKIE: &str = "ee_device_applicant";

/// How long a known-device cookie is kept (a year, renewed at each sign-in from it).
const DEVICE_MAX_AGE: i64 = 365 * 24 * 3600;

/// The known-device token a client presents, if well-formed.
pub fn device_token<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    crate::i18n::cookie_in(headers, name)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The answer to a successful sign-in: the session cookie, the device cookie when this
/// client is new to the account, and the redirect.
pub fn signed_in(
    state: &AppState,
    session_cookie: &str,
    token: &str,
    device_cookie: &str,
    device: Option<String>,
    to: &str,
) -> axum::response::Response {
    use axum::http::header::SET_COOKIE;
    use axum::response::{AppendHeaders, IntoResponse, Redirect};
    let secure = state.app.config.server.secure_cookies;
    let max_age = state.app.config.security.session_max_hours * 3600;
    let mut cookies = vec![(
        SET_COOKIE,
        set_cookie(session_cookie, token, Some(max_age), secure),
    )];
    if let Some(d) = device {
        cookies.push((
            SET_COOKIE,
            set_cookie(device_cookie, &d, Some(DEVICE_MAX_AGE), secure),
        ));
    }
    (AppendHeaders(cookies), Redirect::to(to)).into_response()
}

/// With `server.secure_cookies`, every cookie we set is `Secure` and carries the `__Host-`
/// prefix (bound to this host, not settable by a sibling domain); incoming cookies are read
/// only under that prefix. One place, so no handler can forget it.
pub async fn host_cookies(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::HeaderValue;
    use axum::http::header::{COOKIE, SET_COOKIE};
    if !state.app.config.server.secure_cookies {
        return next.run(req).await;
    }
    let incoming: Vec<String> = req
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix(HOST_PREFIX).map(str::to_string))
        .collect();
    req.headers_mut().remove(COOKIE);
    if let Ok(v) = HeaderValue::from_str(&incoming.join("; ")) {
        req.headers_mut().insert(COOKIE, v);
    }
    let mut res = next.run(req).await;
    let outgoing: Vec<HeaderValue> = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| {
            let mut c = format!("{HOST_PREFIX}{}", c.trim_start_matches(HOST_PREFIX));
            if !c.contains("; Secure") {
                c.push_str("; Secure");
            }
            HeaderValue::from_str(&c).ok()
        })
        .collect();
    res.headers_mut().remove(SET_COOKIE);
    for v in outgoing {
        res.headers_mut().append(SET_COOKIE, v);
    }
    res
}

const HOST_PREFIX: &str = "__Host-";
