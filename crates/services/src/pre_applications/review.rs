//! Review by CTS staff: the queue, claim, decisions (approve, supplement, refuse), and the
//! approved pre-application the counter accepts against.

use super::*;
use crate::ErrorCode;
use crate::auth::StaffSession;
use crate::email::{self, Email};
use crate::input::RequiredText;
use crate::{App, Result, ServiceError};
use exitentry_domain::hrp::{self};
use exitentry_domain::staff::Permission;
use exitentry_domain::states::PreApplicationState;
use exitentry_storage::AnyConnection;
use exitentry_storage::pre_applications::{self as store, ApplicationRow};

/// The review queue: submitted applications, oldest first, and those this reviewer holds.
pub async fn queue(app: &App, staff: &StaffSession) -> Result<(Vec<Summary>, Vec<Summary>)> {
    staff.require(Permission::ReviewPreApplications)?;
    let mut conn = app.db.conn().await?;
    let waiting = store::with_status(&mut conn, PreApplicationState::Submitted, 200).await?;
    let mine = store::with_status(&mut conn, PreApplicationState::InReview, 500)
        .await?
        .into_iter()
        .filter(|a| a.claimed_by.as_deref() == Some(staff.username.as_str()))
        .collect::<Vec<_>>();
    Ok((
        waiting.iter().map(summary).collect(),
        mine.iter().map(summary).collect(),
    ))
}

pub async fn staff_get(app: &App, staff: &StaffSession, id: &str) -> Result<Detail> {
    if staff.require(Permission::ReviewPreApplications).is_err() {
        staff.require(Permission::ServeCounter)?;
    }
    let mut conn = app.db.conn().await?;
    let a = staff_visible(store::get(&mut conn, id).await?)?;
    drop(conn);
    detail(app, &a, true).await
}

/// An application as staff may see it: a draft is the applicant's alone (form and passport
/// scan included) until it is submitted, so staff get "not found" as for any unknown id.
pub(super) fn staff_visible(a: Option<ApplicationRow>) -> Result<ApplicationRow> {
    a.filter(|a| a.status != PreApplicationState::Draft)
        .ok_or(ServiceError::NotFound("application"))
}

/// Takes a submitted application to review; two reviewers never both get it.
pub async fn claim(app: &App, staff: &StaffSession, id: &str) -> Result<Detail> {
    staff.require(Permission::ReviewPreApplications)?;
    let mut tx = app.db.begin().await?;
    let a = store::get(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound("application"))?;
    if !store::claim(&mut tx, id, &staff.username, app.now_micros()).await? {
        return Err(ServiceError::conflict(
            ErrorCode::AlreadyClaimed,
            format!("this application is {}", a.status),
        ));
    }
    event(
        &mut tx,
        app,
        &a,
        Step::new(a.round, "claimed", &staff.actor()),
    )
    .await?;
    tx.commit().await?;
    staff_get(app, staff, id).await
}

/// A reviewer's decision.
#[derive(Debug, Clone)]
pub enum Decision {
    Approve,
    RequestSupplements { items: Vec<String>, note: String },
    Reject { reason: String },
}

/// Why a pre-application is rejected (the applicant reads it).
const REJECTION_REASON: RequiredText = RequiredText {
    field: "reason",
    max: 1000,
    code: ErrorCode::ReasonRequired,
    message: "say why the application is rejected (at most 1000 characters)",
};

/// Decides a claimed application and emails the applicant in their language.
pub async fn decide(app: &App, staff: &StaffSession, id: &str, d: &Decision) -> Result<Detail> {
    staff.require(Permission::ReviewPreApplications)?;
    let (to, items, note) = match d {
        Decision::Approve => (PreApplicationState::Approved, Vec::new(), String::new()),
        Decision::RequestSupplements { items, note } => {
            let items = hrp::check_supplement(items, note)
                .map_err(|e| ServiceError::invalid("items", e))?;
            (
                PreApplicationState::SupplementRequested,
                items,
                note.trim().to_string(),
            )
        }
        Decision::Reject { reason } => {
            let r = REJECTION_REASON.check(reason)?;
            (PreApplicationState::Rejected, Vec::new(), r.to_string())
        }
    };
    let mut tx = app.db.begin().await?;
    let a = store::get(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound("application"))?;
    if !store::decide(&mut tx, id, &staff.username, to, app.now_micros()).await? {
        return Err(ServiceError::conflict(
            ErrorCode::NotClaimedByYou,
            "claim this application first (it may be with another reviewer)",
        ));
    }
    // The event is named after the decision's state.
    let actor = staff.actor();
    let step = Step {
        items: &items,
        note: &note,
        ..Step::new(a.round, to.code(), &actor)
    };
    event(&mut tx, app, &a, step).await?;
    let account = account_by_id(&mut tx, a.account_id).await?;
    let mail = match d {
        Decision::Approve => Email::Approved {
            reference: a.reference.clone(),
            booking_link: email::link(app, &format!("/apply/applications/{}/book", a.id)),
        },
        Decision::RequestSupplements { .. } => Email::SupplementRequested {
            reference: a.reference.clone(),
            items: items
                .iter()
                .map(|i| supplement_text(i, mail_lang(&account.lang)).to_string())
                .collect(),
            note: (!note.is_empty()).then(|| note.clone()),
            link: email::link(app, &format!("/apply/applications/{}", a.id)),
        },
        Decision::Reject { .. } => Email::Rejected {
            reference: a.reference.clone(),
            reason: note.clone(),
        },
    };
    mail_account(app, &mut tx, &account, &mail).await?;
    tx.commit().await?;
    staff_get(app, staff, id).await
}

/// The approved pre-application of this identity card, if any (booking and the counter
/// need one). Only the latest approval counts: an older one, still unused, was overtaken
/// by it, and once the latest is used there is none until the next.
pub async fn approved_for(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
) -> Result<Option<ApplicationRow>> {
    Ok(store::latest_granted_for(conn, id_kind, id_number)
        .await?
        .filter(|a| a.status == PreApplicationState::Approved))
}

/// Marks the approved pre-application used by the centre application `by` (once).
pub async fn mark_used(conn: &mut AnyConnection, id: &str, by: &str, now: i64) -> Result<bool> {
    Ok(store::mark_used(conn, id, by, now).await?)
}

/// Where to email the holder of this identity card about their permit: the account of the
/// latest approved (or used) pre-application (address and language), if any.
pub async fn contact_for(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
) -> Result<Option<(String, email::Lang)>> {
    let Some(a) = store::latest_granted_for(conn, id_kind, id_number).await? else {
        return Ok(None);
    };
    Ok(store::account_by_id(conn, a.account_id)
        .await?
        .map(|acc| (acc.email, mail_lang(&acc.lang))))
}
