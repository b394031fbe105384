//! Reviewers' pages for the non-Chinese permit's pre-applications: the queue (oldest first),
//! claiming, the details and documents side by side, and the decision — approve, ask for
//! supplements (standard items and free text) or reject with a reason.

use super::common::{
    CsrfForm, CsrfOnly, Cx, Pairs, StaffWith, Up, back, file_response, invalid_or_conflict, need,
    page_template, redirect_or_again,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Staff;
use axum::Router;
use axum::extract::Path;
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

page_template! {
    Queue = "staff/pre_applications.html" {
        csrf: String,
        waiting: Vec<Summary>,
        mine: Vec<Summary>,
    }
}

async fn queue_page(cx: &Cx, staff: StaffSession) -> PageResult {
    let (waiting, mine) = hrp::queue(cx.app(), &staff).await.map_err(cx.fail(QUEUE))?;
    Ok(cx.render(&Queue {
        csrf: staff.csrf_token.clone(),
        page: cx.page(Some(staff), "pre-title"),
        waiting,
        mine,
    }))
}

async fn queue(cx: Cx, StaffWith(staff, _): StaffWith<need::ReviewPreApplications>) -> PageResult {
    queue_page(&cx, staff).await
}

page_template! {
    Show = "staff/pre_application.html" {
        csrf: String,
        d: Detail,
        mine: bool,
        items: [&'static str; 7],
        /// The decision form as posted, after a refusal.
        draft: Pairs,
    }
}

impl Show {
    /// Whether the refused decision asked for this supplement item.
    fn ticked(&self, item: &str) -> bool {
        self.draft.all("item").iter().any(|i| i == item)
    }

    /// The purpose code, read as the domain reads it (an older form without one is for a
    /// first permit).
    fn purpose(&self) -> &'static str {
        exitentry_domain::hrp::Purpose::parse(&self.d.form.purpose)
            .unwrap_or(exitentry_domain::hrp::Purpose::First)
            .code()
    }
}

async fn show_page(cx: &Cx, staff: StaffSession, id: &str) -> PageResult {
    let d = hrp::staff_get(cx.app(), &staff, id)
        .await
        .map_err(cx.fail(&format!("{QUEUE}/{id}")))?;
    let mine = d.status == exitentry_domain::states::PreApplicationState::InReview
        && d.claimed_by.as_deref() == Some(staff.username.as_str());
    Ok(cx.render(&Show {
        csrf: staff.csrf_token.clone(),
        page: cx.page(Some(staff), "pre-title"),
        d,
        mine,
        items: exitentry_domain::hrp::SUPPLEMENT_ITEMS,
        // A decision the rules refused comes back with what the reviewer wrote.
        draft: cx.kept().unwrap_or(Pairs(Vec::new())),
    }))
}

async fn show(cx: Cx, Staff(staff): Staff, Path(id): Path<String>) -> PageResult {
    show_page(&cx, staff, &id).await
}

async fn claim(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ReviewPreApplications, QueuePage>,
    Path(id): Path<String>,
    _: CsrfForm<CsrfOnly, QueuePage>,
) -> PageResult {
    redirect_or_again(
        &cx,
        hrp::claim(cx.app(), &staff, &id).await,
        |_| format!("{QUEUE}/{id}"),
        |e| matches!(e, ServiceError::Conflict { .. } | ServiceError::NotFound(_)),
        async |cx| queue_page(cx, staff).await,
        QUEUE,
    )
    .await
}

async fn decide(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ReviewPreApplications, Up>,
    Path(id): Path<String>,
    CsrfForm(pairs, _): CsrfForm<Pairs, Up>,
) -> PageResult {
    let decision = match pairs.get("decision").as_str() {
        "approve" => Decision::Approve,
        "supplement" => Decision::RequestSupplements {
            items: pairs.all("item"),
            note: pairs.get("note"),
        },
        _ => Decision::Reject {
            reason: pairs.get("reason"),
        },
    };
    redirect_or_again(
        &cx,
        hrp::decide(cx.app(), &staff, &id, &decision).await,
        |_| QUEUE.to_string(),
        invalid_or_conflict,
        async |cx| show_page(cx, staff, &id).await,
        &format!("{QUEUE}/{id}"),
    )
    .await
}

async fn document(
    cx: Cx,
    Staff(staff): Staff,
    Path((id, doc)): Path<(String, String)>,
) -> PageResult {
    let (d, bytes) = hrp::document(cx.app(), Reader::Staff(&staff), &id, &doc)
        .await
        .map_err(cx.fail(&format!("{QUEUE}/{id}")))?;
    Ok(file_response(&d.name, &d.content_type, bytes))
}
