//! Endorsements at the counter: the clerk looks the holder up by identity number, enters any
//! type of endorsement with its documents checked, takes the fee and hands over the receipt;
//! reviewers confirm or reject the relative declared for a family visit.

use super::common::{
    Back, CounterPayment, CsrfForm, Cx, OfficeNames, Page, Pairs, StaffWith, Up, csrf_field,
    form_fields, need, page_template, redirect_or_again, render,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Staff;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use exitentry_domain::endorsements::{
    Circumstances, Destination, EndorsementType, Relation, counter_checklist, variants,
};
use exitentry_domain::staff::Permission;
use exitentry_domain::states::EndorsementApplicationState;
use exitentry_services::ServiceError;
use exitentry_services::auth::StaffSession;
use exitentry_services::counter_endorsements::{
    self as counter, CounterHolder, CounterRequest, StaffView,
};
use serde::Deserialize;

/// An endorsement application's counter page, for the reviewer's form
/// (`/staff/endorsements/{id}/review` answers for `/staff/centre/endorsements/{id}`).
struct CentreEndorsement;

impl Back for CentreEndorsement {
    fn path(request_path: &str) -> String {
        let id = request_path.split('/').nth(3).unwrap_or_default();
        format!("/staff/centre/endorsements/{id}")
    }
}

csrf_field!(ReviewForm, StatePersonnelForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LOOKUP, get(lookup).post(apply))
        .route("/staff/centre/endorsements/{id}", get(show))
        .route("/staff/centre/endorsements/{id}/pay", post(pay))
        .route("/staff/endorsements/review", get(queue))
        .route("/staff/endorsements/{id}/review", post(review))
        .route("/staff/people/{id}/state-personnel", post(state_personnel))
}

/// `12:multiple` as "12 months · multiple trips" in the reader's language.
fn variant_label(page: &Page, v: &str) -> String {
    let (months, trips) = v.split_once(':').unwrap_or((v, ""));
    format!(
        "{months} {} · {}",
        page.t("variant-months"),
        page.code("trips", trips)
    )
}

/// Errors a clerk or reviewer can act on stay on the page.
fn inline(e: &ServiceError) -> bool {
    matches!(
        e,
        ServiceError::Invalid { .. } | ServiceError::Conflict { .. } | ServiceError::NotFound(_)
    )
}

/// What the clerk typed, kept when the form comes back with an error.
#[derive(Default, Clone)]
struct Draft {
    destination: String,
    kind: String,
    variant: String,
    relation: String,
    relative_name: String,
    long_family_visit: bool,
    approved_until: String,
    stay_days: String,
    ticked: Vec<String>,
}

page_template! {
    Lookup = "centre/endorsement_counter.html" {
        csrf: String,
        id_number: String,
        holder: Option<CounterHolder>,
        /// The type chosen (the form shows its fields and checklist), or empty.
        kind: &'static str,
        kinds: Vec<&'static str>,
        relations: Vec<&'static str>,
        variants: Vec<String>,
        checklist: Vec<&'static str>,
        draft: Draft,
    }
}

#[derive(Deserialize, Default)]
struct LookupQuery {
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    kind: String,
}

/// Validity and trips a type can have (as `months:trips`, for any destination and relative);
/// the service checks the choice against the destination and the relative.
fn variant_choices(s: &AppState, kind: EndorsementType) -> Vec<String> {
    let today = s.app.today();
    let mut out: Vec<(u32, String)> = Vec::new();
    for dest in Destination::ALL {
        let mut circumstances = vec![Circumstances::default()];
        for r in Relation::ALL {
            circumstances.push(Circumstances {
                relation: Some(r),
                long_family_visit: true,
            });
        }
        for c in circumstances {
            for v in variants(kind, dest, today, c, &s.app.policy.endorsements) {
                let key = (
                    v.validity_months,
                    format!("{}:{}", v.validity_months, v.trips.code()),
                );
                if !out.contains(&key) {
                    out.push(key);
                }
            }
        }
    }
    out.sort();
    out.into_iter().map(|(_, k)| k).collect()
}

const LOOKUP: &str = "/staff/centre/endorsements";

async fn lookup_page(cx: &Cx, staff: StaffSession, q: &LookupQuery, draft: Draft) -> PageResult {
    let (holder, refusal) = if q.id_number.trim().is_empty() {
        (None, None)
    } else {
        match counter::lookup(cx.app(), &staff, &q.id_number).await {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(cx.shown_or_fail(e, inline, LOOKUP)?)),
        }
    };
    let cx = cx.or_failed(refusal);
    let kind = EndorsementType::parse(&q.kind).ok();
    let checklist = kind
        .map(|k| counter_checklist(k, holder.as_ref().is_some_and(|h| h.state_personnel)))
        .unwrap_or_default();
    let variants = kind.map(|k| variant_choices(&cx.s, k)).unwrap_or_default();
    Ok(cx.render(&Lookup {
        csrf: staff.csrf_token.clone(),
        page: cx.page(Some(staff), "cend-title"),
        id_number: q.id_number.trim().to_ascii_uppercase(),
        holder,
        kind: kind.map(|k| k.code()).unwrap_or_default(),
        kinds: EndorsementType::ALL.iter().map(|k| k.code()).collect(),
        relations: Relation::ALL.iter().map(|r| r.code()).collect(),
        variants,
        checklist,
        draft,
    }))
}

