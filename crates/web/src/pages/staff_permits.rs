//! Officer pages for temporary e-permits: the list (by issue date, status, document
//! number), a permit with its audit trail, and revocation with a reason.

use super::common::{CsrfForm, Page, PermitCard, csrf_field, render};
use crate::AppState;
use crate::error::{PageError, message_for, status_for};
use crate::extract::PageQuery;
use crate::i18n::Lang;
use crate::session::Staff;
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use exitentry_domain::staff::Permission;
use exitentry_services::ServiceError;
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
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    PageQuery(f): PageQuery<Filter>,
) -> Result<Response, PageError> {
    let who = staff.clone();
    let page = Page::new(lang, &uri, Some(staff), "tps-title");
    let q = ListQuery {
        date: Some(f.date.clone()),
        status: Some(f.status.clone()),
        document_number: Some(f.number.clone()),
    };
    let (permits, error, status) = match tp::list(&s.app, &who, &q).await {
        Ok(p) => (p, None, StatusCode::OK),
        Err(e @ ServiceError::Invalid { .. }) => {
            (Vec::new(), Some(message_for(&e, lang)), status_for(&e))
        }
        Err(e) => return Err(PageError::at(lang, &page.path)(e)),
    };
    let issued = permits
        .iter()
        .map(|p| super::common::beijing(p.issued_at, "%Y-%m-%d %H:%M"))
        .collect();
    Ok((
        status,
        render(&List {
            page,
            filter: f,
            statuses: STATUSES,
            permits: permits.into_iter().map(PermitCard::from).collect(),
            issued,
            error,
        }),
    )
        .into_response())
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
        super::common::when_micros(*micros)
    }
}

async fn detail_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    staff: StaffSession,
    id: &str,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let who = staff.clone();
    let mut page = Page::new(lang, uri, Some(staff), "tps-detail-title");
    let (view, trail) = tp::detail(&s.app, &who, id)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    page.title = format!("{} {}", page.title, view.id);
    let (status, error) = super::common::status_and_error(error);
    Ok((
        status,
        render(&Detail {
            page,
            reason: view.reason.clone(),
            permit: view.into(),
            trail,
            can_revoke: who.role.can(Permission::RevokeTemporaryPermits),
            notice,
            error,
        }),
    )
        .into_response())
}

async fn detail(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    detail_page(&s, lang, &uri, staff, &id, None, None).await
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

async fn revoke(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<RevokeForm>,
) -> Result<Response, PageError> {
    let path = uri.0.path().to_string();
    match tp::revoke(&s.app, &staff, &id, &f.reason).await {
        Ok(()) => {
            let msg = lang.t("tps-revoked");
            detail_page(&s, lang, &uri, staff, &id, Some(msg), None).await
        }
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            detail_page(&s, lang, &uri, staff, &id, None, err).await
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}
