//! After payment: the document produced with a new number, collection at a kiosk, and
//! the sweep of documents nobody collected.

use super::*;
use crate::ErrorCode;
use crate::auth::StaffSession;
use crate::email::{Email, Lang};
use crate::records;
use crate::tokens::constant_time_eq;
use crate::{App, Result, ServiceError, audit};
use chrono::NaiveDate;
use exitentry_domain::document::{DocumentStatus, expiry_for_issue};
use exitentry_domain::products::{self, IssueReason, Product};
use exitentry_domain::staff::Permission;
use exitentry_domain::states::CentreApplicationState;
use exitentry_domain::time::cst;
use exitentry_storage::centre::{self as store};
use exitentry_storage::documents::{self, DocumentRecord};
use exitentry_storage::{AnyConnection, people};
use serde::Serialize;
use serde_json::json;

/// Processing done: the document is produced with a new number and waits for collection.
pub async fn mark_ready(app: &App, staff: &StaffSession, id: &str) -> Result<ApplicationView> {
    staff.require(Permission::ProcessApplications)?;
    let mut tx = app.db.begin().await?;
    let a = application_for_staff(&mut tx, staff, id).await?;
    if a.status != CentreApplicationState::Paid {
        return Err(ServiceError::conflict(
            ErrorCode::NotPaid,
            format!("this application is {}", a.status),
        ));
    }
    let product = products::product(&a.product).map_err(|e| ServiceError::Internal(e.message))?;
    let region = people::get(&mut tx, a.person_id)
        .await?
        .map(|p| p.person.region);
    // Renewals and replacements of a home return permit keep its number (for life).
    let number = match (product.keeps_number(), a.old_document_id) {
        (true, Some(old)) => records::document(&mut tx, old).await?.doc.number,
        _ => new_number(&mut tx, product, region).await?,
    };
    if !store::mark_ready(&mut tx, &a.id, &number, app.now_micros()).await? {
        return Err(ServiceError::conflict(
            ErrorCode::NotPaid,
            "this application changed meanwhile",
        ));
    }
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "application.ready",
        &format!("application:{}", a.id),
        json!({"document_number": number}),
    )
    .await?;
    let a = store::application(&mut tx, &a.id)
        .await?
        .ok_or(ServiceError::NotFound("application"))?;
    let view = application_view(&mut tx, &a).await?;
    tx.commit().await?;
    Ok(view)
}

