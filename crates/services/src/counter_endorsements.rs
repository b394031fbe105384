//! Endorsements applied for at a counter: every type (T, S, Q, D and talent as well as G and
//! L), first endorsements and registered state personnel included. The clerk checks the
//! type's documents, takes the fee (cash or terminal), and the endorsement is printed at a
//! kiosk from the day processing ends. A family visit waits for a reviewer to confirm the
//! declared relative; a rejection refunds the fee.

use crate::OnConflict;
use crate::auth::StaffSession;
use crate::endorsement_applications::{self as apps, ApplicationView, holder, subject, view};
use crate::input::RequiredText;
use crate::records;
use crate::{App, Result, ServiceError, audit, online_payments};
use crate::{AtField, ErrorCode};
use chrono::{Duration, NaiveDate};
use exitentry_domain::centre::add_working_days;
use exitentry_domain::endorsements::{
    self as rules, Circumstances, Destination, EndorsementType, Relation, Trips,
};
use exitentry_domain::staff::Permission;
use exitentry_domain::states::EndorsementApplicationState as E;
use exitentry_storage::endorsement_applications::{self as store, ApplicationRow, CounterDetails};
use exitentry_storage::endorsements as endorsements_store;
use exitentry_storage::people;
use serde::Serialize;
use serde_json::json;

/// Processing of a counter endorsement, in working days (DOMAIN.md).
const PROCESSING_WORKING_DAYS: u32 = 7;

fn clerk(staff: &StaffSession) -> Result<String> {
    staff.require(Permission::ServeCounter)?;
    staff.office_code.clone().ok_or(ServiceError::conflict(
        ErrorCode::NoOffice,
        "this account is not assigned to an office",
    ))
}

/// What the clerk sees after typing the identity number: the card, the endorsements on it,
/// the person's applications and what to ask for.
#[derive(Debug, Clone)]
pub struct CounterHolder {
    pub person_id: i64,
    pub id_number: String,
    pub name_zh: Option<String>,
    pub name_latin: String,
    pub card_number: String,
    pub card_expires: String,
    pub first_time: bool,
    pub state_personnel: bool,
    pub scheme_city: bool,
    pub endorsements: Vec<endorsements_store::EndorsementRow>,
    pub applications: Vec<ApplicationView>,
}

/// Finds the holder of a valid card by identity number.
pub async fn lookup(app: &App, staff: &StaffSession, id_number: &str) -> Result<CounterHolder> {
    clerk(staff)?;
    let id_number = id_number.trim().to_ascii_uppercase();
    let mut conn = app.db.conn().await?;
    let person = people::by_id_number(&mut conn, &id_number)
        .await?
        .into_iter()
        .next()
        .ok_or(ServiceError::NotFound("person"))?;
    let h = holder(app, &mut conn, person.id).await?;
    let card = records::document(&mut conn, h.card_id).await?;
    let endorsements = endorsements_store::for_document(&mut conn, h.card_id, None).await?;
    let applications = store::for_person(&mut conn, person.id)
        .await?
        .iter()
        .map(view)
        .collect();
    Ok(CounterHolder {
        person_id: person.id,
        id_number,
        name_zh: person.person.names.zh.clone(),
        name_latin: person.person.names.latin.clone(),
        card_number: card.doc.number.clone(),
        card_expires: h.card_expires.to_string(),
        first_time: !h.applicant.had_endorsement,
        state_personnel: h.applicant.state_personnel,
        scheme_city: h.applicant.hukou_in_scheme_city,
        endorsements,
        applications,
    })
}

/// An application as the clerk enters it.
#[derive(Debug, Clone, Default)]
pub struct CounterRequest {
    pub id_number: String,
    pub destination: String,
    pub kind: String,
    pub validity_months: u32,
    pub trips: String,
    /// T: the relative visited, their name, and whether the long (one-year) variant applies.
    pub relation: String,
    pub relative_name: String,
    pub long_family_visit: bool,
    /// D: the end of the Hong Kong / Macao approval and its stay per trip.
    pub approved_until: String,
    pub stay_days: u32,
    /// The documents the clerk checked.
    pub checklist: Vec<String>,
}

/// The relative a family visit (T) is to.
const RELATIVE_NAME: RequiredText = RequiredText {
    field: "relative_name",
    max: 100,
    code: ErrorCode::BadRelativeName,
    message: "write the name of the relative visited (at most 100 characters)",
};

