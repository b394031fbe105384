//! Sessions from cookies (staff, holders, applicants), the anonymous CSRF cookie, and the
//! cookies we set. Forms are checked against the session's token in `extract::forms`.

use crate::AppState;
use crate::error::{ApiError, PageError};
use crate::i18n::{Lang, cookie};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use exitentry_services::auth::{self, StaffSession};
use exitentry_services::centre::{self, DeviceSession};
use exitentry_services::holders::{self, HolderSession};
use exitentry_services::pre_applications::{self, ApplicantSession};
use exitentry_services::{App, ServiceError};
use std::convert::Infallible;
use std::marker::PhantomData;

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

/// A kind of account people sign in to: its session cookie, how a session is found, the
/// session's CSRF token, and the language of the sign-in redirect for visitors who name
/// none.
trait Account: Sized {
    const COOKIE: &'static str;
    const FALLBACK: Lang;
    fn find(
        app: &App,
        token: &str,
    ) -> impl Future<Output = Result<Option<Self>, ServiceError>> + Send;
    fn csrf(&self) -> &str;
}

/// The kinds of account: `Session: cookie, fallback language, how it is found;`.
macro_rules! accounts {
    ($($session:ty: $cookie:expr, $fallback:expr, $find:path;)*) => {$(
        impl Account for $session {
            const COOKIE: &'static str = $cookie;
            const FALLBACK: Lang = $fallback;

            fn find(app: &App, token: &str) -> impl Future<Output = FoundSession<Self>> + Send {
                $find(app, token)
            }

            fn csrf(&self) -> &str {
                &self.csrf_token
            }
        }
    )*};
}

accounts! {
    HolderSession: HOLDER_COOKIE, Lang::ZhHans, holders::session;
    ApplicantSession: APPLICANT_COOKIE, Lang::En, pre_applications::session;
    StaffSession: SESSION_COOKIE, Lang::ZhHans, auth::session;
}

type FoundSession<A> = Result<Option<A>, ServiceError>;

/// The session in this request's cookie, if any.
async fn session_of<A: Account>(parts: &Parts, state: &AppState) -> FoundSession<A> {
    match cookie(parts, A::COOKIE) {
        Some(token) if !token.is_empty() => A::find(&state.app, token).await,
        _ => Ok(None),
    }
}

/// The session a page needs (else the page error that sends the visitor to sign in), its
/// CSRF token left for the form extractors.
async fn page_session<A: Account>(parts: &mut Parts, state: &AppState) -> Result<A, PageError> {
    let found = session_of(parts, state).await;
    let account: A = required(parts, state, A::FALLBACK, found).await?;
    expect_csrf(parts, account.csrf());
    Ok(account)
}

/// The session an API call needs: 401 JSON without one, before any body is read.
async fn api_session<A: Account>(parts: &mut Parts, state: &AppState) -> Result<A, ApiError> {
    let lang = Lang::from_headers(&parts.headers);
    match session_of(parts, state).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(ApiError::new(ServiceError::Unauthenticated, lang)),
        Err(e) => Err(ApiError::new(e, lang)),
    }
}

/// The session, if any (a page that shows more to those signed in).
async fn maybe_session<A: Account>(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<A>, Infallible> {
    Ok(session_of(parts, state).await.ok().flatten())
}

/// An extractor over one kind of account's session, found by one of the functions above:
/// `extractor!(Holder: PageError = page_session);`.
macro_rules! extractor {
    ($($name:ident: $rejection:ty = $find:ident;)*) => {$(
        impl FromRequestParts<AppState> for $name {
            type Rejection = $rejection;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                $find(parts, state).await.map($name)
            }
        }
    )*};
}

extractor! {
    Holder: PageError = page_session;
    MaybeHolder: Infallible = maybe_session;
    ApiHolder: ApiError = api_session;
    Applicant: PageError = page_session;
    Staff: PageError = page_session;
    MaybeStaff: Infallible = maybe_session;
    ApiStaff: ApiError = api_session;
}

/// The signed-in permit holder; anonymous requests are sent to the holders' sign-in.
pub struct Holder(pub HolderSession);

/// The signed-in permit holder, if any.
pub struct MaybeHolder(pub Option<HolderSession>);

/// The signed-in permit holder for the JSON API: 401 JSON, before any body is read.
pub struct ApiHolder(pub HolderSession);

/// The signed-in online applicant; anonymous requests are sent to the applicants' sign-in.
pub struct Applicant(pub ApplicantSession);

/// The signed-in staff member; anonymous requests are sent to the login page.
pub struct Staff(pub StaffSession);

/// The signed-in staff member, if any (public pages show a staff link then).
pub struct MaybeStaff(pub Option<StaffSession>);

/// The signed-in staff member for the JSON API: 401 JSON instead of a redirect.
pub struct ApiStaff(pub StaffSession);

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

/// The CSRF token of the signed-in session, left in the request by the session extractor
/// for the form extractors of `extract::forms` (which run after it).
#[derive(Clone)]
pub struct ExpectedCsrf(pub String);

/// The signed-in session's CSRF token is the one this request's form must echo.
fn expect_csrf(parts: &mut Parts, token: &str) {
    parts.extensions.insert(ExpectedCsrf(token.to_string()));
}

fn path_of(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
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

/// The cookie a hall device keeps its token in (set when it is paired at `/kiosk`).
pub const DEVICE_COOKIE: &str = "ee_device";

/// The hall device behind the request, if its cookie holds a valid token.
pub struct MaybeDevice(pub Option<DeviceSession>);

impl FromRequestParts<AppState> for MaybeDevice {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let device = match cookie(parts, DEVICE_COOKIE) {
            Some(t) if !t.is_empty() => centre::device_session(&s.app, t).await.ok().flatten(),
            _ => None,
        };
        Ok(MaybeDevice(device))
    }
}

/// A kind of hall device, as a type: `Device<Kiosk>`.
pub trait DeviceKind {
    const KIND: &'static str;
}

/// A ticket printer at reception.
pub struct TicketPrinter;

impl DeviceKind for TicketPrinter {
    const KIND: &'static str = "ticket_printer";
}

/// A self-service kiosk (collection, endorsements).
pub struct KioskDevice;

impl DeviceKind for KioskDevice {
    const KIND: &'static str = "kiosk";
}

/// A paired hall device of kind `K`; anything else is sent to `/kiosk` (to pair, or to the
/// device's own screen).
pub struct Device<K>(pub DeviceSession, pub PhantomData<K>);

impl<K: DeviceKind + Send> FromRequestParts<AppState> for Device<K> {
    type Rejection = axum::response::Redirect;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(MaybeDevice(device)) = MaybeDevice::from_request_parts(parts, s).await;
        device
            .filter(|d| d.kind == K::KIND)
            .map(|d| Device(d, PhantomData))
            .ok_or_else(|| axum::response::Redirect::to("/kiosk"))
    }
}