/// A document number never used before.
pub(super) async fn new_number(
    conn: &mut AnyConnection,
    product: &Product,
    region: Option<exitentry_domain::person::Region>,
) -> Result<String> {
    for _ in 0..20 {
        let n = match product.issues {
            exitentry_domain::numbers::DocumentKind::EepCard => {
                products::eep_card_number(rand::random())
            }
            // `H` for Hong Kong, `M` for Macao residents.
            exitentry_domain::numbers::DocumentKind::Hrp => products::hrp_number(
                region == Some(exitentry_domain::person::Region::HongKong),
                rand::random(),
            ),
            // `HA` for Hong Kong, `MA` for Macao residents.
            exitentry_domain::numbers::DocumentKind::HrpNonChinese => {
                exitentry_domain::hrp::permit_number(
                    region == Some(exitentry_domain::person::Region::HongKong),
                    rand::random(),
                )
            }
            other => {
                return Err(ServiceError::Internal(format!(
                    "no number generator for {}",
                    other.code()
                )));
            }
        };
        if !documents::number_used(conn, &n).await? && !store::number_reserved(conn, &n).await? {
            return Ok(n);
        }
    }
    Err(ServiceError::Internal(
        "no free document number after 20 tries".into(),
    ))
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Collected {
    pub reference: String,
    pub document_number: String,
    pub expires_on: NaiveDate,
    /// The old permit, recorded as surrendered before release.
    pub surrendered: Option<String>,
}

/// Collection at a kiosk: the receipt's reference and the identity number must both match
/// a ready document of this office; the old permit (renewal, damaged permit) is surrendered
/// first — `old_permit` is the number the card slot read from it, and nothing is released
/// until it matches — then the new one is released, once.
pub async fn collect(
    app: &App,
    device: &DeviceSession,
    reference: &str,
    id_number: &str,
    old_permit: &str,
) -> Result<Collected> {
    device.require_kiosk()?;
    let reference = reference.trim().to_ascii_uppercase();
    let mut tx = app.db.begin().await?;
    let mismatch = || {
        ServiceError::conflict(
            ErrorCode::ReceiptOrIdentityMismatch,
            "the receipt and the identity number do not match a document waiting here",
        )
    };
    let Some(a) = store::application_by_reference(&mut tx, &reference).await? else {
        return Err(mismatch());
    };
    let person = records::person(&mut tx, a.person_id).await?;
    // Typed as on the card (an HKID with its brackets, say): compared in canonical form.
    let typed =
        exitentry_domain::ids::IdentityNumber::parse(person.person.id_kind, id_number, app.today())
            .map(|n| n.as_str().to_string())
            .unwrap_or_else(|_| id_number.trim().to_ascii_uppercase());
    if !constant_time_eq(&person.person.id_number, &typed) {
        audit::record(
            app,
            &mut tx,
            &device.actor(),
            "collection.refused",
            &format!("application:{}", a.id),
            json!({"why": "identity"}),
        )
        .await?;
        tx.commit().await?;
        return Err(mismatch());
    }
    if a.office_code != device.office_code {
        return Err(ServiceError::conflict(
            ErrorCode::WrongOffice,
            format!("this document waits at {}", a.office_code),
        ));
    }
    match a.status {
        CentreApplicationState::Ready => {}
        CentreApplicationState::Collected => {
            return Err(ServiceError::conflict(
                ErrorCode::AlreadyCollected,
                "this document has already been collected",
            ));
        }
        _ => {
            return Err(ServiceError::conflict(
                ErrorCode::NotReady,
                match &a.collection_date {
                    Some(d) => format!("the document is not ready yet; expected from {d}"),
                    None => "the document is not ready yet".to_string(),
                },
            ));
        }
    }
    let product = products::product(&a.product).map_err(|e| ServiceError::Internal(e.message))?;
    let number = a
        .new_document_number
        .clone()
        .ok_or_else(|| ServiceError::Internal("ready without a number".into()))?;
    let now = app.now_micros();
    let today = app.today();
    // Claim the hand-over first: a second kiosk waits on this row and then finds it taken.
    if !store::mark_collected(&mut tx, &a.id, &device.actor(), now).await? {
        return Err(ServiceError::conflict(
            ErrorCode::AlreadyCollected,
            "this document has already been collected",
        ));
    }
    let applied_on = local(a.accepted_at).date_naive();
    let mut surrendered = None;
    if let Some(old_id) = a.old_document_id {
        let old = records::document(&mut tx, old_id).await?;
        // A renewed permit and a damaged one are handed in; a lost one stays reported lost.
        let from = match product.reason {
            IssueReason::Renewal => Some(DocumentStatus::Valid),
            IssueReason::Replacement if old.doc.status == DocumentStatus::Damaged => {
                Some(DocumentStatus::Damaged)
            }
            _ => None,
        };
        if from.is_some() {
            if old_permit.trim().is_empty() {
                return Err(ServiceError::bad_input(
                    "old_permit",
                    ErrorCode::OldPermitRequired,
                    "insert the permit being replaced into the card slot first",
                ));
            }
            if !slot_holds(old_permit, &old.doc) {
                return Err(ServiceError::bad_input(
                    "old_permit",
                    ErrorCode::OldPermitMismatch,
                    "the permit in the card slot is not the one being replaced",
                ));
            }
        }
        if let Some(from) = from {
            // The old card changed since acceptance (reported lost, say): staff sort it out.
            if !documents::change_status(&mut tx, old_id, from, DocumentStatus::Surrendered, now)
                .await?
            {
                return Err(ServiceError::conflict(
                    ErrorCode::OldPermitChanged,
                    "the permit being replaced has changed since the application; ask at the counter",
                ));
            }
            audit::record(
                app,
                &mut tx,
                &device.actor(),
                "document.surrender",
                &format!("document:{}", old.doc.number),
                json!({"application": a.reference}),
            )
            .await?;
            surrendered = Some(old.doc.number);
        }
    }
    let issue_count = if product.issues.has_issue_count() {
        Some(next_issue_count(&mut tx, product.issues, &number).await?)
    } else {
        None
    };
    let expires_on = expiry_for_issue(
        &app.policy,
        product.issues,
        person.person.date_of_birth,
        applied_on,
        today,
    )
    .map_err(|e| ServiceError::Internal(e.message))?;
    let doc_id = documents::insert_one(
        &mut tx,
        &DocumentRecord {
            person_id: a.person_id,
            kind: product.issues,
            number: number.clone(),
            issue_count,
            issued_on: today,
            expires_on,
            status: DocumentStatus::Valid,
            office_code: Some(a.office_code.clone()),
        },
        now,
    )
    .await?;
    store::set_new_document(&mut tx, &a.id, doc_id).await?;
    audit::record(
        app,
        &mut tx,
        &device.actor(),
        "application.collect",
        &format!("application:{}", a.id),
        json!({"document_number": number, "surrendered": surrendered}),
    )
    .await?;
    tx.commit().await?;
    Ok(Collected {
        reference: a.reference,
        document_number: number,
        expires_on,
        surrendered,
    })
}

/// Whether the card slot's reading is `doc`: its number, and for a number kept for life
/// also its issue count (`HA1234567 02`), since older cards share the number.
pub(super) fn slot_holds(reading: &str, doc: &DocumentRecord) -> bool {
    let reading = reading.trim().to_ascii_uppercase();
    let mut parts = reading.split(|c: char| c.is_whitespace() || c == '-' || c == '/');
    let number = parts.next().unwrap_or_default();
    let count = parts.find(|p| !p.is_empty());
    if !constant_time_eq(number, &doc.number) {
        return false;
    }
    if !doc.kind.has_issue_count() {
        return count.is_none();
    }
    let want = doc.issue_count.unwrap_or(1);
    count.and_then(|c| {
        exitentry_domain::numbers::parse_issue_count(doc.kind, c)
            .ok()
            .flatten()
    }) == Some(want)
}

/// The issue count of the next card under a number kept for life: one more than the
/// highest so far (a card imported without its count counts as the first), 1 for a new number.
pub(super) async fn next_issue_count(
    conn: &mut AnyConnection,
    kind: exitentry_domain::numbers::DocumentKind,
    number: &str,
) -> Result<u8> {
    let highest = documents::by_number(conn, number)
        .await?
        .into_iter()
        .filter(|(d, _)| d.doc.kind == kind)
        .map(|(d, _)| d.doc.issue_count.unwrap_or(1))
        .max();
    match highest {
        None => Ok(1),
        Some(n) => n.checked_add(1).filter(|n| *n <= 99).ok_or_else(|| {
            ServiceError::Internal(format!("{number} has reached the last issue count"))
        }),
    }
}

/// Months a finished document waits for its holder before it is cancelled.
pub const COLLECT_WITHIN_MONTHS: u32 = 12;

/// Emails the applicant in their language, when the registry knows their address.
async fn tell(
    app: &App,
    conn: &mut AnyConnection,
    contact: &Option<(String, Lang)>,
    email: &Email,
) -> Result<()> {
    if let Some((to, lang)) = contact {
        crate::email::enqueue(app, conn, to, *lang, email).await?;
    }
    Ok(())
}

/// The daily sweep of uncollected documents: a reminder by email a month before the 12
/// months after the collection date run out (once), and cancellation after. Returns
/// (reminded, cancelled). Each step is a conditional update, so two workers never repeat one.
pub async fn sweep_uncollected(app: &App) -> Result<(usize, usize)> {
    let today = app.today();
    let rows = {
        let mut conn = app.db.conn().await?;
        store::applications_at(&mut conn, None, CentreApplicationState::Ready, 10_000).await?
    };
    let (mut reminded, mut cancelled) = (0, 0);
    for a in rows {
        let Some(deadline) = a
            .collection_date
            .as_deref()
            .and_then(|d| d.parse::<NaiveDate>().ok())
            .and_then(|d| d.checked_add_months(chrono::Months::new(COLLECT_WITHIN_MONTHS)))
        else {
            continue;
        };
        let remind_from = deadline
            .checked_sub_months(chrono::Months::new(1))
            .unwrap_or(deadline);
        let now = app.now_micros();
        let mut tx = app.db.begin().await?;
        let person = people::get(&mut tx, a.person_id).await?;
        let contact = match &person {
            Some(p) => {
                crate::pre_applications::contact_for(
                    &mut tx,
                    p.person.id_kind.code(),
                    &p.person.id_number,
                )
                .await?
            }
            None => None,
        };
        let office = a.office_code.clone();
        if today > deadline {
            if store::cancel_uncollected(&mut tx, &a.id, now).await? {
                let cancelled_mail = Email::PermitCancelled {
                    reference: a.reference.clone(),
                };
                tell(app, &mut tx, &contact, &cancelled_mail).await?;
                audit::record(
                    app,
                    &mut tx,
                    "system",
                    "application.uncollected_cancelled",
                    &format!("application:{}", a.id),
                    json!({"deadline": deadline.to_string()}),
                )
                .await?;
                cancelled += 1;
            }
        } else if today >= remind_from && store::mark_reminded(&mut tx, &a.id, now).await? {
            let reminder = Email::CollectionReminder {
                reference: a.reference.clone(),
                office,
                deadline,
            };
            tell(app, &mut tx, &contact, &reminder).await?;
            audit::record(
                app,
                &mut tx,
                "system",
                "application.collection_reminder",
                &format!("application:{}", a.id),
                json!({"deadline": deadline.to_string(), "emailed": contact.is_some()}),
            )
            .await?;
            reminded += 1;
        }
        tx.commit().await?;
    }
    Ok((reminded, cancelled))
}

/// Documents waiting for collection, oldest first, with the days they have waited.
pub async fn uncollected(app: &App, staff: &StaffSession) -> Result<Vec<(ApplicationView, i64)>> {
    let list = applications_in(app, staff, CentreApplicationState::Ready).await?;
    let now = app.now().with_timezone(&cst());
    Ok(list
        .into_iter()
        .map(|a| {
            let days = a.ready_at.map(|r| (now - r).num_days()).unwrap_or(0);
            (a, days)
        })
        .collect())
}
