//! Applications accepted at the counter and their payments (paid once, ready, collected,
//! reminded, cancelled as conditional updates).

use crate::bulk::placeholders_from;
use crate::error::{decode, money};
use crate::{Result, StorageError};
use exitentry_domain::products::Money;
use exitentry_domain::states::{CentreApplicationState, CounterPaymentState};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub fee: Money,
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

pub(super) const APP_COLUMNS: &str = "id, reference, office_code, product, person_id, ticket_id, appointment_id, \
     photo_id, checklist, fee_cents, currency, status, old_document_id, new_document_id, new_document_number, \
     collection_date, accepted_by, accepted_at, paid_at, ready_at, collected_at, collected_by";

pub(super) fn application_from(r: &AnyRow) -> Result<ApplicationRow> {
    Ok(ApplicationRow {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        office_code: r.try_get("office_code")?,
        product: r.try_get("product")?,
        person_id: r.try_get("person_id")?,
        ticket_id: r.try_get("ticket_id")?,
        appointment_id: r.try_get("appointment_id")?,
        photo_id: r.try_get("photo_id")?,
        checklist: r.try_get("checklist")?,
        fee: money(r, "fee_cents", "currency")?,
        status: decode(r, "status")?,
        old_document_id: r.try_get("old_document_id")?,
        new_document_id: r.try_get("new_document_id")?,
        new_document_number: r.try_get("new_document_number")?,
        collection_date: r.try_get("collection_date")?,
        accepted_by: r.try_get("accepted_by")?,
        accepted_at: r.try_get("accepted_at")?,
        paid_at: r.try_get("paid_at")?,
        ready_at: r.try_get("ready_at")?,
        collected_at: r.try_get("collected_at")?,
        collected_by: r.try_get("collected_by")?,
    })
}

/// Records an accepted application; a photo already used by another is a `Conflict`.
pub async fn insert_application(conn: &mut AnyConnection, a: &ApplicationRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO centre_applications (id, reference, office_code, product, person_id, ticket_id, \
         appointment_id, photo_id, checklist, fee_cents, currency, status, old_document_id, accepted_by, \
         accepted_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
    )
    .bind(a.id.clone())
    .bind(a.reference.clone())
    .bind(a.office_code.clone())
    .bind(a.product.clone())
    .bind(a.person_id)
    .bind(a.ticket_id)
    .bind(a.appointment_id.clone())
    .bind(a.photo_id)
    .bind(a.checklist.clone())
    .bind(a.fee.cents)
    .bind(a.fee.currency.code())
    .bind(a.status.code())
    .bind(a.old_document_id)
    .bind(a.accepted_by.clone())
    .bind(a.accepted_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "photo already attached to an application"))?;
    Ok(())
}

pub(super) async fn application_where(
    conn: &mut AnyConnection,
    column: &str,
    value: &str,
) -> Result<Option<ApplicationRow>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM centre_applications WHERE {column} = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(application_from).transpose()
}

pub async fn application(conn: &mut AnyConnection, id: &str) -> Result<Option<ApplicationRow>> {
    application_where(conn, "id", id).await
}

pub async fn application_by_reference(
    conn: &mut AnyConnection,
    reference: &str,
) -> Result<Option<ApplicationRow>> {
    application_where(conn, "reference", reference).await
}

