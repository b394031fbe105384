//! Repeat-endorsement applications (online or at a kiosk) and their print jobs. Each state
//! change is a conditional UPDATE; a partial unique index keeps one live print job per
//! application, so two kiosks can never print the same endorsement.

use crate::bulk::count_in_states;
use crate::codes::{Code, Fen};
use crate::statement::{
    self, all, execute, insert_unique, inserted_id, optional, scalar, scalar_optional, select,
};
use crate::{Result, StorageError};
use exitentry_domain::products::{Currency, Money};
use exitentry_domain::states::{EndorsementApplicationState, PrintJobState};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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
    #[sqlx(rename = "fee_cents", try_from = "Fen")]
    pub fee: Money,
    /// `online`, `kiosk` or `counter`.
    pub channel: String,
    #[sqlx(try_from = "Code<EndorsementApplicationState>")]
    pub status: EndorsementApplicationState,
    pub endorsement_id: Option<i64>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub printed_at: Option<i64>,
    /// What a counter application adds (all `None` online and at kiosks).
    #[sqlx(flatten)]
    pub counter: CounterDetails,
    /// The code of the rule that kept a paid endorsement from being printed (refunded).
    pub refund_reason: Option<String>,
}

/// What a counter records: where, the declared relative of a family visit, the end of a
/// stay approval, the first day it may be printed, and the reviewer's decision.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct CounterDetails {
    pub office: Option<String>,
    pub relation: Option<String>,
    pub relative_name: Option<String>,
    pub fixed_until: Option<String>,
    pub ready_on: Option<String>,
    pub reviewed_by: Option<String>,
    pub review_note: Option<String>,
}

const COLUMNS: &str = "id, reference, person_id, document_id, destination, kind, trips_allowed, \
     validity_months, stay_days, fee_cents, channel, status, endorsement_id, created_at, paid_at, \
     printed_at, office, relation, relative_name, fixed_until, ready_on, reviewed_by, \
     review_note, refund_reason";

