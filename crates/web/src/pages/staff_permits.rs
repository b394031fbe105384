//! Officer pages for temporary e-permits: the list (by issue date, status, document
//! number), a permit with its audit trail, and revocation with a reason.

use super::common::{
    CsrfForm, Cx, Page, PermitCard, beijing, csrf_field, invalid, invalid_or_conflict, render_with,
    when_micros,
};
use crate::AppState;
use crate::error::PageError;
use crate::extract::PageQuery;
use crate::session::Staff;
use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use exitentry_domain::staff::Permission;
use exitentry_services::audit::StoredAudit;
use exitentry_services::auth::StaffSession;
use exitentry_services::temporary_permits::{self as tp, ListQuery, STATUSES};
use serde::Deserialize;

csrf_field!(RevokeForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/temporary-permits", get(list))
        .route("/staff/temporary-permits/{id}", get(detail))
        .route("/staff/temporary-permits/{id}/revoke", post(revoke))
}

#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    date: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    number: String,
}

#[derive(Template)]
#[template(path = "staff/temporary_permits.html")]
struct List {
    page: Page,
    filter: Filter,
    statuses: [&'static str; 4],
    permits: Vec<PermitCard>,
    issued: Vec<String>,
    error: Option<String>,
}

async fn list(
    cx: Cx,
    Staff(staff): Staff,
    PageQuery(f): PageQuery<Filter>,
) -> Result<Response, PageError> {
    let who = staff.clone();
    let page = cx.page(Some(staff), "tps-title");
    let q = ListQuery {
        date: Some(f.date.clone()),
        status: Some(f.status.clone()),
        document_number: Some(f.number.clone()),
    };
    let (permits, error) = match tp::list(cx.app(), &who, &q).await {
        Ok(p) => (p, None),
        Err(e) => (Vec::new(), Some(cx.shown_or_fail(e, invalid, &page.path)?)),
    };
    let issued = permits
        .iter()
        .map(|p| beijing(p.issued_at, "%Y-%m-%d %H:%M"))
        .collect();
    Ok(render_with(error, |error| List {
        page,
        filter: f,
        statuses: STATUSES,
        permits: permits.into_iter().map(PermitCard::from).collect(),
        issued,
        error,
    }))
}

#[derive(Template)]
#[template(path = "staff/temporary_permit.html")]
struct Detail {
    page: Page,
    permit: PermitCard,
    reason: Option<String>,
    trail: Vec<StoredAudit>,
    can_revoke: bool,
    notice: Option<String>,
    error: Option<String>,
}

impl Detail {
    fn when(&self, micros: &i64) -> String {
        when_micros(*micros)
    }
}

async fn detail_page(
    cx: &Cx,
    staff: StaffSession,
    id: &str,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let who = staff.clone();
    let mut page = cx.page(Some(staff), "tps-detail-title");
    let (view, trail) = tp::detail(cx.app(), &who, id)
        .await
        .map_err(cx.fail(&page.path))?;
    page.title = format!("{} {}", page.title, view.id);
    Ok(render_with(error, |error| Detail {
        page,
        reason: view.reason.clone(),
        permit: view.into(),
        trail,
        can_revoke: who.role.can(Permission::RevokeTemporaryPermits),
        notice,
        error,
    }))
}

async fn detail(
    cx: Cx,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    detail_page(&cx, staff, &id, None, None).await
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

async fn revoke(
    cx: Cx,
    Staff(staff): Staff,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<RevokeForm>,
) -> Result<Response, PageError> {
    match tp::revoke(cx.app(), &staff, &id, &f.reason).await {
        Ok(()) => {
            let msg = cx.lang.t("tps-revoked");
            detail_page(&cx, staff, &id, Some(msg), None).await
        }
        Err(e) => {
            let err = cx.shown_or_fail(e, invalid_or_conflict, cx.path())?;
            detail_page(&cx, staff, &id, None, Some(err)).await
        }
    }
}
