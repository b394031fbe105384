//! The helpers page modules share, in one place: page modules import from here and never
//! from each other.

use crate::AppState;
use crate::error::PageError;
use crate::error::status_for;
pub use crate::extract::context::Cx;
pub use crate::extract::forms::{
    Back, CsrfField, CsrfForm, CsrfMultipart, MultipartBack, MultipartRefused, Pairs, Refusal, Up,
};
pub(crate) use crate::extract::forms::{back, csrf_field};
pub use crate::extract::staff::{StaffWith, need};
use crate::i18n::Lang;
use crate::i18n::cookie_in;
pub use crate::render::{
    Page, at, beijing, office_name, qr_svg, render, render_with, retry_after, urlencoding_min,
    when_micros, yuan, yuan_digits,
};
use crate::session::{self, anon_csrf_cookie};
use crate::throttle::ClientIp;
use askama::Template;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use exitentry_domain::office::Service;
use exitentry_services::ServiceError;
use exitentry_services::appointments::{self as ap, SlotView};
use exitentry_services::centre::{self, Desk, TicketView};
use exitentry_services::endorsement_applications::ApplyRequest;
use exitentry_services::offices;
use exitentry_services::temporary_permits::PermitView;
use serde::Deserialize;

/// The message for a failed sign-in: a lock with the time it ends, wrong credentials in the
/// words of that kind of account (`bad_credentials` is its message key), anything else as
/// usual.
pub fn sign_in_error(e: &ServiceError, lang: Lang, bad_credentials: &str) -> String {
    match e {
        ServiceError::Locked { until } => lang.t_args(
            "err-account_locked_until",
            &[("time", beijing(*until, "%H:%M"))],
        ),
        ServiceError::BadCredentials => lang.t(bad_credentials),
        other => crate::error::message_for(other, lang),
    }
}

/// A form that only carries its CSRF token (sign-out, claim, and other one-button posts).
#[derive(Deserialize, Default)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

csrf_field!(CsrfOnly, TicketForm);

/// `?next=` on a sign-in page: where to go afterwards.
#[derive(Deserialize, Default)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// Where to go after signing in: `next` when it is a path within `area`, else `home`. Never
/// another site (`//host`, backslashes), so sign-in cannot be used as an open redirect.
pub fn next_within(next: Option<&str>, area: &str, home: &str) -> String {
    next.filter(|n| is_local_path(n) && n.starts_with(area))
        .unwrap_or(home)
        .to_string()
}

/// A path on this site that every browser reads the same way: starts with one `/`, no `//`
/// anywhere, no backslash and no control character (browsers drop tabs and newlines, so
/// `/<TAB>/evil.com` would become `//evil.com`, another site).
pub fn is_local_path(n: &str) -> bool {
    n.starts_with('/') && !n.contains("//") && !n.chars().any(|c| c == '\\' || c.is_control())
}

/// A permit as shown on the holder's pages: times in Beijing, the QR as inline SVG.
pub struct PermitCard {
    pub id: String,
    pub status: &'static str,
    pub valid_from: String,
    pub valid_until: String,
    pub uses: Vec<&'static str>,
    pub document: String,
    pub holder_name: String,
    pub payload: Option<String>,
    pub qr_svg: Option<String>,
}

impl From<PermitView> for PermitCard {
    fn from(p: PermitView) -> Self {
        let fmt = "%Y-%m-%d %H:%M (UTC+8)";
        PermitCard {
            qr_svg: p.payload.as_deref().and_then(qr_svg),
            id: p.id,
            status: p.status,
            valid_from: beijing(p.valid_from, fmt),
            valid_until: beijing(p.valid_until, fmt),
            uses: p.permitted_uses,
            document: p.document_number,
            holder_name: p.holder_name,
            payload: p.payload,
        }
    }
}

