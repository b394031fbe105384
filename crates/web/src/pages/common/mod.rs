//! The helpers page modules share, in one place: page modules import from here and never
//! from each other.

mod actions;
mod booking;
mod cancel;
mod office_names;
mod sign_in;

pub use actions::{
    conflict, invalid, invalid_or_conflict, outcome, redirect_or_again, with_anon_csrf,
};
pub use booking::{BookingQuery, OfficePicker, SlotSearch, booking_form};
pub use cancel::{Cancel, cancel, cancel_form};
pub use office_names::OfficeNames;
pub use sign_in::{SignIn, next_within};

use crate::AppState;
pub use crate::extract::context::Cx;
pub use crate::extract::forms::{
    Back, CsrfField, CsrfForm, CsrfMultipart, MultipartBack, MultipartRefused, Pairs, Refusal, Up,
};
pub(crate) use crate::extract::forms::{back, csrf_field, form_fields};
pub use crate::extract::staff::{StaffWith, need};
pub(crate) use crate::render::page_template;
pub use crate::render::{
    Failed, Outcome, Page, at, beijing, office_address, office_name, qr_svg, render,
    urlencoding_min, when_micros, yuan, yuan_digits,
};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use exitentry_domain::office::Service;
use exitentry_domain::states::TemporaryPermitState;
use exitentry_services::ServiceError;
use exitentry_services::centre::{self, Desk, TicketView};
use exitentry_services::endorsement_applications::ApplyRequest;
use exitentry_services::temporary_permits::PermitView;
use serde::Deserialize;

/// A form that only carries its CSRF token (sign-out, claim, and other one-button posts).
#[derive(Deserialize, Default)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

csrf_field!(CsrfOnly, TicketForm, CounterPayment);

/// A fee taken at the counter: how it was paid (`cash`, a terminal's method).
#[derive(Deserialize, Default)]
pub struct CounterPayment {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub method: String,
}

/// `?next=` on a sign-in page: where to go afterwards.
#[derive(Deserialize, Default)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// A permit as shown on the holder's pages: times in Beijing, the QR as inline SVG.
pub struct PermitCard {
    pub id: String,
    pub status: TemporaryPermitState,
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

#[derive(Deserialize, Default)]
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
        match centre::check_in(&s.app, desk, &f.reference).await {
            // A mistyped reference is the form's to fix, not a page that does not exist.
            Err(ServiceError::NotFound("appointment")) => Err(ServiceError::bad_input(
                "reference",
                exitentry_domain::ErrorCode::UnknownReference,
                "no appointment has this reference",
            )),
            done => done,
        }
    }
}

/// Supplement items in the reader's language (the reviewer's checklist).
pub fn item_label(page: &Page, item: &str) -> String {
    page.t(&format!("supplement-{item}"))
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
}

impl Confirm {
    /// The confirmation of a cancel, its words from the `<key>-consequence` and
    /// `<key>-confirm` messages; `to` is where the button posts and where "back" goes. With
    /// a refusal (`cx.after(Err(…))`) drawn in answer to the POST, it goes out as a redirect
    /// to the confirmation's own GET address (post/redirect/get), so a reload or a language
    /// switch shows it again instead of an error of the browser's.
    pub fn cancel(
        cx: &Cx,
        page: Page,
        key: &str,
        what: String,
        [action, back]: [String; 2],
        csrf: &str,
    ) -> crate::error::PageResult {
        Ok(cx.render(&Confirm {
            what,
            consequence: cx.lang.t(&format!("{key}-consequence")),
            action,
            button: cx.lang.t(&format!("{key}-confirm")),
            back,
            csrf: csrf.to_string(),
            page,
        }))
    }
}