/// Accepts an endorsement application at the counter, awaiting payment.
pub async fn apply(
    app: &App,
    staff: &StaffSession,
    req: &CounterRequest,
) -> Result<ApplicationView> {
    let office = clerk(staff)?;
    let destination = Destination::parse(&req.destination).at_field("destination")?;
    let kind = EndorsementType::parse(&req.kind).at_field("kind")?;
    let today = app.today();
    let relation = if kind == EndorsementType::T {
        let r = Relation::parse(&req.relation).at_field("relation")?;
        let name = RELATIVE_NAME.check(&req.relative_name)?;
        Some((r, name.to_string()))
    } else {
        None
    };
    let variant = if kind == EndorsementType::D {
        let until: NaiveDate = req.approved_until.trim().parse().map_err(|_| {
            ServiceError::bad_input(
                "approved_until",
                ErrorCode::BadDate,
                "the approval's end date is YYYY-MM-DD",
            )
        })?;
        rules::stay_variant(destination, today, until, req.stay_days).at_field("approved_until")?
    } else {
        let trips = Trips::parse(&req.trips).at_field("trips")?;
        let c = Circumstances {
            relation: relation.as_ref().map(|(r, _)| *r),
            long_family_visit: req.long_family_visit,
        };
        let offered = rules::variants(kind, destination, today, c, &app.policy.endorsements);
        rules::variant_with(offered, req.validity_months, trips).at_field("validity_months")?
    };
    let fixed_until = (kind == EndorsementType::D).then(|| req.approved_until.trim().to_string());
    let until = match &fixed_until {
        Some(f) => f.parse().unwrap_or(today),
        None => apps::valid_until(today, variant.validity_months)?,
    };
    let mut tx = app.db.begin().await?;
    let person = people::by_id_number(&mut tx, &req.id_number.trim().to_ascii_uppercase())
        .await?
        .into_iter()
        .next()
        .ok_or(ServiceError::NotFound("person"))?;
    let h = holder(app, &mut tx, person.id).await?;
    rules::check_counter(&h.applicant, kind).map_err(ServiceError::refused)?;
    let checklist = rules::counter_checklist(kind, h.applicant.state_personnel);
    if let Some(missing) = checklist
        .iter()
        .find(|c| !req.checklist.iter().any(|t| t == *c))
    {
        return Err(ServiceError::bad_input(
            "checklist",
            ErrorCode::ChecklistIncomplete,
            format!("still to check: {missing}"),
        ));
    }
    h.require_card_outlasts(app, until)?;
    if store::open_for(&mut tx, h.card_id, destination.code()).await? > 0 {
        return Err(open_conflict());
    }
    let (holidays, workdays) =
        crate::appointments::working_calendar(&mut tx, &office, today, today + Duration::days(60))
            .await?;
    let ready_on = add_working_days(today, PROCESSING_WORKING_DAYS, &holidays, &workdays);
    let row = apps::new_row(
        app,
        &h,
        &variant,
        "counter",
        CounterDetails {
            office: Some(office.clone()),
            relation: relation.as_ref().map(|(r, _)| r.code().to_string()),
            relative_name: relation.map(|(_, n)| n),
            fixed_until,
            ready_on: Some(ready_on.to_string()),
            reviewed_by: None,
            review_note: None,
        },
    );
    store::insert(&mut tx, &row)
        .await
        .on_conflict(open_conflict)?;
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "endorsement.accept",
        &subject(&row.id),
        json!({"kind": row.kind, "destination": row.destination, "fee_cents": row.fee.cents,
               "office": office, "checklist": checklist, "ready_on": ready_on.to_string()}),
    )
    .await?;
    tx.commit().await?;
    Ok(view(&row))
}

fn open_conflict() -> ServiceError {
    ServiceError::conflict(
        ErrorCode::ApplicationOpen,
        "there is already an endorsement application for this destination waiting",
    )
}

/// An application as staff see it, with who it belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct StaffView {
    pub application: ApplicationView,
    pub id_number: String,
    pub name_zh: Option<String>,
    pub name_latin: String,
    pub card_number: String,
    pub office: Option<String>,
    pub relative_name: Option<String>,
    pub reviewed_by: Option<String>,
}

async fn staff_view(app: &App, a: &ApplicationRow) -> Result<StaffView> {
    let mut conn = app.db.conn().await?;
    let person = records::person(&mut conn, a.person_id).await?;
    let card = records::document(&mut conn, a.document_id).await?;
    Ok(StaffView {
        application: view(a),
        id_number: person.person.id_number.clone(),
        name_zh: person.person.names.zh.clone(),
        name_latin: person.person.names.latin.clone(),
        card_number: card.doc.number.clone(),
        office: a.counter.office.clone(),
        relative_name: a.counter.relative_name.clone(),
        reviewed_by: a.counter.reviewed_by.clone(),
    })
}

