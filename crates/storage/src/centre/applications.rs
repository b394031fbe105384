//! Applications accepted at the counter and their payments (paid once, ready, collected,
//! reminded, cancelled as conditional updates).

use crate::Result;
use crate::bulk::count_in_states;
use crate::codes::{Amount, Code};
use crate::statement::{
    all, changed_one, counts_any, execute, insert_unique, optional, select, transition,
};
use exitentry_domain::products::Money;
use exitentry_domain::states::CentreApplicationState::{self, Accepted, Collected, Paid, Ready};
use exitentry_domain::states::CounterPaymentState;
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApplicationRow {
    pub id: String,
    pub reference: String,
    pub office_code: String,
    pub product: String,
    pub person_id: i64,
    pub ticket_id: Option<i64>,
    pub appointment_id: Option<String>,
    pub photo_id: Option<i64>,
    /// Ticked checklist item codes, comma-separated.
    pub checklist: String,
    #[sqlx(flatten, try_from = "Amount")]
    pub fee: Money,
    #[sqlx(try_from = "Code<CentreApplicationState>")]
    pub status: CentreApplicationState,
    pub old_document_id: Option<i64>,
    pub new_document_id: Option<i64>,
    pub new_document_number: Option<String>,
    pub collection_date: Option<String>,
    pub accepted_by: String,
    pub accepted_at: i64,
    pub paid_at: Option<i64>,
    pub ready_at: Option<i64>,
    pub collected_at: Option<i64>,
    pub collected_by: Option<String>,
}

const APP_COLUMNS: &str = "id, reference, office_code, product, person_id, ticket_id, \
     appointment_id, photo_id, checklist, fee_cents AS amount_cents, currency, status, \
     old_document_id, new_document_id, new_document_number, collection_date, accepted_by, \
     accepted_at, paid_at, ready_at, collected_at, collected_by";

/// Records an accepted application; a photo already used by another is a `Conflict`.
pub async fn insert_application(conn: &mut AnyConnection, a: &ApplicationRow) -> Result<()> {
    let sql = "INSERT INTO centre_applications (id, reference, office_code, product, person_id, \
         ticket_id, appointment_id, photo_id, checklist, fee_cents, currency, status, \
         old_document_id, accepted_by, accepted_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)";
    let binds = (
        &a.id,
        &a.reference,
        &a.office_code,
        &a.product,
        a.person_id,
        a.ticket_id,
        &a.appointment_id,
        a.photo_id,
        &a.checklist,
        a.fee.cents,
        a.fee.currency.code(),
        a.status.code(),
        a.old_document_id,
        &a.accepted_by,
        a.accepted_at,
    );
    insert_unique(conn, sql, binds, "photo already attached to an application").await
}

pub async fn application(conn: &mut AnyConnection, id: &str) -> Result<Option<ApplicationRow>> {
    let sql = select(APP_COLUMNS, "centre_applications WHERE id = $1");
    optional(conn, sql, (id,)).await
}

pub async fn application_by_reference(
    conn: &mut AnyConnection,
    reference: &str,
) -> Result<Option<ApplicationRow>> {
    let sql = select(APP_COLUMNS, "centre_applications WHERE reference = $1");
    optional(conn, sql, (reference,)).await
}

/// A person's applications at any office, newest first (what they see under "my records").
pub async fn for_person(conn: &mut AnyConnection, person_id: i64) -> Result<Vec<ApplicationRow>> {
    let rows =
        "centre_applications WHERE person_id = $1 ORDER BY accepted_at DESC, id DESC LIMIT 100";
    all(conn, select(APP_COLUMNS, rows), (person_id,)).await
}

/// Applications of an office (or, with `None`, every office) in a status, oldest first.
pub async fn applications_at(
    conn: &mut AnyConnection,
    office: Option<&str>,
    status: CentreApplicationState,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    let rows = "centre_applications WHERE ($1 = '' OR office_code = $1) AND status = $2 ORDER BY \
                accepted_at LIMIT $3";
    let sql = select(APP_COLUMNS, rows);
    all(conn, sql, (office.unwrap_or(""), status.code(), limit)).await
}

/// Whether a ready (not yet collected) document already carries this number.
pub async fn number_reserved(conn: &mut AnyConnection, number: &str) -> Result<bool> {
    let sql = "SELECT COUNT(*) FROM centre_applications WHERE new_document_number = $1";
    counts_any(conn, sql, (number,)).await
}

/// Open applications of one person for one product (not collected, not cancelled).
pub async fn open_applications(
    conn: &mut AnyConnection,
    person_id: i64,
    product: &str,
) -> Result<i64> {
    let open = CentreApplicationState::ALL.iter().filter(|s| s.is_open());
    let sql = "SELECT COUNT(*) FROM centre_applications WHERE person_id = $1 AND product = $2 \
               AND status IN";
    count_in_states(conn, sql, (person_id, product), open.copied()).await
}

