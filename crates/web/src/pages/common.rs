//! The helpers page modules share, in one place: page modules import from here and never
//! from each other.

use crate::AppState;
use crate::error::{PageError, message_for, status_for};
pub use crate::extract::forms::{
    Back, CsrfField, CsrfForm, CsrfMultipart, MultipartBack, MultipartRefused, Pairs, Refusal, Up,
};
pub(crate) use crate::extract::forms::{back, csrf_field};
pub use crate::extract::staff::{StaffWith, need};
use crate::i18n::Lang;
pub use crate::render::{
    Page, at, beijing, qr_svg, render, retry_after, status_and_error, urlencoding_min, when_micros,
    yuan, yuan_digits,
};
use axum::http::{StatusCode, header};
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use exitentry_domain::office::Service;
use exitentry_services::ServiceError;
use exitentry_services::centre::{self, Desk, TicketView};
use exitentry_services::temporary_permits::PermitView;
use serde::Deserialize;

/// The message for a failed sign-in: a lock with the time it ends, wrong credentials in the
/// words of that kind of account (`bad_credentials` is its message key), anything else as
/// usual.
pub fn sign_in_error(
    e: &exitentry_services::ServiceError,
    lang: Lang,
    bad_credentials: &str,
) -> String {
    use exitentry_services::ServiceError;
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
        let fmt = "%Y-%m-%d %H:%M";
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
    done: Result<T, ServiceError>,
    to: impl FnOnce(T) -> String,
    shown: impl FnOnce(&ServiceError) -> bool,
    again: impl FnOnce(Option<(StatusCode, String)>) -> Fut,
    lang: Lang,
    path: &str,
) -> Result<Response, PageError>
where
    Fut: std::future::Future<Output = Result<Response, PageError>>,
{
    match done {
        Ok(v) => Ok(Redirect::to(&to(v)).into_response()),
        Err(e) if shown(&e) => again(Some((status_for(&e), message_for(&e, lang)))).await,
        Err(e) => Err(PageError::at(lang, path)(e)),
    }
}

/// The page that confirms an irreversible action before it is taken (GET shows it, the
/// button POSTs): what will happen, that it cannot be undone, and a way back.
#[derive(askama::Template)]
#[template(path = "confirm.html")]
pub struct Confirm {
    pub page: Page,
    pub csrf: String,
    /// What the action applies to, in words.
    pub what: String,
    /// What follows from it and cannot be reversed.
    pub consequence: String,
    pub action: String,
    pub button: String,
    pub back: String,
    pub error: Option<String>,
}

impl Confirm {
    /// The page, with the status of the error it shows (200 without one).
    pub fn respond(self) -> Response {
        let status = if self.error.is_some() {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        (status, render(&self)).into_response()
    }
}