/// Applications of an office (or, with `None`, every office) in a status, oldest first.
pub async fn applications_at(
    conn: &mut AnyConnection,
    office: Option<&str>,
    status: CentreApplicationState,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    let sql = format!(
        "SELECT {APP_COLUMNS} FROM centre_applications WHERE ($1 = '' OR office_code = $1) AND status = $2 \
         ORDER BY accepted_at LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(office.unwrap_or("").to_string())
        .bind(status.code())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(application_from).collect()
}

/// Whether a ready (not yet collected) document already carries this number.
pub async fn number_reserved(conn: &mut AnyConnection, number: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM centre_applications WHERE new_document_number = $1",
    )
    .bind(number.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// Open applications of one person for one product (not collected, not cancelled).
pub async fn open_applications(
    conn: &mut AnyConnection,
    person_id: i64,
    product: &str,
) -> Result<i64> {
    let open: Vec<_> = CentreApplicationState::ALL
        .iter()
        .filter(|s| s.is_open())
        .collect();
    let sql = format!(
        "SELECT COUNT(*) FROM centre_applications WHERE person_id = $1 AND product = $2 \
         AND status IN ({})",
        placeholders_from(3, open.len())
    );
    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(person_id)
        .bind(product.to_string());
    for s in open {
        q = q.bind(s.code());
    }
    Ok(q.fetch_one(&mut *conn).await?)
}

/// Marks an application paid with its collection date; `false` unless it was `accepted`.
pub async fn mark_paid(
    conn: &mut AnyConnection,
    id: &str,
    collection_date: &str,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE centre_applications SET status = $5, paid_at = $2, collection_date = $3, \
         updated_at = $2 WHERE id = $1 AND status = $4",
    )
    .bind(id.to_string())
    .bind(now)
    .bind(collection_date.to_string())
    .bind(CentreApplicationState::Accepted.code())
    .bind(CentreApplicationState::Paid.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks the reminder of an uncollected document as sent: `false` when it already was.
pub async fn mark_reminded(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE centre_applications SET reminded_at = $2, updated_at = $2 \
         WHERE id = $1 AND status = $3 AND reminded_at IS NULL",
    )
    .bind(id.to_string())
    .bind(now)
    .bind(CentreApplicationState::Ready.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Cancels a document not collected in time: `false` when it was collected meanwhile.
pub async fn cancel_uncollected(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE centre_applications SET status = $4, updated_at = $2 \
         WHERE id = $1 AND status = $3",
    )
    .bind(id.to_string())
    .bind(now)
    .bind(CentreApplicationState::Ready.code())
    .bind(CentreApplicationState::UncollectedCancelled.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Processing done: the new document is made (its number known) and waits for collection.
pub async fn mark_ready(
    conn: &mut AnyConnection,
    id: &str,
    new_document_number: &str,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE centre_applications SET status = $5, ready_at = $2, new_document_number = $3, \
         updated_at = $2 WHERE id = $1 AND status = $4",
    )
    .bind(id.to_string())
    .bind(now)
    .bind(new_document_number.to_string())
    .bind(CentreApplicationState::Paid.code())
    .bind(CentreApplicationState::Ready.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Hands the document over; `false` unless it was `ready`, so of two kiosks racing only
/// one gets `true` (the row lock makes the second re-check the status).
pub async fn mark_collected(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE centre_applications SET status = $5, collected_at = $2, collected_by = $3, \
         updated_at = $2 WHERE id = $1 AND status = $4",
    )
    .bind(id.to_string())
    .bind(now)
    .bind(by.to_string())
    .bind(CentreApplicationState::Ready.code())
    .bind(CentreApplicationState::Collected.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Links the issued document to its application.
pub async fn set_new_document(conn: &mut AnyConnection, id: &str, document_id: i64) -> Result<()> {
    sqlx::query("UPDATE centre_applications SET new_document_id = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(document_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub id: String,
    pub application_id: String,
    pub method: String,
    pub amount: Money,
    pub status: CounterPaymentState,
    pub provider_ref: Option<String>,
    pub taken_by: String,
    pub created_at: i64,
    pub paid_at: Option<i64>,
}

/// Records a payment; a second `paid` one for the application is a `Conflict`.
pub async fn insert_payment(conn: &mut AnyConnection, p: &PaymentRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO payments (id, application_id, method, amount_cents, currency, status, provider_ref, \
         taken_by, created_at, paid_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(p.id.clone())
    .bind(p.application_id.clone())
    .bind(p.method.clone())
    .bind(p.amount.cents)
    .bind(p.amount.currency.code())
    .bind(p.status.code())
    .bind(p.provider_ref.clone())
    .bind(p.taken_by.clone())
    .bind(p.created_at)
    .bind(p.paid_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "payment"))?;
    Ok(())
}

/// Counter payments by `method` taken or paid in [from, to), for the daily reconciliation
/// next to the online orders of the same provider.
pub async fn payments_between(
    conn: &mut AnyConnection,
    method: &str,
    from: i64,
    to: i64,
) -> Result<Vec<PaymentRow>> {
    let rows = sqlx::query(
        "SELECT id, application_id, method, amount_cents, currency, status, provider_ref, taken_by, \
         created_at, paid_at FROM payments WHERE method = $1 AND \
         ((created_at >= $2 AND created_at < $3) OR (paid_at >= $2 AND paid_at < $3)) \
         ORDER BY created_at",
    )
    .bind(method.to_string())
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(payment_from_row).collect()
}

pub(super) fn payment_from_row(r: &sqlx::any::AnyRow) -> Result<PaymentRow> {
    Ok(PaymentRow {
        id: r.try_get("id")?,
        application_id: r.try_get("application_id")?,
        method: r.try_get("method")?,
        amount: money(r, "amount_cents", "currency")?,
        status: decode(r, "status")?,
        provider_ref: r.try_get("provider_ref")?,
        taken_by: r.try_get("taken_by")?,
        created_at: r.try_get("created_at")?,
        paid_at: r.try_get("paid_at")?,
    })
}

pub async fn paid_payment(
    conn: &mut AnyConnection,
    application_id: &str,
) -> Result<Option<PaymentRow>> {
    let row = sqlx::query(
        "SELECT id, application_id, method, amount_cents, currency, status, provider_ref, taken_by, \
         created_at, paid_at FROM payments WHERE application_id = $1 AND status = $2",
    )
    .bind(application_id.to_string())
    .bind(CounterPaymentState::Paid.code())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(payment_from_row).transpose()
}