/// A document's bytes, for its owner only, never sniffed or cached by the browser.
pub fn file_response(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let inline = content_type.starts_with("image/") || content_type == "application/pdf";
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "{}; filename=\"{}\"",
                    if inline { "inline" } else { "attachment" },
                    if safe.is_empty() { "document" } else { &safe }
                ),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (
                header::HeaderName::from_static("x-content-type-options"),
                "nosniff".to_string(),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
                    .to_string(),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub fn bookable() -> Vec<Service> {
    Service::ALL.into_iter().filter(|s| s.bookable()).collect()
}

/// `?ticket=ID`: the ticket just handed out, shown after the redirect.
#[derive(Deserialize, Default)]
pub struct TicketQuery {
    #[serde(default)]
    pub ticket: Option<i64>,
}

#[derive(Deserialize)]
pub struct TicketForm {
    #[serde(default)]
    pub csrf: String,
    /// `check_in` or `walk_in`.
    #[serde(default)]
    pub what: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub priority: Option<String>,
}

pub async fn ticket_for(
    s: &AppState,
    desk: Desk<'_>,
    f: &TicketForm,
) -> Result<TicketView, ServiceError> {
    if f.what == "walk_in" {
        centre::walk_in(&s.app, desk, &f.service, f.priority.is_some()).await
    } else {
        centre::check_in(&s.app, desk, &f.reference).await
    }
}

/// Supplement items in the reader's language (the reviewer's checklist).
pub fn item_label(page: &Page, item: &str) -> String {
    page.t(&format!("supplement-{item}"))
}

/// What a form's action answers: on success a redirect to `to(value)` (post, redirect, get:
/// a reload never repeats the action); on an error the form shows (`shown`), the page again
/// with the error and its status; on any other error the error page for `path`.
pub async fn redirect_or_again<T, Fut>(
    cx: &Cx,
    done: Result<T, ServiceError>,
    to: impl FnOnce(T) -> String,
    shown: impl FnOnce(&ServiceError) -> bool,
    again: impl FnOnce(Option<(StatusCode, String)>) -> Fut,
    path: &str,
) -> Result<Response, PageError>
where
    Fut: std::future::Future<Output = Result<Response, PageError>>,
{
    match done {
        Ok(v) => Ok(Redirect::to(&to(v)).into_response()),
        Err(e) => again(Some(cx.shown_or_fail(e, shown, path)?)).await,
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

/// A page for visitors not signed in, drawn as `render_with` draws it, its CSRF token kept
/// in the cookie.
pub fn render_anon<T: Template>(
    csrf: &str,
    error: Option<(StatusCode, String)>,
    page: impl FnOnce(Option<String>) -> T,
) -> Response {
    with_anon_csrf(csrf, render_with(error, page))
}

/// The day picker of a booking form and the open slots it found.
pub struct SlotSearch {
    pub date: String,
    pub min_date: String,
    pub max_date: String,
    /// An office and a day were chosen: the slots were looked for.
    pub searched: bool,
    pub slots: Vec<SlotView>,
}

/// The slots with a place left of `service` at `office` on `date` (tomorrow picked when
/// there is no date; the picker runs from today to the booking horizon), and why they could
/// not be listed.
pub async fn slot_search(
    cx: &Cx,
    office: &str,
    service: Service,
    date: &str,
) -> (SlotSearch, Option<(StatusCode, String)>) {
    let today = cx.app().today();
    let date = date.parse::<NaiveDate>().ok();
    let searched = !office.is_empty() && date.is_some();
    let (slots, error) = match (searched, date) {
        (true, Some(day)) => match ap::slots(cx.app(), office, service.code(), day, day).await {
            Ok(list) => (list.into_iter().filter(|s| s.available > 0).collect(), None),
            Err(e) => (Vec::new(), Some(cx.shown(&e))),
        },
        _ => (Vec::new(), None),
    };
    let horizon = cx.app().config.centre.booking_horizon_days;
    let search = SlotSearch {
        date: date.unwrap_or(today + Duration::days(1)).to_string(),
        min_date: today.to_string(),
        max_date: (today + Duration::days(horizon)).to_string(),
        searched,
        slots,
    };
    (search, error)
}

/// The offices offering `service`: code and name in the reader's language, for a picker.
pub async fn office_choices(
    cx: &Cx,
    service: Service,
) -> Result<Vec<(String, String)>, ServiceError> {
    Ok(offices::offering(cx.app(), Some(service))
        .await?
        .iter()
        .map(|o| (o.code.as_str().to_string(), office_name(cx.lang, o)))
        .collect())
}

/// An endorsement chosen from the offered list (`destination|kind|months|trips`, as the
/// radio buttons post it); anything else asks for nothing, which the rules refuse.
pub fn chosen_endorsement(choice: &str) -> ApplyRequest {
    match choice.split('|').collect::<Vec<_>>().as_slice() {
        [d, k, m, t] => ApplyRequest {
            destination: d.to_string(),
            kind: k.to_string(),
            validity_months: m.parse().unwrap_or(0),
            trips: t.to_string(),
        },
        _ => ApplyRequest::default(),
    }
}

/// What an action answered on the page it acts on did: a notice, or why it failed (the
/// status and message the page shows).
pub type Outcome = Result<String, (StatusCode, String)>;

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

/// The notice and the error of the last action (none on a plain visit).
pub fn notice_and_error(
    outcome: Option<Outcome>,
) -> (Option<String>, Option<(StatusCode, String)>) {
    match outcome {
        Some(Ok(n)) => (Some(n), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    }
}

/// One kind of account's sign-in: its session and known-device cookies, and the message
/// key of wrong credentials in that account's words.
pub struct SignIn {
    pub session_cookie: &'static str,
    pub device_cookie: &'static str,
    pub bad_credentials: &'static str,
}

impl SignIn {
    /// The known-device token this client presents for this kind of account.
    pub fn device<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        session::device_token(headers, self.device_cookie)
    }

    /// Signs in with `login` unless the client is over its rate (the form again, 429 with
    /// `Retry-After`): the cookies and the redirect to `next`, or the form again (`again`)
    /// with why not.
    pub async fn run<A>(
        &self,
        cx: &Cx,
        ClientIp(ip): ClientIp,
        next: &str,
        login: impl Future<Output = Result<(String, A, Option<String>), ServiceError>>,
        again: impl Fn(StatusCode, String) -> Response,
    ) -> Response {
        if let Err(wait) = cx.s.login_throttle.check(ip) {
            let res = again(StatusCode::TOO_MANY_REQUESTS, cx.lang.t("err-rate_limited"));
            return retry_after(res, wait);
        }
        match login.await {
            Ok((token, _, device)) => session::signed_in(
                &cx.s,
                self.session_cookie,
                &token,
                self.device_cookie,
                device,
                next,
            ),
            Err(e) => again(
                status_for(&e),
                sign_in_error(&e, cx.lang, self.bad_credentials),
            ),
        }
    }

    /// The session token in this client's cookie, if any (to end it on signing out).
    pub fn token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        cookie_in(headers, self.session_cookie)
    }

    /// The answer to signing out: the session cookie cleared and the redirect to `to`.
    pub fn signed_out(&self, to: &str) -> Response {
        let gone = session::set_cookie(self.session_cookie, "", Some(0), false);
        ([(header::SET_COOKIE, gone)], Redirect::to(to)).into_response()
    }
}
