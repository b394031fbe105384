//! In the building: queue numbers and tickets, photos, applications accepted at the
//! counter, their payments, and the devices (kiosks, ticket printers) bound to an office.
//! Every state change is a conditional UPDATE, so two counters or two kiosks racing for
//! the same ticket or document cannot both win.

use crate::bulk::placeholders_from;
use crate::error::{decode, money};
use crate::{Backend, Result, StorageError};
use exitentry_domain::products::Money;
use exitentry_domain::states::{CentreApplicationState, CounterPaymentState, TicketState};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// The next queue number of a prefix at an office on a day (1, 2, 3 …).
pub async fn next_number(
    conn: &mut AnyConnection,
    office: &str,
    day: &str,
    prefix: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO queue_numbers (office_code, day, prefix, last_number) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (office_code, day, prefix) DO UPDATE SET last_number = queue_numbers.last_number + 1 \
         RETURNING last_number",
    )
    .bind(office.to_string())
    .bind(day.to_string())
    .bind(prefix.to_string())
    .fetch_one(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRow {
    pub id: i64,
    pub office_code: String,
    pub day: String,
    pub service: String,
    pub label: String,
    pub appointment_id: Option<String>,
    pub person_id: Option<i64>,
    pub priority: i64,
    pub status: TicketState,
    pub counter: Option<String>,
    pub issued_by: String,
    pub issued_at: i64,
    pub called_at: Option<i64>,
    pub called_by: Option<String>,
    pub recalled_at: Option<i64>,
    pub finished_at: Option<i64>,
}

const TICKET_COLUMNS: &str = "id, office_code, day, service, label, appointment_id, person_id, priority, \
     status, counter, issued_by, issued_at, called_at, called_by, recalled_at, finished_at";

fn ticket(r: &AnyRow) -> Result<TicketRow> {
    Ok(TicketRow {
        id: r.try_get("id")?,
        office_code: r.try_get("office_code")?,
        day: r.try_get("day")?,
        service: r.try_get("service")?,
        label: r.try_get("label")?,
        appointment_id: r.try_get("appointment_id")?,
        person_id: r.try_get("person_id")?,
        priority: r.try_get("priority")?,
        status: decode(r, "status")?,
        counter: r.try_get("counter")?,
        issued_by: r.try_get("issued_by")?,
        issued_at: r.try_get("issued_at")?,
        called_at: r.try_get("called_at")?,
        called_by: r.try_get("called_by")?,
        recalled_at: r.try_get("recalled_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

pub struct NewTicket<'a> {
    pub office_code: &'a str,
    pub day: &'a str,
    pub service: &'a str,
    pub label: &'a str,
    pub appointment_id: Option<&'a str>,
    pub person_id: Option<i64>,
    pub priority: i64,
    pub issued_by: &'a str,
}

pub async fn insert_ticket(
    conn: &mut AnyConnection,
    t: &NewTicket<'_>,
    now: i64,
) -> Result<TicketRow> {
    let sql = format!(
        "INSERT INTO tickets (office_code, day, service, label, appointment_id, person_id, priority, \
         status, issued_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $10, $8, $9) \
         RETURNING {TICKET_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(t.office_code.to_string())
        .bind(t.day.to_string())
        .bind(t.service.to_string())
        .bind(t.label.to_string())
        .bind(t.appointment_id.map(str::to_string))
        .bind(t.person_id)
        .bind(t.priority)
        .bind(t.issued_by.to_string())
        .bind(now)
        .bind(TicketState::Waiting.code())
        .fetch_one(&mut *conn)
        .await?;
    ticket(&row)
}

pub async fn ticket_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<TicketRow>> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(ticket).transpose()
}

pub async fn ticket_for_appointment(
    conn: &mut AnyConnection,
    appointment_id: &str,
) -> Result<Option<TicketRow>> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE appointment_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(appointment_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(ticket).transpose()
}

/// Calls the next waiting ticket (highest priority, then oldest) of the given services to
/// `counter`. Two counters calling at once get different tickets: PostgreSQL skips rows
/// another caller has locked, and the outer re-check of the waiting state covers the rest.
#[allow(clippy::too_many_arguments)]
pub async fn call_next(
    conn: &mut AnyConnection,
    backend: Backend,
    office: &str,
    day: &str,
    services: &[String],
    counter: &str,
    by: &str,
    now: i64,
) -> Result<Option<TicketRow>> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let list = services
        .iter()
        .enumerate()
        .map(|(i, _)| format!("${}", i + 9))
        .collect::<Vec<_>>()
        .join(",");
    let filter = if services.is_empty() {
        String::new()
    } else {
        format!(" AND service IN ({list})")
    };
    let sql = format!(
        "UPDATE tickets SET status = $8, counter = $1, called_by = $2, called_at = $3 \
         WHERE status = $7 AND id = (SELECT id FROM tickets WHERE office_code = $4 AND day = $5 \
         AND status = $7 AND $6 = $6{filter} ORDER BY priority DESC, issued_at, id LIMIT 1{lock}) \
         RETURNING {TICKET_COLUMNS}"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(counter.to_string())
        .bind(by.to_string())
        .bind(now)
        .bind(office.to_string())
        .bind(day.to_string())
        .bind(0_i64)
        .bind(TicketState::Waiting.code())
        .bind(TicketState::Called.code());
    for s in services {
        q = q.bind(s.clone());
    }
    let row = q.fetch_optional(&mut *conn).await?;
    row.as_ref().map(ticket).transpose()
}

/// Finishes the ticket being served at a counter (`done` or `skipped`).
pub async fn finish_ticket(
    conn: &mut AnyConnection,
    id: i64,
    status: TicketState,
    now: i64,
) -> Result<bool> {
    debug_assert!(TicketState::Called.can_become(status), "called -> {status}");
    let r = sqlx::query(
        "UPDATE tickets SET status = $2, finished_at = $3 WHERE id = $1 AND status = $4",
    )
    .bind(id)
    .bind(status.code())
    .bind(now)
    .bind(TicketState::Called.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn recall_ticket(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query("UPDATE tickets SET recalled_at = $2 WHERE id = $1 AND status = $3")
        .bind(id)
        .bind(now)
        .bind(TicketState::Called.code())
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Sends a called ticket back to the queue of another service, keeping its place in time.
pub async fn transfer_ticket(conn: &mut AnyConnection, id: i64, service: &str) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE tickets SET service = $2, status = $3, counter = NULL, called_at = NULL, \
         called_by = NULL, recalled_at = NULL WHERE id = $1 AND status = $4",
    )
    .bind(id)
    .bind(service.to_string())
    .bind(TicketState::Waiting.code())
    .bind(TicketState::Called.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The ticket a counter is serving now, if any.
pub async fn serving_at(
    conn: &mut AnyConnection,
    office: &str,
    day: &str,
    counter: &str,
) -> Result<Option<TicketRow>> {
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE office_code = $1 AND day = $2 AND counter = $3 \
         AND status = $4 ORDER BY called_at DESC LIMIT 1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(office.to_string())
        .bind(day.to_string())
        .bind(counter.to_string())
        .bind(TicketState::Called.code())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(ticket).transpose()
}

/// All tickets of an office on a day, oldest first.
pub async fn tickets_on(
    conn: &mut AnyConnection,
    office: &str,
    day: &str,
) -> Result<Vec<TicketRow>> {
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE office_code = $1 AND day = $2 ORDER BY issued_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(office.to_string())
        .bind(day.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(ticket).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRow {
    pub id: i64,
    pub receipt_code: String,
    pub office_code: String,
    pub ticket_id: Option<i64>,
    pub mime: String,
    pub width: i64,
    pub height: i64,
    pub sha256: String,
    pub taken_by: String,
    pub created_at: i64,
}

const PHOTO_COLUMNS: &str =
    "id, receipt_code, office_code, ticket_id, mime, width, height, sha256, taken_by, created_at";

fn photo(r: &AnyRow) -> Result<PhotoRow> {
    Ok(PhotoRow {
        id: r.try_get("id")?,
        receipt_code: r.try_get("receipt_code")?,
        office_code: r.try_get("office_code")?,
        ticket_id: r.try_get("ticket_id")?,
        mime: r.try_get("mime")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
        sha256: r.try_get("sha256")?,
        taken_by: r.try_get("taken_by")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn insert_photo(
    conn: &mut AnyConnection,
    p: &PhotoRow,
    bytes: &[u8],
) -> Result<PhotoRow> {
    let sql = format!(
        "INSERT INTO photos (receipt_code, office_code, ticket_id, mime, width, height, sha256, bytes, \
         taken_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {PHOTO_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(p.receipt_code.clone())
        .bind(p.office_code.clone())
        .bind(p.ticket_id)
        .bind(p.mime.clone())
        .bind(p.width)
        .bind(p.height)
        .bind(p.sha256.clone())
        .bind(bytes.to_vec())
        .bind(p.taken_by.clone())
        .bind(p.created_at)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| StorageError::from_write(e, "photo receipt"))?;
    photo(&row)
}

pub async fn photo_by_receipt(conn: &mut AnyConnection, code: &str) -> Result<Option<PhotoRow>> {
    let sql = format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE receipt_code = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(code.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(photo).transpose()
}

pub async fn photo_bytes(conn: &mut AnyConnection, id: i64) -> Result<Option<(String, Vec<u8>)>> {
    let row = sqlx::query("SELECT mime, bytes FROM photos WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get("mime")?, r.try_get("bytes")?)))
        .transpose()
}

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

const APP_COLUMNS: &str = "id, reference, office_code, product, person_id, ticket_id, appointment_id, \
     photo_id, checklist, fee_cents, currency, status, old_document_id, new_document_id, new_document_number, \
     collection_date, accepted_by, accepted_at, paid_at, ready_at, collected_at, collected_by";

fn application_from(r: &AnyRow) -> Result<ApplicationRow> {
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

async fn application_where(
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

fn payment_from_row(r: &sqlx::any::AnyRow) -> Result<PaymentRow> {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub office_code: String,
    /// `kiosk` or `ticket_printer`.
    pub kind: String,
    pub disabled: bool,
    pub last_seen_at: Option<i64>,
}

fn device(r: &AnyRow) -> Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        office_code: r.try_get("office_code")?,
        kind: r.try_get("kind")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        last_seen_at: r.try_get("last_seen_at")?,
    })
}

pub async fn insert_device(
    conn: &mut AnyConnection,
    name: &str,
    office: &str,
    kind: &str,
    token_hash: &str,
    now: i64,
) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO devices (name, office_code, kind, token_hash, disabled, created_at) \
         VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
    )
    .bind(name.to_string())
    .bind(office.to_string())
    .bind(kind.to_string())
    .bind(token_hash.to_string())
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "device name"))
}

/// The enabled device with this token hash; notes when it was last seen.
pub async fn device_by_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<DeviceRow>> {
    let row = sqlx::query(
        "UPDATE devices SET last_seen_at = $2 WHERE token_hash = $1 AND disabled = 0 \
         RETURNING id, name, office_code, kind, disabled, last_seen_at",
    )
    .bind(token_hash.to_string())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(device).transpose()
}

pub async fn devices(conn: &mut AnyConnection, office: Option<&str>) -> Result<Vec<DeviceRow>> {
    let rows = sqlx::query(
        "SELECT id, name, office_code, kind, disabled, last_seen_at FROM devices \
         WHERE ($1 = '' OR office_code = $1) ORDER BY office_code, name",
    )
    .bind(office.unwrap_or("").to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(device).collect()
}

pub async fn set_device_disabled(
    conn: &mut AnyConnection,
    name: &str,
    disabled: bool,
) -> Result<bool> {
    let r = sqlx::query("UPDATE devices SET disabled = $2 WHERE name = $1")
        .bind(name.to_string())
        .bind(i64::from(disabled))
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Office settings for the building: counters (slot capacity) and whether walk-ins get tickets.
pub async fn office_settings(
    conn: &mut AnyConnection,
    office: &str,
) -> Result<Option<(i64, bool)>> {
    let row = sqlx::query("SELECT counters, walk_ins FROM offices WHERE code = $1")
        .bind(office.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok((
            r.try_get("counters")?,
            r.try_get::<i64, _>("walk_ins")? != 0,
        ))
    })
    .transpose()
}

pub async fn set_office_settings(
    conn: &mut AnyConnection,
    office: &str,
    counters: i64,
    walk_ins: bool,
) -> Result<bool> {
    let r = sqlx::query("UPDATE offices SET counters = $2, walk_ins = $3 WHERE code = $1")
        .bind(office.to_string())
        .bind(counters)
        .bind(i64::from(walk_ins))
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The office where a photo was taken.
pub async fn photo_office(conn: &mut AnyConnection, id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT office_code FROM photos WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// A device's own report of its consumables (`ok`, `low` or `out`).
pub async fn set_device_status(
    conn: &mut AnyConnection,
    id: i64,
    paper: &str,
    ink: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE devices SET paper = $2, ink = $3, status_at = $4 WHERE id = $1")
        .bind(id)
        .bind(paper.to_string())
        .bind(ink.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Paper and ink of every device: `(name, paper, ink)`.
pub async fn device_consumables(conn: &mut AnyConnection) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query("SELECT name, paper, ink FROM devices ORDER BY name")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("paper")?, r.try_get("ink")?)))
        .collect()
}
