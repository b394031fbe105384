//! Repeat-endorsement applications (online or at a kiosk) and their print jobs. Each state
//! change is a conditional UPDATE; a partial unique index keeps one live print job per
//! application, so two kiosks can never print the same endorsement.

use crate::bulk::placeholders_from;
use crate::error::decode;
use crate::{Result, StorageError};
use exitentry_domain::products::{Currency, Money};
use exitentry_domain::states::{EndorsementApplicationState, PrintJobState};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    pub id: String,
    pub reference: String,
    pub person_id: i64,
    pub document_id: i64,
    pub destination: String,
    pub kind: String,
    pub trips_allowed: Option<i64>,
    pub validity_months: i64,
    pub stay_days: i64,
    /// Always in yuan (the column holds fen).
    pub fee: Money,
    /// `online`, `kiosk` or `counter`.
    pub channel: String,
    pub status: EndorsementApplicationState,
    pub endorsement_id: Option<i64>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub printed_at: Option<i64>,
    /// What a counter application adds (all `None` online and at kiosks).
    pub counter: CounterDetails,
    /// The code of the rule that kept a paid endorsement from being printed (refunded).
    pub refund_reason: Option<String>,
}

/// What a counter records: where, the declared relative of a family visit, the end of a
/// stay approval, the first day it may be printed, and the reviewer's decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterDetails {
    pub office: Option<String>,
    pub relation: Option<String>,
    pub relative_name: Option<String>,
    pub fixed_until: Option<String>,
    pub ready_on: Option<String>,
    pub reviewed_by: Option<String>,
    pub review_note: Option<String>,
}

const COLUMNS: &str = "id, reference, person_id, document_id, destination, kind, trips_allowed, validity_months, \
     stay_days, fee_cents, channel, status, endorsement_id, created_at, paid_at, printed_at, \
     office, relation, relative_name, fixed_until, ready_on, reviewed_by, review_note, refund_reason";

fn from_row(r: &AnyRow) -> Result<ApplicationRow> {
    Ok(ApplicationRow {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        person_id: r.try_get("person_id")?,
        document_id: r.try_get("document_id")?,
        destination: r.try_get("destination")?,
        kind: r.try_get("kind")?,
        trips_allowed: r.try_get("trips_allowed")?,
        validity_months: r.try_get("validity_months")?,
        stay_days: r.try_get("stay_days")?,
        fee: Money::cny(r.try_get("fee_cents")?),
        channel: r.try_get("channel")?,
        status: decode(r, "status")?,
        endorsement_id: r.try_get("endorsement_id")?,
        created_at: r.try_get("created_at")?,
        paid_at: r.try_get("paid_at")?,
        printed_at: r.try_get("printed_at")?,
        counter: CounterDetails {
            office: r.try_get("office")?,
            relation: r.try_get("relation")?,
            relative_name: r.try_get("relative_name")?,
            fixed_until: r.try_get("fixed_until")?,
            ready_on: r.try_get("ready_on")?,
            reviewed_by: r.try_get("reviewed_by")?,
            review_note: r.try_get("review_note")?,
        },
        refund_reason: r.try_get("refund_reason")?,
    })
}

/// Records an application; a second open one for the card and destination is a `Conflict`.
/// Fees are in yuan (the table has no currency column).
pub async fn insert(conn: &mut AnyConnection, a: &ApplicationRow) -> Result<()> {
    if a.fee.currency != Currency::Cny {
        return Err(StorageError::Corrupt(format!(
            "endorsement fees are in CNY, not {}",
            a.fee.currency.code()
        )));
    }
    sqlx::query(
        "INSERT INTO endorsement_applications (id, reference, person_id, document_id, destination, kind, \
         trips_allowed, validity_months, stay_days, fee_cents, channel, status, created_at, updated_at, \
         office, relation, relative_name, fixed_until, ready_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16, $17, $18)",
    )
    .bind(a.id.clone())
    .bind(a.reference.clone())
    .bind(a.person_id)
    .bind(a.document_id)
    .bind(a.destination.clone())
    .bind(a.kind.clone())
    .bind(a.trips_allowed)
    .bind(a.validity_months)
    .bind(a.stay_days)
    .bind(a.fee.cents)
    .bind(a.channel.clone())
    .bind(a.status.code())
    .bind(a.created_at)
    .bind(a.counter.office.clone())
    .bind(a.counter.relation.clone())
    .bind(a.counter.relative_name.clone())
    .bind(a.counter.fixed_until.clone())
    .bind(a.counter.ready_on.clone())
    .execute(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "open endorsement application"))?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<ApplicationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM endorsement_applications WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A person's applications, newest first.