/// Records an application; a second open one for the card and destination is a `Conflict`.
/// Fees are in yuan (the table has no currency column).
pub async fn insert(conn: &mut AnyConnection, a: &ApplicationRow) -> Result<()> {
    if a.fee.currency != Currency::Cny {
        return Err(StorageError::Corrupt(format!(
            "endorsement fees are in CNY, not {}",
            a.fee.currency.code()
        )));
    }
    let sql = "INSERT INTO endorsement_applications (id, reference, person_id, document_id, \
         destination, kind, trips_allowed, validity_months, stay_days, fee_cents, channel, status, \
         created_at, updated_at, office, relation, relative_name, fixed_until, ready_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, \
         $14, $15, $16, $17, $18)";
    let c = &a.counter;
    let binds = (
        &a.id,
        &a.reference,
        a.person_id,
        a.document_id,
        &a.destination,
        &a.kind,
        a.trips_allowed,
        a.validity_months,
        a.stay_days,
        a.fee.cents,
        &a.channel,
        a.status.code(),
        a.created_at,
        &c.office,
        &c.relation,
        &c.relative_name,
        &c.fixed_until,
        &c.ready_on,
    );
    insert_unique(conn, sql, binds, "open endorsement application").await
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<ApplicationRow>> {
    let sql = select(COLUMNS, "endorsement_applications WHERE id = $1");
    optional(conn, sql, (id,)).await
}

/// A person's applications, newest first.
pub async fn for_person(conn: &mut AnyConnection, person_id: i64) -> Result<Vec<ApplicationRow>> {
    let rows = "endorsement_applications WHERE person_id = $1 ORDER BY created_at DESC LIMIT 100";
    all(conn, select(COLUMNS, rows), (person_id,)).await
}

/// Open applications (not printed, cancelled or refunded) of a permit for a destination.
pub async fn open_for(
    conn: &mut AnyConnection,
    document_id: i64,
    destination: &str,
) -> Result<i64> {
    let open = EndorsementApplicationState::ALL
        .iter()
        .filter(|s| s.is_open());
    let sql = "SELECT COUNT(*) FROM endorsement_applications WHERE document_id = $1 \
               AND destination = $2 AND status IN";
    count_in_states(conn, sql, (document_id, destination), open.copied()).await
}

/// Records why a paid application was refunded instead of printed.
pub async fn set_refund_reason(conn: &mut AnyConnection, id: &str, reason: &str) -> Result<()> {
    let sql = "UPDATE endorsement_applications SET refund_reason = $2 WHERE id = $1";
    execute(conn, sql, (id, reason)).await?;
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
    let paid_at = from.pays(to).then_some(now);
    let printed_at = (to == EndorsementApplicationState::Printed).then_some(now);
    let sql = "UPDATE endorsement_applications SET status = $3, updated_at = $4, \
               paid_at = COALESCE($5, paid_at), printed_at = COALESCE($6, printed_at) \
               WHERE id = $1 AND status = $2";
    statement::transition(conn, sql, id, (from, to), (now, paid_at, printed_at)).await
}

/// Applications in `status`, oldest first (the review queue).
pub async fn with_status(
    conn: &mut AnyConnection,
    status: EndorsementApplicationState,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    let rows = "endorsement_applications WHERE status = $1 ORDER BY created_at LIMIT $2";
    all(conn, select(COLUMNS, rows), (status.code(), limit)).await
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
    let sql = "UPDATE endorsement_applications SET status = $3, reviewed_by = $4, \
               review_note = $5, updated_at = $6 WHERE id = $1 AND status = $2";
    statement::transition(conn, sql, id, (from, to), (reviewer, note, now)).await
}

pub async fn set_endorsement(
    conn: &mut AnyConnection,
    id: &str,
    endorsement_id: i64,
) -> Result<()> {
    let sql = "UPDATE endorsement_applications SET endorsement_id = $2 WHERE id = $1";
    execute(conn, sql, (id, endorsement_id)).await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PrintJobRow {
    pub id: i64,
    pub application_id: String,
    pub device: String,
    #[sqlx(try_from = "Code<PrintJobState>")]
    pub status: PrintJobState,
    pub attempts: i64,
    pub error: Option<String>,
    pub updated_at: i64,
}

/// Queues the print of an application at a device; a `Conflict` when another live job has it.
pub async fn queue_print(
    conn: &mut AnyConnection,
    application_id: &str,
    device: &str,
    now: i64,
) -> Result<i64> {
    let sql = "INSERT INTO print_jobs (application_id, device, status, attempts, created_at, \
               updated_at) VALUES ($1, $2, $4, 0, $3, $3) RETURNING id";
    let binds = (application_id, device, now, PrintJobState::Queued.code());
    inserted_id(conn, sql, binds, "print job").await
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
    let attempt = i64::from(to == PrintJobState::Printing);
    let sql = "UPDATE print_jobs SET status = $3, error = $4, updated_at = $5, \
               attempts = attempts + $6 WHERE id = $1 AND status = $2";
    statement::transition(conn, sql, id, (from, to), (error, now, attempt)).await
}

pub async fn print_job(conn: &mut AnyConnection, id: i64) -> Result<Option<PrintJobRow>> {
    let sql = "SELECT id, application_id, device, status, attempts, error, updated_at \
               FROM print_jobs WHERE id = $1";
    optional(conn, sql, (id,)).await
}

/// The latest print job of every device, for the fleet page.
pub async fn latest_jobs(conn: &mut AnyConnection) -> Result<Vec<PrintJobRow>> {
    let sql = "SELECT j.id, j.application_id, j.device, j.status, j.attempts, j.error, \
               j.updated_at FROM print_jobs j WHERE j.id = \
               (SELECT MAX(k.id) FROM print_jobs k WHERE k.device = j.device) ORDER BY j.device";
    all(conn, sql, ()).await
}

/// Failed print attempts of an application so far.
pub async fn failed_attempts(conn: &mut AnyConnection, application_id: &str) -> Result<i64> {
    let sql = "SELECT COUNT(*) FROM print_jobs WHERE application_id = $1 AND status = $2";
    scalar(conn, sql, (application_id, PrintJobState::Failed.code())).await
}

/// Whether the person is registered state personnel (who apply through their unit).
pub async fn is_state_personnel(conn: &mut AnyConnection, person_id: i64) -> Result<bool> {
    let sql = "SELECT state_personnel FROM people WHERE id = $1";
    let v: Option<i64> = scalar_optional(conn, sql, (person_id,)).await?;
    Ok(v.unwrap_or(0) != 0)
}

/// Marks or unmarks a person as registered state personnel.
pub async fn set_state_personnel(
    conn: &mut AnyConnection,
    person_id: i64,
    yes: bool,
) -> Result<()> {
    let sql = "UPDATE people SET state_personnel = $2 WHERE id = $1";
    execute(conn, sql, (person_id, i64::from(yes))).await?;
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
    let sql = "UPDATE print_jobs SET status = $5, error = 'interrupted', updated_at = $3 \
               WHERE application_id = $1 AND status = $4 AND updated_at < $2";
    let (printing, failed) = (PrintJobState::Printing, PrintJobState::Failed);
    let binds = (application_id, before, now, printing.code(), failed.code());
    let released = execute(conn, sql, binds).await?;
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
