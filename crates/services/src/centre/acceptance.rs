//! Counter acceptance: the person a ticket is for, the rules of the product, which
//! document an application replaces.

use super::*;
use crate::OnConflict;
use crate::auth::StaffSession;
use crate::records;
use crate::tokens::random_token;
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use chrono::{DateTime, FixedOffset};
use exitentry_domain::document::{DocumentStatus, age_on};
use exitentry_domain::products::{self, IssueReason, Money, Product};
use exitentry_domain::states::{CentreApplicationState, TicketState};
use exitentry_storage::centre::{self as store, ApplicationRow, TicketRow};
use exitentry_storage::documents::{self};
use exitentry_storage::{AnyConnection, people};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, Default)]
pub struct AcceptRequest {
    pub ticket_id: i64,
    pub product: String,
    pub checklist: Vec<String>,
    pub photo_receipt: String,
    /// For applicants without an appointment: their identity number, from the ID card.
    pub id_number: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApplicationView {
    pub id: String,
    pub reference: String,
    pub office_code: String,
    pub product: String,
    pub status: CentreApplicationState,
    pub applicant: String,
    pub id_number_masked: String,
    pub fee: String,
    pub fee_cents: i64,
    pub currency: String,
    pub methods: Vec<String>,
    pub collection_date: Option<String>,
    pub accepted_at: DateTime<FixedOffset>,
    pub accepted_by: String,
    pub paid: Option<PaymentView>,
    pub old_document: Option<String>,
    pub new_document: Option<String>,
    pub photo_id: Option<i64>,
    pub ready_at: Option<DateTime<FixedOffset>>,
    pub collected_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PaymentView {
    pub id: String,
    pub method: String,
    pub amount: String,
    pub provider_ref: Option<String>,
    pub paid_at: Option<DateTime<FixedOffset>>,
    pub taken_by: String,
}

pub(super) fn mask_id(n: &str) -> String {
    let chars: Vec<char> = n.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 3 || i >= chars.len() - 3 {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

pub(super) async fn application_view(
    conn: &mut AnyConnection,
    a: &ApplicationRow,
) -> Result<ApplicationView> {
    let person = records::person(conn, a.person_id).await?;
    let currency = a.fee.currency;
    let paid = store::paid_payment(conn, &a.id)
        .await?
        .map(|p| PaymentView {
            // In the application's currency, as the fee (a payment never changes it).
            amount: Money {
                cents: p.amount.cents,
                currency,
            }
            .to_string(),
            id: p.id,
            method: p.method,
            provider_ref: p.provider_ref,
            paid_at: p.paid_at.map(local),
            taken_by: p.taken_by,
        });
    let old_document = match a.old_document_id {
        Some(id) => documents::get(conn, id).await?.map(|d| d.doc.number),
        None => None,
    };
    let name = person
        .person
        .names
        .zh
        .clone()
        .map(|zh| format!("{zh} {}", person.person.names.latin))
        .unwrap_or_else(|| person.person.names.latin.clone());
    Ok(ApplicationView {
        id: a.id.clone(),
        reference: a.reference.clone(),
        office_code: a.office_code.clone(),
        product: a.product.clone(),
        status: a.status,
        applicant: name,
        id_number_masked: mask_id(&person.person.id_number),
        fee: a.fee.to_string(),
        fee_cents: a.fee.cents,
        currency: currency.code().to_string(),
        methods: currency.methods().iter().map(|m| m.to_string()).collect(),
        collection_date: a.collection_date.clone(),
        accepted_at: local(a.accepted_at),
        accepted_by: a.accepted_by.clone(),
        paid,
        old_document,
        new_document: a.new_document_number.clone(),
        photo_id: a.photo_id,
        ready_at: a.ready_at.map(local),
        collected_at: a.collected_at.map(local),
    })
}

/// The person a ticket is for: its appointment's applicant, or the identity number the
/// clerk read from the ID card.
pub(super) async fn person_for(
    conn: &mut AnyConnection,
    t: &TicketRow,
    id_number: Option<&str>,
) -> Result<i64> {
    if let Some(id) = t.person_id {
        return Ok(id);
    }
    let n = id_number
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ServiceError::bad_input(
                "id_number",
                ErrorCode::IdNumberRequired,
                "enter the applicant's identity number",
            )
        })?;
    // As typed from the card: `A123456(3)` is stored `A1234563`.
    let n: String = n
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase();
    let found = people::by_id_number(conn, &n).await?;
    match found.as_slice() {
        [p] => Ok(p.id),
        [] => Err(ServiceError::bad_input(
            "id_number",
            ErrorCode::PersonNotFound,
            "nobody with this identity number is in the registry",
        )),
        _ => Err(ServiceError::bad_input(
            "id_number",
            ErrorCode::AmbiguousIdNumber,
            "several people have this number; search the registry",
        )),
    }
}

/// The approved online pre-application a non-Chinese permit is accepted against.
pub(super) struct PreApproved {
    pub(super) person_id: i64,
    pub(super) row: exitentry_storage::pre_applications::ApplicationRow,
    pub(super) applicant: exitentry_domain::hrp::Applicant,
}

/// The applicant for the non-Chinese permit: accepted only against an approved online
/// pre-application for this identity card; the registry entry is made from it the first
/// time (the applicant is not in the registry before).
pub(super) async fn person_from_pre_application(
    app: &App,
    conn: &mut AnyConnection,
    t: &TicketRow,
    id_number: Option<&str>,
) -> Result<PreApproved> {
    use exitentry_domain::ids::{IdKind, IdentityNumber};
    let typed = match t.person_id {
        Some(id) => people::get(conn, id)
            .await?
            .map(|p| p.person.id_number)
            .unwrap_or_default(),
        None => id_number.unwrap_or_default().to_string(),
    };
    if typed.trim().is_empty() {
        return Err(ServiceError::bad_input(
            "id_number",
            ErrorCode::IdNumberRequired,
            "enter the applicant's identity number",
        ));
    }
    let mut approved = None;
    for kind in [IdKind::Hkid, IdKind::MacaoId] {
        if let Ok(n) = IdentityNumber::parse(kind, &typed, app.today())
            && let Some(a) =
                crate::pre_applications::approved_for(conn, kind.code(), n.as_str()).await?
        {
            approved = Some((kind, n, a));
            break;
        }
    }
    let Some((kind, number, pre)) = approved else {
        return Err(ServiceError::conflict(
            ErrorCode::PreApplicationNotApproved,
            "no approved online pre-application for this identity card",
        ));
    };
    let form: exitentry_domain::hrp::Form = serde_json::from_str(&pre.form).unwrap_or_default();
    let applicant = exitentry_domain::hrp::check(&form, app.today()).map_err(|_| {
        ServiceError::conflict(
            ErrorCode::PreApplicationIncomplete,
            "the approved pre-application no longer passes the checks (passport validity?)",
        )
    })?;
    let known = |found: Vec<people::StoredPerson>| {
        found
            .into_iter()
            .find(|p| p.person.id_kind == kind)
            .map(|p| p.id)
    };
    if let Some(person_id) = known(people::by_id_number(conn, number.as_str()).await?) {
        return Ok(PreApproved {
            person_id,
            row: pre,
            applicant,
        });
    }
    let record = exitentry_storage::people::PersonRecord {
        external_id: format!("hrpn-{}", pre.reference.to_ascii_lowercase()),
        names: applicant.names.clone(),
        sex: applicant.sex,
        date_of_birth: applicant.date_of_birth,
        region: if kind == IdKind::Hkid {
            exitentry_domain::person::Region::HongKong
        } else {
            exitentry_domain::person::Region::Macao
        },
        nationality: applicant.nationality.clone(),
        id_kind: kind,
        id_number: number.as_str().to_string(),
        hukou_area: None,
    };
    // Two counters accepting the same applicant at once: the second registry entry is
    // refused by the unique index, and that counter is told why.
    people::insert_new(conn, std::slice::from_ref(&record), app.now_micros())
        .await
        .on_conflict(|| {
            ServiceError::conflict(
                ErrorCode::ApplicationOpen,
                "another counter is accepting this applicant right now",
            )
        })?;
    let person_id = known(people::by_id_number(conn, number.as_str()).await?)
        .ok_or(ServiceError::NotFound("person"))?;
    Ok(PreApproved {
        person_id,
        row: pre,
        applicant,
    })
}

/// A pre-application for a replacement declares the permit it names lost or damaged; the
/// counter records that on acceptance (audited), so the replacement rules see it.
pub(super) async fn declare_for_replacement(
    app: &App,
    conn: &mut AnyConnection,
    staff: &StaffSession,
    person_id: i64,
    pre: &PreApproved,
) -> Result<()> {
    use exitentry_domain::hrp::Purpose;
    let to = match pre.applicant.purpose {
        Purpose::ReplacementLost => DocumentStatus::ReportedLost,
        Purpose::ReplacementDamaged => DocumentStatus::Damaged,
        Purpose::First | Purpose::Renewal => return Ok(()),
    };
    let Some(number) = &pre.applicant.current_permit else {
        return Ok(());
    };
    let current = documents::for_person(conn, person_id)
        .await?
        .into_iter()
        .filter(|d| d.doc.number == number.as_str() && d.doc.status == DocumentStatus::Valid)
        .max_by_key(|d| d.doc.issued_on);
    if let Some(d) = current
        && documents::change_status(conn, d.id, DocumentStatus::Valid, to, app.now_micros()).await?
    {
        audit::record(
            app,
            conn,
            &staff.actor(),
            "document.declared",
            &format!("document:{}", d.doc.number),
            json!({"status": to.code(), "pre_application": pre.row.reference}),
        )
        .await?;
    }
    Ok(())
}

/// Which document the application replaces, by its reason; refuses what the rules forbid.
pub(super) async fn old_document_for(
    app: &App,
    conn: &mut AnyConnection,
    person_id: i64,
    product: &Product,
) -> Result<Option<i64>> {
    let docs = documents::for_person(conn, person_id).await?;
    let today = app.today();
    let of_kind: Vec<_> = docs
        .iter()
        .filter(|d| d.doc.kind == product.issues)
        .collect();
    // The newest card of the kind that reads as `status` today.
    let newest_in = |status: DocumentStatus| {
        of_kind
            .iter()
            .filter(|d| app.document_status(&d.doc, today) == status)
            .max_by_key(|d| d.doc.issued_on)
    };
    let valid = newest_in(DocumentStatus::Valid);
    // A number kept for life (the home return permits) stays the holder's after the card
    // expires: an expired card is renewed under its number, never replaced by a first one
    // (docs/adr/0005-expired-permits-keep-their-number.md).
    let expired_for_life = product
        .issues
        .has_issue_count()
        .then(|| newest_in(DocumentStatus::Expired))
        .flatten();
    match product.reason {
        IssueReason::First => match (valid, expired_for_life) {
            (Some(_), _) => Err(ServiceError::conflict(
                ErrorCode::HoldsValidDocument,
                "the applicant already holds a valid document of this kind; apply for a renewal",
            )),
            (None, Some(_)) => Err(ServiceError::conflict(
                ErrorCode::RenewExpiredDocument,
                "the applicant's permit has expired; apply for a renewal: the number is kept for life",
            )),
            (None, None) => Ok(None),
        },
        IssueReason::Renewal => match valid.or(expired_for_life) {
            Some(d) => Ok(Some(d.id)),
            None => Err(ServiceError::conflict(
                ErrorCode::NothingToRenew,
                "the applicant holds no valid document of this kind; apply for a first one",
            )),
        },
        IssueReason::Replacement => {
            let lost = of_kind
                .iter()
                .filter(|d| {
                    matches!(
                        d.doc.status,
                        DocumentStatus::ReportedLost | DocumentStatus::Damaged
                    )
                })
                .max_by_key(|d| d.doc.issued_on);
            match (lost, valid) {
                (Some(d), None) => Ok(Some(d.id)),
                (_, Some(_)) => Err(ServiceError::conflict(
                    ErrorCode::HoldsValidDocument,
                    "the current document is valid; report it lost or damaged first",
                )),
                (None, None) => Err(ServiceError::conflict(
                    ErrorCode::NothingToReplace,
                    "no lost or damaged document of this kind is on record",
                )),
            }
        }
    }
}

/// Accepts the application of the ticket being served: checklist complete, photo receipt
/// scanned, the rules of the product met. Finishes the ticket.
pub async fn accept(
    app: &App,
    staff: &StaffSession,
    req: &AcceptRequest,
) -> Result<ApplicationView> {
    let office = counter_staff(staff)?;
    let product = products::product(&req.product).at_field("product")?;
    let checklist = product
        .check_list(&req.checklist, false)
        .at_field("checklist")?;
    let receipt = req.photo_receipt.trim().to_ascii_uppercase();
    if receipt.is_empty() {
        return Err(ServiceError::bad_input(
            "photo_receipt",
            ErrorCode::PhotoRequired,
            "scan the photo receipt",
        ));
    }
    let today = app.today();
    let mut tx = app.db.begin().await?;
    let t = own_ticket(&mut tx, &office, req.ticket_id).await?;
    if t.status != TicketState::Called {
        return Err(ServiceError::conflict(
            ErrorCode::NotCalled,
            "call the ticket to the counter first",
        ));
    }
    if t.service != product.service.code() {
        return Err(ServiceError::bad_input(
            "product",
            ErrorCode::WrongQueue,
            format!("this ticket is for {}; transfer it first", t.service),
        ));
    }
    require_counter_for(&mut tx, &office, product.service).await?;
    let pre = if product.issues == exitentry_domain::numbers::DocumentKind::HrpNonChinese {
        Some(person_from_pre_application(app, &mut tx, &t, req.id_number.as_deref()).await?)
    } else {
        None
    };
    let person_id = match &pre {
        Some(p) => p.person_id,
        None => person_for(&mut tx, &t, req.id_number.as_deref()).await?,
    };
    if let Some(p) = &pre
        && p.applicant.purpose.product() != product.code
    {
        return Err(ServiceError::bad_input(
            "product",
            ErrorCode::PreApplicationPurpose,
            format!(
                "the approved pre-application is for {}",
                p.applicant.purpose.product()
            ),
        ));
    }
    let person = records::person(&mut tx, person_id).await?;
    // Under 18 a guardian accompanies (where the product asks for one).
    let checklist = if age_on(person.person.date_of_birth, today) < 18 {
        product
            .check_list(&req.checklist, true)
            .at_field("checklist")?
    } else {
        checklist
    };
    // The home return permit is for Chinese citizens; the others get the non-Chinese one
    // (whose nationality the pre-application's review has already seen).
    let nationality_fits = product.issues != exitentry_domain::numbers::DocumentKind::Hrp
        || person.person.nationality.is_chinese();
    if !nationality_fits
        || !product
            .issues
            .holder_regions()
            .contains(&person.person.region)
    {
        return Err(ServiceError::conflict(
            ErrorCode::NotEligible,
            "this applicant cannot hold this kind of document",
        ));
    }
    let photo = store::photo_by_receipt(&mut tx, &receipt)
        .await?
        .filter(|p| p.office_code == office)
        .ok_or_else(|| {
            ServiceError::bad_input(
                "photo_receipt",
                ErrorCode::PhotoNotFound,
                "no photo with this receipt was taken here",
            )
        })?;
    if local(photo.created_at).date_naive() != today {
        return Err(ServiceError::bad_input(
            "photo_receipt",
            ErrorCode::PhotoExpired,
            "this photo was not taken today; take a new one",
        ));
    }
    // One open application per person and kind of document: a renewal and a replacement
    // of the same card never run side by side.
    let mut open = 0;
    for p in products::PRODUCTS
        .iter()
        .filter(|p| p.issues == product.issues)
    {
        open += store::open_applications(&mut tx, person_id, p.code).await?;
    }
    if open > 0 {
        return Err(ServiceError::conflict(
            ErrorCode::ApplicationOpen,
            "this applicant already has an open application of this kind",
        ));
    }
    if let Some(p) = &pre {
        declare_for_replacement(app, &mut tx, staff, person_id, p).await?;
    }
    let old = old_document_for(app, &mut tx, person_id, product).await?;
    // The permit renewed or replaced is the one the pre-application names (its number
    // goes on the new card).
    if let (Some(p), Some(old_id)) = (&pre, old) {
        let old_number = documents::get(&mut tx, old_id)
            .await?
            .map(|d| d.doc.number)
            .unwrap_or_default();
        if p.applicant.current_permit.as_ref().map(|n| n.as_str()) != Some(old_number.as_str()) {
            return Err(ServiceError::conflict(
                ErrorCode::CurrentPermitMismatch,
                format!(
                    "the registry's permit is {old_number}, not the one the pre-application names"
                ),
            ));
        }
    }
    // Some permits cost less for minors (the home return permit: HK$260 under 18).
    let age = u32::try_from(age_on(person.person.date_of_birth, today)).unwrap_or(0);
    let fee = app
        .policy
        .fee_for_age(product.issues, today, age)
        .at_field("product")?;
    let row = ApplicationRow {
        id: random_token()[..24].to_string(),
        reference: format!("R{:011}", rand::random::<u64>() % 100_000_000_000),
        office_code: office.clone(),
        product: product.code.to_string(),
        person_id,
        ticket_id: Some(t.id),
        appointment_id: t.appointment_id.clone(),
        photo_id: Some(photo.id),
        checklist: checklist.join(","),
        fee,
        status: CentreApplicationState::Accepted,
        old_document_id: old,
        new_document_id: None,
        new_document_number: None,
        collection_date: None,
        accepted_by: staff.actor(),
        accepted_at: app.now_micros(),
        paid_at: None,
        ready_at: None,
        collected_at: None,
        collected_by: None,
    };
    store::insert_application(&mut tx, &row)
        .await
        .on_conflict(|| {
            ServiceError::bad_input(
                "photo_receipt",
                ErrorCode::PhotoUsed,
                "this photo belongs to another application",
            )
        })?;
    if let Some(p) = &pre {
        if !crate::pre_applications::mark_used(&mut tx, &p.row.id, &row.id, app.now_micros())
            .await?
        {
            return Err(ServiceError::conflict(
                ErrorCode::PreApplicationNotApproved,
                "this pre-application was used meanwhile",
            ));
        }
        audit::record(
            app,
            &mut tx,
            &staff.actor(),
            "hrp_application.used",
            &format!("hrp_application:{}", p.row.id),
            json!({"application": row.reference}),
        )
        .await?;
    }
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "application.accept",
        &format!("application:{}", row.id),
        json!({"product": row.product, "ticket": t.label, "photo": receipt, "checklist": row.checklist, "fee": fee.to_string()}),
    )
    .await?;
    let view = application_view(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(view)
}

pub(super) async fn application_for_staff(
    conn: &mut AnyConnection,
    staff: &StaffSession,
    id: &str,
) -> Result<ApplicationRow> {
    let a = store::application(conn, id)
        .await?
        .ok_or(ServiceError::NotFound("application"))?;
    // Counter staff see their office's applications; admins and approvers see all.
    match &staff.office_code {
        Some(o)
            if staff.role == exitentry_domain::staff::Role::CounterClerk && *o != a.office_code =>
        {
            Err(ServiceError::NotFound("application"))
        }
        _ => Ok(a),
    }
}
