//! Reviewers' pages for the non-Chinese permit's pre-applications: the queue (oldest first),
//! claiming, the details and documents side by side, and the decision — approve, ask for
//! supplements (standard items and free text) or reject with a reason.

use super::common::{
    CsrfForm, CsrfOnly, Page, Pairs, StaffWith, Up, back, file_response, need, redirect_or_again,
    render, status_and_error,
};
use crate::AppState;
use crate::error::PageError;
use crate::i18n::Lang;
use crate::session::Staff;
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use exitentry_services::ServiceError;
use exitentry_services::auth::StaffSession;
use exitentry_services::pre_applications::{self as hrp, Decision, Detail, Reader, Summary};

back!(QueuePage = QUEUE);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/pre-applications", get(queue))
        .route("/staff/pre-applications/{id}", get(show))
        .route("/staff/pre-applications/{id}/claim", post(claim))
        .route("/staff/pre-applications/{id}/decide", post(decide))
        .route(
            "/staff/pre-applications/{id}/documents/{doc}",
            get(document),
        )
}

const QUEUE: &str = "/staff/pre-applications";

#[derive(Template)]
#[template(path = "staff/pre_applications.html")]
struct Queue {
    page: Page,
    csrf: String,
    waiting: Vec<Summary>,
    mine: Vec<Summary>,
    error: Option<String>,
}

async fn queue_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    staff: StaffSession,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let (waiting, mine) = hrp::queue(&s.app, &staff)
        .await
        .map_err(PageError::at(lang, QUEUE))?;
    let (status, error) = status_and_error(error);
    Ok((
        status,
        render(&Queue {
            csrf: staff.csrf_token.clone(),
            page: Page::new(lang, uri, Some(staff), "pre-title"),
            waiting,
            mine,
            error,
        }),
    )
        .into_response())
}

async fn queue(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ReviewPreApplications>,
) -> Result<Response, PageError> {
    queue_page(&s, lang, &uri, staff, None).await
}

#[derive(Template)]
#[template(path = "staff/pre_application.html")]
struct Show {
    page: Page,
    csrf: String,
    d: Detail,
    mine: bool,
    items: [&'static str; 7],
    error: Option<String>,
}

impl Show {
    /// The purpose code, read as the domain reads it (an older form without one is for a
    /// first permit).
    fn purpose(&self) -> &'static str {
        exitentry_domain::hrp::Purpose::parse(&self.d.form.purpose)
            .unwrap_or(exitentry_domain::hrp::Purpose::First)
            .code()
    }
}

async fn show_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    staff: StaffSession,
    id: &str,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let path = format!("{QUEUE}/{id}");
    let d = hrp::staff_get(&s.app, &staff, id)
        .await
        .map_err(PageError::at(lang, &path))?;
    let mine = d.status == exitentry_domain::states::PreApplicationState::InReview.code()
        && d.claimed_by.as_deref() == Some(staff.username.as_str());
    let (status, error) = status_and_error(error);
    Ok((
        status,
        render(&Show {
            csrf: staff.csrf_token.clone(),
            page: Page::new(lang, uri, Some(staff), "pre-title"),
            d,
            mine,
            items: exitentry_domain::hrp::SUPPLEMENT_ITEMS,
            error,
        }),
    )
        .into_response())
}

async fn show(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    show_page(&s, lang, &uri, staff, &id, None).await
}

async fn claim(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ReviewPreApplications, QueuePage>,
    Path(id): Path<String>,
    _: CsrfForm<CsrfOnly, QueuePage>,
) -> Result<Response, PageError> {
    redirect_or_again(
        hrp::claim(&s.app, &staff, &id).await,
        |_| format!("{QUEUE}/{id}"),
        |e| matches!(e, ServiceError::Conflict { .. } | ServiceError::NotFound(_)),
        |err| queue_page(&s, lang, &uri, staff, err),
        lang,
        QUEUE,
    )
    .await
}

async fn decide(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ReviewPreApplications, Up>,
    Path(id): Path<String>,
    CsrfForm(pairs, _): CsrfForm<Pairs, Up>,
) -> Result<Response, PageError> {
    let get = |k: &str| pairs.get(k);
    let path = format!("{QUEUE}/{id}");
    let decision = match get("decision").as_str() {
        "approve" => Decision::Approve,
        "supplement" => Decision::RequestSupplements {
            items: pairs
                .iter()
                .filter(|(n, _)| n == "item")
                .map(|(_, v)| v.clone())
                .collect(),
            note: get("note"),
        },
        _ => Decision::Reject {
            reason: get("reason"),
        },
    };
    redirect_or_again(
        hrp::decide(&s.app, &staff, &id, &decision).await,
        |_| QUEUE.to_string(),
        |e| {
            matches!(
                e,
                ServiceError::Conflict { .. } | ServiceError::Invalid { .. }
            )
        },
        |err| show_page(&s, lang, &uri, staff, &id, err),
        lang,
        &path,
    )
    .await
}

async fn document(
    State(s): State<AppState>,
    lang: Lang,
    Staff(staff): Staff,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let path = format!("{QUEUE}/{id}");
    let (d, bytes) = hrp::document(&s.app, Reader::Staff(&staff), &id, &doc)
        .await
        .map_err(PageError::at(lang, &path))?;
    Ok(file_response(&d.name, &d.content_type, bytes))
}