async fn lookup(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
    Query(q): Query<LookupQuery>,
) -> PageResult {
    // An application the rules refused comes back with the person and what was entered.
    match cx.kept::<Pairs>() {
        Some(pairs) => {
            let q = LookupQuery {
                id_number: pairs.get("id_number"),
                kind: pairs.get("kind"),
            };
            lookup_page(&cx, staff, &q, draft_of(&pairs)).await
        }
        None => lookup_page(&cx, staff, &q, Draft::default()).await,
    }
}

/// What the clerk entered in the application form.
fn draft_of(pairs: &Pairs) -> Draft {
    let get = |k: &str| pairs.get(k);
    Draft {
        destination: get("destination"),
        kind: get("kind"),
        variant: get("variant"),
        relation: get("relation"),
        relative_name: get("relative_name"),
        long_family_visit: get("long_family_visit") == "1",
        approved_until: get("approved_until"),
        stay_days: get("stay_days"),
        ticked: pairs.all("checklist"),
    }
}

async fn apply(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
    CsrfForm(pairs, _): CsrfForm<Pairs>,
) -> PageResult {
    let get = |k: &str| pairs.get(k);
    let draft = draft_of(&pairs);
    let (months, trips) = draft.variant.split_once(':').unwrap_or(("", ""));
    let req = CounterRequest {
        id_number: get("id_number"),
        destination: draft.destination.clone(),
        kind: draft.kind.clone(),
        validity_months: months.parse().unwrap_or(0),
        trips: trips.to_string(),
        relation: draft.relation.clone(),
        relative_name: draft.relative_name.clone(),
        long_family_visit: draft.long_family_visit,
        approved_until: draft.approved_until.clone(),
        stay_days: draft.stay_days.trim().parse().unwrap_or(0),
        checklist: draft.ticked.clone(),
    };
    let q = LookupQuery {
        id_number: req.id_number.clone(),
        kind: req.kind.clone(),
    };
    redirect_or_again(
        &cx,
        counter::apply(cx.app(), &staff, &req).await,
        |a| format!("{LOOKUP}/{}", a.id),
        inline,
        async |cx| lookup_page(cx, staff, &q, draft).await,
        LOOKUP,
    )
    .await
}

page_template! {
    Show = "centre/endorsement_application.html" {
        v: StaffView,
        csrf: String,
        can_pay: bool,
        can_review: bool,
        methods: &'static [&'static str],
    }
}

/// The applications' offices by their names in the reader's language, never their codes.
async fn office_names(cx: &Cx, list: &mut [StaffView]) {
    let names = OfficeNames::of(cx, list.iter().filter_map(|v| v.office.as_deref())).await;
    for v in list {
        v.office = v.office.as_deref().map(|o| names.name(o));
    }
}

async fn show_page(cx: &Cx, staff: StaffSession, id: &str) -> PageResult {
    let v = counter::get(cx.app(), &staff, id)
        .await
        .map_err(cx.fail(&format!("{LOOKUP}/{id}")))?;
    let mut list = [v];
    office_names(cx, &mut list).await;
    let [v] = list;
    Ok(cx.render(&Show {
        csrf: staff.csrf_token.clone(),
        can_pay: staff.role.can(Permission::ServeCounter),
        can_review: staff.role.can(Permission::ReviewEndorsements),
        methods: exitentry_domain::products::Currency::Cny.methods(),
        page: cx.page(Some(staff), "cend-application"),
        v,
    }))
}

async fn show(cx: Cx, Staff(staff): Staff, Path(id): Path<String>) -> PageResult {
    show_page(&cx, staff, &id).await
}

async fn pay(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ServeCounter, Up>,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<CounterPayment, Up>,
) -> PageResult {
    let path = format!("{LOOKUP}/{id}");
    redirect_or_again(
        &cx,
        counter::pay(cx.app(), &staff, &id, &f.method).await,
        |_| path.to_string(),
        |e| inline(e) || matches!(e, ServiceError::Unavailable { .. }),
        async |cx| show_page(cx, staff, &id).await,
        &path,
    )
    .await
}

page_template! {
    Queue = "staff/endorsement_reviews.html" {
        list: Vec<StaffView>,
    }
}

const REVIEWS: &str = "/staff/endorsements/review";

async fn queue(cx: Cx, StaffWith(staff, _): StaffWith<need::ReviewEndorsements>) -> PageResult {
    let mut list = counter::review_queue(cx.app(), &staff)
        .await
        .map_err(cx.fail(REVIEWS))?;
    office_names(&cx, &mut list).await;
    Ok(render(&Queue {
        page: cx.page(Some(staff), "cend-review-title"),
        list,
    }))
}

form_fields!(ReviewForm {
    decision: String,
    note: String,
});

async fn review(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ReviewEndorsements, CentreEndorsement>,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<ReviewForm, CentreEndorsement>,
) -> PageResult {
    redirect_or_again(
        &cx,
        counter::review(cx.app(), &staff, &id, f.decision == "approve", &f.note).await,
        |_| REVIEWS.to_string(),
        inline,
        async |cx| show_page(cx, staff, &id).await,
        &format!("{LOOKUP}/{id}"),
    )
    .await
}

form_fields!(StatePersonnelForm {
    registered: String,
    reason: String,
});

async fn state_personnel(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::RegisterStatePersonnel, Up>,
    Path(id): Path<i64>,
    CsrfForm(f, _): CsrfForm<StatePersonnelForm, Up>,
) -> PageResult {
    let path = format!("/staff/people/{id}");
    counter::mark_state_personnel(cx.app(), &staff, id, f.registered == "1", &f.reason)
        .await
        .map_err(cx.fail(&path))?;
    Ok(Redirect::to(&path).into_response())
}