pub async fn for_person(conn: &mut AnyConnection, person_id: i64) -> Result<Vec<ApplicationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM endorsement_applications WHERE person_id = $1 ORDER BY created_at DESC LIMIT 100"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(person_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Open applications (not printed, cancelled or refunded) of a permit for a destination.
pub async fn open_for(
    conn: &mut AnyConnection,
    document_id: i64,
    destination: &str,
) -> Result<i64> {
    let open: Vec<_> = EndorsementApplicationState::ALL
        .iter()
        .filter(|s| s.is_open())
        .collect();
    let sql = format!(
        "SELECT COUNT(*) FROM endorsement_applications WHERE document_id = $1 AND destination = $2 \
         AND status IN ({})",
        placeholders_from(3, open.len())
    );
    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(document_id)
        .bind(destination.to_string());
    for s in open {
        q = q.bind(s.code());
    }
    Ok(q.fetch_one(&mut *conn).await?)
}

/// Records why a paid application was refunded instead of printed.
pub async fn set_refund_reason(conn: &mut AnyConnection, id: &str, reason: &str) -> Result<()> {
    sqlx::query("UPDATE endorsement_applications SET refund_reason = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(reason.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Moves an application from `from` to `to`; `false` when it was not in `from`. The move
/// out of `awaiting_payment` records when it was paid, the move to `printed` when printed.
pub async fn transition(
    conn: &mut AnyConnection,
    id: &str,
    from: EndorsementApplicationState,
    to: EndorsementApplicationState,
    now: i64,
) -> Result<bool> {
    debug_assert!(from.can_become(to), "{from} -> {to}");
    let paid_at = from.pays(to).then_some(now);
    let printed_at = (to == EndorsementApplicationState::Printed).then_some(now);
    let r = sqlx::query(
        "UPDATE endorsement_applications SET status = $3, updated_at = $4, \
         paid_at = COALESCE($5, paid_at), printed_at = COALESCE($6, printed_at) \
         WHERE id = $1 AND status = $2",
    )
    .bind(id.to_string())
    .bind(from.code())
    .bind(to.code())
    .bind(now)
    .bind(paid_at)
    .bind(printed_at)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Applications in `status`, oldest first (the review queue).
pub async fn with_status(
    conn: &mut AnyConnection,
    status: EndorsementApplicationState,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM endorsement_applications WHERE status = $1 ORDER BY created_at LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(status.code())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// A reviewer's decision on an application under review: `false` when someone decided first.
pub async fn decide(
    conn: &mut AnyConnection,
    id: &str,
    to: EndorsementApplicationState,
    reviewer: &str,
    note: &str,
    now: i64,
) -> Result<bool> {
    let from = EndorsementApplicationState::UnderReview;
    debug_assert!(from.can_become(to), "{from} -> {to}");
    let r = sqlx::query(
        "UPDATE endorsement_applications SET status = $2, reviewed_by = $3, review_note = $4, \
         updated_at = $5 WHERE id = $1 AND status = $6",
    )
    .bind(id.to_string())
    .bind(to.code())
    .bind(reviewer.to_string())
    .bind(note.to_string())
    .bind(now)
    .bind(from.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_endorsement(
    conn: &mut AnyConnection,
    id: &str,
    endorsement_id: i64,
) -> Result<()> {
    sqlx::query("UPDATE endorsement_applications SET endorsement_id = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(endorsement_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJobRow {
    pub id: i64,
    pub application_id: String,
    pub device: String,
    pub status: PrintJobState,
    pub attempts: i64,
    pub error: Option<String>,
    pub updated_at: i64,
}

fn job(r: &AnyRow) -> Result<PrintJobRow> {
    Ok(PrintJobRow {
        id: r.try_get("id")?,
        application_id: r.try_get("application_id")?,
        device: r.try_get("device")?,
        status: decode(r, "status")?,
        attempts: r.try_get("attempts")?,
        error: r.try_get("error")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Queues the print of an application at a device; a `Conflict` when another live job has it.
pub async fn queue_print(
    conn: &mut AnyConnection,
    application_id: &str,
    device: &str,
    now: i64,
) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO print_jobs (application_id, device, status, attempts, created_at, updated_at) \
         VALUES ($1, $2, $4, 0, $3, $3) RETURNING id",
    )
    .bind(application_id.to_string())
    .bind(device.to_string())
    .bind(now)
    .bind(PrintJobState::Queued.code())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "print job"))
}

/// Moves a print job between states, counting attempts when printing starts.
pub async fn job_transition(
    conn: &mut AnyConnection,
    id: i64,
    from: PrintJobState,
    to: PrintJobState,
    error: Option<&str>,
    now: i64,
) -> Result<bool> {
    debug_assert!(from.can_become(to), "{from} -> {to}");
    let attempt = i64::from(to == PrintJobState::Printing);
    let r = sqlx::query(
        "UPDATE print_jobs SET status = $3, error = $4, updated_at = $5, \
         attempts = attempts + $6 WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(from.code())
    .bind(to.code())
    .bind(error.map(str::to_string))
    .bind(now)
    .bind(attempt)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn print_job(conn: &mut AnyConnection, id: i64) -> Result<Option<PrintJobRow>> {
    let row = sqlx::query(
        "SELECT id, application_id, device, status, attempts, error, updated_at FROM print_jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(job).transpose()
}

/// The latest print job of every device, for the fleet page.
pub async fn latest_jobs(conn: &mut AnyConnection) -> Result<Vec<PrintJobRow>> {
    let rows = sqlx::query(
        "SELECT j.id, j.application_id, j.device, j.status, j.attempts, j.error, j.updated_at FROM print_jobs j \
         WHERE j.id = (SELECT MAX(k.id) FROM print_jobs k WHERE k.device = j.device) ORDER BY j.device",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(job).collect()
}

/// Failed print attempts of an application so far.
pub async fn failed_attempts(conn: &mut AnyConnection, application_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM print_jobs WHERE application_id = $1 AND status = $2",
    )
    .bind(application_id.to_string())
    .bind(PrintJobState::Failed.code())
    .fetch_one(&mut *conn)
    .await?)
}

/// Whether the person is registered state personnel (who apply through their unit).
pub async fn is_state_personnel(conn: &mut AnyConnection, person_id: i64) -> Result<bool> {
    let v: Option<i64> = sqlx::query_scalar("SELECT state_personnel FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(v.unwrap_or(0) != 0)
}

/// Marks or unmarks a person as registered state personnel.
pub async fn set_state_personnel(
    conn: &mut AnyConnection,
    person_id: i64,
    yes: bool,
) -> Result<()> {
    sqlx::query("UPDATE people SET state_personnel = $2 WHERE id = $1")
        .bind(person_id)
        .bind(i64::from(yes))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Print jobs left `printing` since before `before` (the kiosk or the process stopped
/// mid-print): marked failed, and their applications made ready to print again. Returns how
/// many were released.
pub async fn release_interrupted(
    conn: &mut AnyConnection,
    application_id: &str,
    before: i64,
    now: i64,
) -> Result<u64> {
    let released = sqlx::query(
        "UPDATE print_jobs SET status = $5, error = 'interrupted', updated_at = $3 \
         WHERE application_id = $1 AND status = $4 AND updated_at < $2",
    )
    .bind(application_id.to_string())
    .bind(before)
    .bind(now)
    .bind(PrintJobState::Printing.code())
    .bind(PrintJobState::Failed.code())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if released > 0 {
        transition(
            conn,
            application_id,
            EndorsementApplicationState::Printing,
            EndorsementApplicationState::ReadyToPrint,
            now,
        )
        .await?;
    }
    Ok(released)
}