/// Dialect an application paid with its collection date; `false` unless it was `accepted`.
pub async fn mark_paid(
    conn: &mut AnyConnection,
    id: &str,
    collection_date: &str,
    now: i64,
) -> Result<bool> {
    let sql = "UPDATE centre_applications SET status = $3, paid_at = $4, collection_date = $5, \
               updated_at = $4 WHERE id = $1 AND status = $2";
    transition(conn, sql, id, (Accepted, Paid), (now, collection_date)).await
}

/// Dialect the reminder of an uncollected document as sent: `false` when it already was.
pub async fn mark_reminded(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let sql = "UPDATE centre_applications SET reminded_at = $2, updated_at = $2 \
               WHERE id = $1 AND status = $3 AND reminded_at IS NULL";
    changed_one(conn, sql, (id, now, Ready.code())).await
}

/// Cancels a document not collected in time: `false` when it was collected meanwhile.
pub async fn cancel_uncollected(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let sql = "UPDATE centre_applications SET status = $3, updated_at = $4 \
               WHERE id = $1 AND status = $2";
    let to = CentreApplicationState::UncollectedCancelled;
    transition(conn, sql, id, (Ready, to), (now,)).await
}

/// Processing done: the new document is made (its number known) and waits for collection.
pub async fn mark_ready(
    conn: &mut AnyConnection,
    id: &str,
    new_document_number: &str,
    now: i64,
) -> Result<bool> {
    let sql = "UPDATE centre_applications SET status = $3, ready_at = $4, \
               new_document_number = $5, updated_at = $4 WHERE id = $1 AND status = $2";
    transition(conn, sql, id, (Paid, Ready), (now, new_document_number)).await
}

/// Hands the document over; `false` unless it was `ready`, so of two kiosks racing only
/// one gets `true` (the row lock makes the second re-check the status).
pub async fn mark_collected(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    now: i64,
) -> Result<bool> {
    let sql = "UPDATE centre_applications SET status = $3, collected_at = $4, collected_by = $5, \
               updated_at = $4 WHERE id = $1 AND status = $2";
    transition(conn, sql, id, (Ready, Collected), (now, by)).await
}

/// Links the issued document to its application.
pub async fn set_new_document(conn: &mut AnyConnection, id: &str, document_id: i64) -> Result<()> {
    let sql = "UPDATE centre_applications SET new_document_id = $2 WHERE id = $1";
    execute(conn, sql, (id, document_id)).await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentRow {
    pub id: String,
    pub application_id: String,
    pub method: String,
    #[sqlx(flatten, try_from = "Amount")]
    pub amount: Money,
    #[sqlx(try_from = "Code<CounterPaymentState>")]
    pub status: CounterPaymentState,
    pub provider_ref: Option<String>,
    pub taken_by: String,
    pub created_at: i64,
    pub paid_at: Option<i64>,
}

/// Records a payment; a second `paid` one for the application is a `Conflict`.
pub async fn insert_payment(conn: &mut AnyConnection, p: &PaymentRow) -> Result<()> {
    let sql = "INSERT INTO payments (id, application_id, method, amount_cents, currency, status, \
               provider_ref, taken_by, created_at, paid_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let binds = (
        &p.id,
        &p.application_id,
        &p.method,
        p.amount.cents,
        p.amount.currency.code(),
        p.status.code(),
        &p.provider_ref,
        &p.taken_by,
        p.created_at,
        p.paid_at,
    );
    insert_unique(conn, sql, binds, "payment").await
}

const PAYMENT_COLUMNS: &str = "id, application_id, method, amount_cents, currency, status, \
     provider_ref, taken_by, created_at, paid_at";

/// Counter payments by `method` taken or paid in [from, to), for the daily reconciliation
/// next to the online orders of the same provider.
pub async fn payments_between(
    conn: &mut AnyConnection,
    method: &str,
    from: i64,
    to: i64,
) -> Result<Vec<PaymentRow>> {
    let rows = "payments WHERE method = $1 AND ((created_at >= $2 AND created_at < $3) \
                OR (paid_at >= $2 AND paid_at < $3)) ORDER BY created_at";
    all(conn, select(PAYMENT_COLUMNS, rows), (method, from, to)).await
}

pub async fn paid_payment(
    conn: &mut AnyConnection,
    application_id: &str,
) -> Result<Option<PaymentRow>> {
    let sql = select(
        PAYMENT_COLUMNS,
        "payments WHERE application_id = $1 AND status = $2",
    );
    let binds = (application_id, CounterPaymentState::Paid.code());
    optional(conn, sql, binds).await
}
