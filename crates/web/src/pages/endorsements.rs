//! Repeat endorsements for card holders: apply online, pay through a provider (the sandbox's
//! pay page in development), then print at a kiosk.

use super::common::{CsrfForm, Page, Up, csrf_field, redirect_or_again, render};
use crate::AppState;
use crate::error::{PageError, message_for, status_for};
use crate::i18n::Lang;
use crate::session::Holder;
use askama::Template;
use axum::Router;
use axum::extract::{Form, OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use exitentry_services::ServiceError;
use exitentry_services::endorsement_applications::{
    self as ea, ApplicationView, ApplyRequest, Choice,
};
use exitentry_services::holders::HolderSession;
use exitentry_services::online_payments::{self as op, Outcome};
use serde::Deserialize;

csrf_field!(ApplyForm, PayForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/my/endorsements", get(list).post(apply))
        .route("/my/endorsements/{id}", get(show))
        .route("/my/endorsements/{id}/pay", post(pay))
        .route(
            "/my/endorsements/{id}/cancel",
            get(cancel_form).post(cancel),
        )
        .route("/dev/pay/{order}", get(sandbox_page).post(sandbox_answer))
}

#[derive(Template)]
#[template(path = "holder/endorsements.html")]
struct List {
    page: Page,
    holder: HolderSession,
    choices: Vec<Choice>,
    applications: Vec<ApplicationView>,
    error: Option<String>,
}

async fn list_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    h: HolderSession,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, uri, None, "end-title");
    let applications = ea::mine(&s.app, h.person_id)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let (choices, refusal) = match ea::choices(&s.app, h.person_id).await {
        Ok(c) => (c, None),
        Err(e @ ServiceError::Conflict { .. }) => (Vec::new(), Some(message_for(&e, lang))),
        Err(e) => return Err(PageError::at(lang, &page.path)(e)),
    };
    let (status, error) = super::common::status_and_error(error);
    let error = error.or(refusal);
    Ok((
        status,
        render(&List {
            page,
            holder: h,
            choices,
            applications,
            error,
        }),
    )
        .into_response())
}

async fn list(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
) -> Result<Response, PageError> {
    list_page(&s, lang, &uri, h, None).await
}

#[derive(Deserialize, Default)]
struct ApplyForm {
    #[serde(default)]
    csrf: String,
    /// `destination|kind|months|trips`.
    #[serde(default)]
    choice: String,
}

async fn apply(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    CsrfForm(f, _): CsrfForm<ApplyForm>,
) -> Result<Response, PageError> {
    let parts: Vec<&str> = f.choice.split('|').collect();
    let req = match parts.as_slice() {
        [d, k, m, t] => ApplyRequest {
            destination: d.to_string(),
            kind: k.to_string(),
            validity_months: m.parse().unwrap_or(0),
            trips: t.to_string(),
        },
        _ => ApplyRequest::default(),
    };
    redirect_or_again(
        ea::apply(&s.app, h.person_id, "online", &h.actor(), &req).await,
        |a| format!("/my/endorsements/{}", a.id),
        |e| !matches!(e, ServiceError::Internal(_)),
        |err| list_page(&s, lang, &uri, h, err),
        lang,
        "/my/endorsements",
    )
    .await
}

#[derive(Template)]
#[template(path = "holder/endorsement.html")]
struct Show {
    page: Page,
    holder: HolderSession,
    a: ApplicationView,
    providers: [&'static str; 4],
    error: Option<String>,
}

async fn show_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    h: HolderSession,
    id: &str,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, uri, None, "end-title");
    let a = ea::get(&s.app, h.person_id, id)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let (status, error) = super::common::status_and_error(error);
    Ok((
        status,
        render(&Show {
            page,
            holder: h,
            a,
            providers: op::PROVIDERS,
            error,
        }),
    )
        .into_response())
}

async fn show(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    show_page(&s, lang, &uri, h, &id, None).await
}

#[derive(Deserialize, Default)]
struct PayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    provider: String,
}

