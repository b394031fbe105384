//! Administration of relying parties: list, create (the key is shown once), revoke a key,
//! disable a partner, and everyone's usage.

use super::common::{
    CsrfForm, Cx, Failed, Outcome, Pairs, StaffWith, csrf_field, form_fields, invalid_or_conflict,
    need, outcome, page_template,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Staff;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use exitentry_domain::partners::{PartnerKind, Scope};
use exitentry_services::ServiceError;
use exitentry_services::auth::StaffSession;
use exitentry_services::partners::{self, NewPartner, PartnerSummary, UsageRow};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PARTNERS, get(list).post(create))
        .route("/staff/admin/partners/revoke-key", post(revoke_key))
        .route("/staff/admin/partners/disable", post(disable))
}

page_template! {
    Partners = "staff/partners.html" {
        partners: Vec<PartnerSummary>,
        usage: Vec<UsageRow>,
        kinds: Vec<&'static str>,
        scopes: Vec<&'static str>,
        new_key: Option<String>,
    }
}

const PARTNERS: &str = "/staff/admin/partners";

/// The list, with what the last action did.
async fn page(cx: &Cx, staff: StaffSession, new_key: Option<String>) -> PageResult {
    let who = staff.clone();
    let page = cx.page(Some(staff), "partners-title");
    let path = page.path.clone();
    let fail = cx.fail(&path);
    let partners = partners::list(cx.app(), &who).await.map_err(&fail)?;
    let usage = partners::all_usage(cx.app(), &who, 7)
        .await
        .map_err(&fail)?;
    Ok(cx.render(&Partners {
        page,
        partners,
        usage,
        kinds: PartnerKind::ALL.iter().map(|k| k.code()).collect(),
        scopes: Scope::ALL.iter().map(|k| k.code()).collect(),
        new_key,
    }))
}

async fn list(cx: Cx, Staff(staff): Staff) -> PageResult {
    // A key just created is shown on the page its form redirected to (and only there).
    let new_key = cx.made::<String>();
    page(&cx, staff, new_key).await
}

/// The list again after an action on it (a refusal is answered 400, whatever its kind).
async fn after(
    cx: &Cx,
    staff: StaffSession,
    new_key: Option<String>,
    outcome: Outcome,
) -> PageResult {
    let outcome = outcome.map_err(|f| Failed {
        status: StatusCode::BAD_REQUEST,
        ..f
    });
    let mut cx = cx.at(PARTNERS).after(outcome);
    if let Some(key) = &new_key {
        cx = cx.showing(key);
    }
    page(&cx, staff, new_key).await
}

csrf_field!(KeyForm, DisableForm);

fn number(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

async fn create(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ManageStaff>,
    // One `scopes` field per ticked box: read the form as pairs to keep all of them.
    CsrfForm(f, _): CsrfForm<Pairs>,
) -> PageResult {
    let new = NewPartner {
        name: f.get("name"),
        kind: f.get("kind"),
        scopes: f.all("scopes").join(","),
        rate_per_second: number(&f.get("rate")),
        daily_quota: number(&f.get("daily_quota")),
        client_cert_sha256: None,
    };
    let done = partners::create(cx.app(), &staff.actor(), &new).await;
    let mut new_key = None;
    let created = |(p, key): (PartnerSummary, String)| {
        new_key = Some(key);
        cx.lang.t_args("partners-created", &[("name", p.name)])
    };
    let outcome = outcome(&cx, done, created, invalid_or_conflict, cx.path())?;
    after(&cx, staff, new_key, outcome).await
}

form_fields!(KeyForm { key_id: String });

async fn revoke_key(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ManageStaff>,
    CsrfForm(f, _): CsrfForm<KeyForm>,
) -> PageResult {
    let done = partners::revoke_key(cx.app(), &staff.actor(), &f.key_id).await;
    let key = ("key", f.key_id.trim().to_string());
    acted(&cx, staff, done, "partners-key-revoked", key).await
}

form_fields!(DisableForm { name: String });

async fn disable(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ManageStaff>,
    CsrfForm(f, _): CsrfForm<DisableForm>,
) -> PageResult {
    let done = partners::disable(cx.app(), &staff.actor(), &f.name).await;
    let name = ("name", f.name.trim().to_string());
    acted(&cx, staff, done, "partners-disabled", name).await
}

/// The list after revoking a key or disabling a partner: the notice (`notice` with the one
/// argument `arg`), or why not.
async fn acted(
    cx: &Cx,
    staff: StaffSession,
    done: Result<(), ServiceError>,
    notice: &str,
    arg: (&'static str, String),
) -> PageResult {
    let notice = |()| cx.lang.t_args(notice, &[arg]);
    after(
        cx,
        staff,
        None,
        outcome(cx, done, notice, |_| true, PARTNERS)?,
    )
    .await
}
