//! Officer pages for temporary e-permits: the list (by issue date, status, document
//! number), a permit with its audit trail, and revocation with a reason.

use super::common::{
    CsrfForm, Cx, PermitCard, beijing, csrf_field, form_fields, invalid, invalid_or_conflict,
    outcome, page_template, when_micros,
};
use crate::AppState;
use crate::error::PageResult;
use crate::extract::PageQuery;
use crate::session::Staff;
use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use exitentry_domain::staff::Permission;
use exitentry_domain::states::TemporaryPermitState;
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

page_template! {
    List = "staff/temporary_permits.html" {
        filter: Filter,
        statuses: [&'static str; 4],
        permits: Vec<PermitCard>,
        issued: Vec<String>,
    }
}

async fn list(cx: Cx, Staff(staff): Staff, PageQuery(f): PageQuery<Filter>) -> PageResult {
    let q = ListQuery {
        date: Some(f.date.clone()),
        status: Some(f.status.clone()),
        document_number: Some(f.number.clone()),
    };
    let (permits, error) = match tp::list(cx.app(), &staff, &q).await {
        Ok(p) => (p, None),
        Err(e) => (Vec::new(), Some(cx.shown_or_fail(e, invalid, &cx.here())?)),
    };
    let cx = cx.or_failed(error);
    let issued = permits
        .iter()
        .map(|p| beijing(p.issued_at, "%Y-%m-%d %H:%M"))
        .collect();
    Ok(cx.render(&List {
        page: cx.page(Some(staff), "tps-title"),
        filter: f,
        statuses: STATUSES,
        permits: permits.into_iter().map(PermitCard::from).collect(),
        issued,
    }))
}

page_template! {
    Detail = "staff/temporary_permit.html" {
        permit: PermitCard,
        reason: Option<String>,
        trail: Vec<StoredAudit>,
        can_revoke: bool,
    }
}

impl Detail {
    fn when(&self, micros: &i64) -> String {
        when_micros(*micros)
    }
}

async fn detail_page(cx: &Cx, staff: StaffSession, id: &str) -> PageResult {
    let who = staff.clone();
    let mut page = cx.page(Some(staff), "tps-detail-title");
    let (view, trail) = tp::detail(cx.app(), &who, id)
        .await
        .map_err(cx.fail(&page.path))?;
    page.title = format!("{} {}", page.title, view.id);
    Ok(cx.render(&Detail {
        page,
        reason: view.reason.clone(),
        permit: view.into(),
        trail,
        can_revoke: who.role.can(Permission::RevokeTemporaryPermits),
    }))
}

async fn detail(cx: Cx, Staff(staff): Staff, Path(id): Path<String>) -> PageResult {
    detail_page(&cx, staff, &id).await
}

form_fields!(RevokeForm {
    /// Why the permit is revoked, in the officer's words.
    reason: String,
});

async fn revoke(
    cx: Cx,
    Staff(staff): Staff,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<RevokeForm>,
) -> PageResult {
    let done = tp::revoke(cx.app(), &staff, &id, &f.reason).await;
    let revoked = |()| cx.lang.t("tps-revoked");
    let outcome = outcome(&cx, done, revoked, invalid_or_conflict, cx.path())?;
    let here = format!("/staff/temporary-permits/{id}");
    detail_page(&cx.at(&here).after(outcome), staff, &id).await
}
