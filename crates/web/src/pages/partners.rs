//! Administration of relying parties: list, create (the key is shown once), revoke a key,
//! disable a partner, and everyone's usage.

use super::common::{CsrfForm, Page, Pairs, StaffWith, csrf_field, need, render};
use crate::AppState;
use crate::error::{PageError, message_for};
use crate::i18n::Lang;
use crate::session::Staff;
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use exitentry_domain::partners::{PartnerKind, Scope};
use exitentry_services::ServiceError;
use exitentry_services::auth::StaffSession;
use exitentry_services::partners::{self, NewPartner, PartnerSummary, UsageRow};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/admin/partners", get(list).post(create))
        .route("/staff/admin/partners/revoke-key", post(revoke_key))
        .route("/staff/admin/partners/disable", post(disable))
}

#[derive(Template)]
#[template(path = "staff/partners.html")]
struct Partners {
    page: Page,
    partners: Vec<PartnerSummary>,
    usage: Vec<UsageRow>,
    kinds: Vec<&'static str>,
    scopes: Vec<&'static str>,
    new_key: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

async fn page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    staff: StaffSession,
    new_key: Option<String>,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let who = staff.clone();
    let page = Page::new(lang, uri, Some(staff), "partners-title");
    let path = page.path.clone();
    let fail = PageError::at(lang, &path);
    let partners = partners::list(&s.app, &who).await.map_err(&fail)?;
    let usage = partners::all_usage(&s.app, &who, 7).await.map_err(&fail)?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        render(&Partners {
            page,
            partners,
            usage,
            kinds: PartnerKind::ALL.iter().map(|k| k.code()).collect(),
            scopes: Scope::ALL.iter().map(|k| k.code()).collect(),
            new_key,
            notice,
            error,
        }),
    )
        .into_response())
}

async fn list(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
) -> Result<Response, PageError> {
    page(&s, lang, &uri, staff, None, None, None).await
}

csrf_field!(KeyForm, DisableForm);

struct CreateForm {
    name: String,
    kind: String,
    /// The ticked scope boxes.
    scopes: Vec<String>,
    rate: String,
    daily_quota: String,
}

fn number(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

async fn create(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ManageStaff>,
    // One `scopes` field per ticked box: read the form as pairs to keep all of them.
    CsrfForm(pairs, _): CsrfForm<Pairs>,
) -> Result<Response, PageError> {
    let path = uri.0.path().to_string();
    let get = |k: &str| pairs.get(k);
    let f = CreateForm {
        name: get("name"),
        kind: get("kind"),
        scopes: pairs
            .iter()
            .filter(|(k, _)| k == "scopes")
            .map(|(_, v)| v.clone())
            .collect(),
        rate: get("rate"),
        daily_quota: get("daily_quota"),
    };
    let new = NewPartner {
        name: f.name,
        kind: f.kind,
        scopes: f.scopes.join(","),
        rate_per_second: number(&f.rate),
        daily_quota: number(&f.daily_quota),
        client_cert_sha256: None,
    };
    match partners::create(&s.app, &staff.actor(), &new).await {
        Ok((p, key)) => {
            let msg = lang.t_args("partners-created", &[("name", p.name)]);
            page(&s, lang, &uri, staff, Some(key), Some(msg), None).await
        }
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let msg = message_for(&e, lang);
            page(&s, lang, &uri, staff, None, None, Some(msg)).await
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}

#[derive(Deserialize)]
struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key_id: String,
}

async fn revoke_key(
    State(s): State<AppState>,
    lang: Lang,
    StaffWith(staff, _): StaffWith<need::ManageStaff>,
    CsrfForm(f, _): CsrfForm<KeyForm>,
) -> Result<Response, PageError> {
    let uri = OriginalUri("/staff/admin/partners".parse().unwrap_or_default());
    match partners::revoke_key(&s.app, &staff.actor(), &f.key_id).await {
        Ok(()) => {
            let msg = lang.t_args(
                "partners-key-revoked",
                &[("key", f.key_id.trim().to_string())],
            );
            page(&s, lang, &uri, staff, None, Some(msg), None).await
        }
        Err(e) => {
            let msg = message_for(&e, lang);
            page(&s, lang, &uri, staff, None, None, Some(msg)).await
        }
    }
}

#[derive(Deserialize)]
struct DisableForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

async fn disable(
    State(s): State<AppState>,
    lang: Lang,
    StaffWith(staff, _): StaffWith<need::ManageStaff>,
    CsrfForm(f, _): CsrfForm<DisableForm>,
) -> Result<Response, PageError> {
    let uri = OriginalUri("/staff/admin/partners".parse().unwrap_or_default());
    match partners::disable(&s.app, &staff.actor(), &f.name).await {
        Ok(()) => {
            let msg = lang.t_args("partners-disabled", &[("name", f.name.trim().to_string())]);
            page(&s, lang, &uri, staff, None, Some(msg), None).await
        }
        Err(e) => {
            let msg = message_for(&e, lang);
            page(&s, lang, &uri, staff, None, None, Some(msg)).await
        }
    }
}