async fn row(app: &App, id: &str) -> Result<ApplicationRow> {
    let mut conn = app.db.conn().await?;
    store::get(&mut conn, id)
        .await?
        .ok_or(ServiceError::NotFound("application"))
}

/// One application for the counter (any application: the holder may have applied online and
/// come to pay) or for a reviewer.
pub async fn get(app: &App, staff: &StaffSession, id: &str) -> Result<StaffView> {
    if staff.require(Permission::ServeCounter).is_err() {
        staff.require(Permission::ReviewEndorsements)?;
    }
    staff_view(app, &row(app, id).await?).await
}

/// Takes the fee at the counter: cash at the till or through the terminal.
pub async fn pay(app: &App, staff: &StaffSession, id: &str, method: &str) -> Result<StaffView> {
    clerk(staff)?;
    let a = row(app, id).await?;
    let methods = exitentry_domain::products::Currency::Cny.methods();
    if !methods.contains(&method) {
        return Err(ServiceError::bad_input(
            "method",
            ErrorCode::BadMethod,
            format!("take one of: {}", methods.join(", ")),
        ));
    }
    apps::take_fee(app, &staff.actor(), &a, method).await?;
    staff_view(app, &row(app, id).await?).await
}

/// The reviewer's queue: family visits waiting for the relative to be confirmed, oldest first.
pub async fn review_queue(app: &App, staff: &StaffSession) -> Result<Vec<StaffView>> {
    staff.require(Permission::ReviewEndorsements)?;
    let rows = {
        let mut conn = app.db.conn().await?;
        store::with_status(&mut conn, E::UnderReview, 200).await?
    };
    let mut out = Vec::with_capacity(rows.len());
    for a in &rows {
        out.push(staff_view(app, a).await?);
    }
    Ok(out)
}

/// Confirms or rejects the declared relative; a rejection needs a reason and refunds the fee.
pub async fn review(
    app: &App,
    staff: &StaffSession,
    id: &str,
    approve: bool,
    note: &str,
) -> Result<StaffView> {
    staff.require(Permission::ReviewEndorsements)?;
    let note = note.trim();
    if !approve && note.is_empty() {
        return Err(ServiceError::bad_input(
            "note",
            ErrorCode::ReasonRequired,
            "say why the application is rejected",
        ));
    }
    if note.chars().count() > 500 {
        return Err(ServiceError::bad_input(
            "note",
            ErrorCode::NoteTooLong,
            "the note has at most 500 characters",
        ));
    }
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    let to = if approve {
        E::ReadyToPrint
    } else {
        E::Rejected
    };
    if !store::decide(&mut tx, id, to, &staff.username, note, now).await? {
        let status = store::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound("application"))?
            .status;
        return Err(ServiceError::conflict(
            ErrorCode::NotUnderReview,
            format!("this application is {status}"),
        ));
    }
    let back = if approve {
        None
    } else {
        online_payments::refund(app, &mut tx, &subject(id), "rejected by the reviewer").await?
    };
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        if approve {
            "endorsement.approve"
        } else {
            "endorsement.reject"
        },
        &subject(id),
        json!({"note": note}),
    )
    .await?;
    tx.commit().await?;
    online_payments::give_back(app, back).await;
    staff_view(app, &row(app, id).await?).await
}

/// Whether the person is registered state personnel (shown on the person page).
pub async fn is_state_personnel(app: &App, staff: &StaffSession, person_id: i64) -> Result<bool> {
    staff.require(Permission::SearchRegistry)?;
    let mut conn = app.db.conn().await?;
    Ok(store::is_state_personnel(&mut conn, person_id).await?)
}

/// Where a registration as state personnel comes from.
const REGISTER_REASON: RequiredText = RequiredText {
    field: "reason",
    max: 200,
    code: ErrorCode::ReasonRequired,
    message: "say where the registration comes from (at most 200 characters)",
};

/// Records (or lifts) a person's registration as state personnel, from the register the
/// units send; audited with the reason given.
pub async fn mark_state_personnel(
    app: &App,
    staff: &StaffSession,
    person_id: i64,
    yes: bool,
    reason: &str,
) -> Result<()> {
    staff.require(Permission::RegisterStatePersonnel)?;
    let reason = REGISTER_REASON.check(reason)?;
    let mut tx = app.db.begin().await?;
    let person = records::person(&mut tx, person_id).await?;
    store::set_state_personnel(&mut tx, person_id, yes).await?;
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        if yes {
            "person.state_personnel"
        } else {
            "person.not_state_personnel"
        },
        &format!("person:{}", person.person.external_id),
        json!({"reason": reason}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