async fn pay(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<PayForm, Up>,
) -> Result<Response, PageError> {
    let path = format!("/my/endorsements/{id}");
    match ea::pay_online(&s.app, &h, &id, &f.provider).await {
        Ok((_, op::Checkout::Redirect(url))) => Ok(Redirect::to(&url).into_response()),
        Ok((order, op::Checkout::Qr(payload))) => Ok(render(&PayQr {
            page: Page::new(lang, &uri, None, "payqr-title"),
            qr_svg: super::common::qr_svg(&payload),
            order,
            back: path,
        })),
        Err(e) if !matches!(e, ServiceError::Internal(_)) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            show_page(&s, lang, &uri, h, &id, err).await
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}

/// The confirmation before an application is cancelled: which one, and that it ends (a paid
/// one is refunded).
async fn confirm_cancel(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    h: &HolderSession,
    id: &str,
    error: Option<String>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, uri, None, "end-cancel-title");
    let a = ea::get(&s.app, h.person_id, id)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let what = lang.t_args(
        "end-cancel-what",
        &[
            (
                "what",
                format!(
                    "{} · {}",
                    lang.t(&format!("dest-{}", a.destination)),
                    lang.t(&format!("etype-{}", a.kind))
                ),
            ),
            ("reference", a.reference),
        ],
    );
    Ok(super::common::Confirm {
        what,
        consequence: lang.t("end-cancel-consequence"),
        action: format!("/my/endorsements/{id}/cancel"),
        button: lang.t("end-cancel-confirm"),
        back: format!("/my/endorsements/{id}"),
        csrf: h.csrf_token.clone(),
        error,
        page,
    }
    .respond())
}

async fn cancel_form(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    confirm_cancel(&s, lang, &uri, &h, &id, None).await
}

async fn cancel(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    Path(id): Path<String>,
    _: CsrfForm<PayForm, Up>,
) -> Result<Response, PageError> {
    let path = format!("/my/endorsements/{id}");
    match ea::cancel(&s.app, h.person_id, &id, &h.actor()).await {
        Ok(_) => Ok(Redirect::to(&path).into_response()),
        Err(e @ ServiceError::Conflict { .. }) => {
            confirm_cancel(&s, lang, &uri, &h, &id, Some(message_for(&e, lang))).await
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}

/// A provider paid by scanning (WeChat Pay Native): its QR code, then back to the
/// application, whose status the provider's notification updates.
#[derive(Template)]
#[template(path = "holder/pay_qr.html")]
struct PayQr {
    page: Page,
    order: op::OrderRow,
    qr_svg: Option<String>,
    back: String,
}

#[derive(Template)]
#[template(path = "holder/sandbox_pay.html")]
struct SandboxPay {
    page: Page,
    order: op::OrderRow,
}

/// The development sandbox's pay page (stands in for the provider's page or QR).
async fn sandbox_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Path(order): Path<String>,
) -> Result<Response, PageError> {
    let order = op::order(&s.app, &order)
        .await
        .map_err(PageError::at(lang, uri.0.path()))?;
    Ok(render(&SandboxPay {
        page: Page::new(lang, &uri, None, "sandbox-title"),
        order,
    }))
}

#[derive(Deserialize, Default)]
struct SandboxForm {
    #[serde(default)]
    outcome: String,
}

async fn sandbox_answer(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Path(order): Path<String>,
    Form(f): Form<SandboxForm>,
) -> Result<Response, PageError> {
    let outcome = if f.outcome == "paid" {
        Outcome::Paid
    } else {
        Outcome::Failed
    };
    let o = op::sandbox_decide(&s.app, &order, outcome, ea::on_paid)
        .await
        .map_err(PageError::at(lang, uri.0.path()))?;
    // Back to the merchant's page, as a provider redirects after paying.
    let back = o
        .subject
        .strip_prefix("endorsement_application:")
        .map(|id| format!("/my/endorsements/{id}"))
        .unwrap_or_else(|| "/my".into());
    Ok(Redirect::to(&back).into_response())
}
