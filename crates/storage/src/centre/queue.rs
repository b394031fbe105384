//! Queue numbers and tickets: numbering per prefix and day, call next with SKIP LOCKED,
//! recall, finish, transfer.

use crate::error::decode;
use crate::{Backend, Result};
use exitentry_domain::states::TicketState;
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

pub(super) const TICKET_COLUMNS: &str = "id, office_code, day, service, label, appointment_id, person_id, priority, \
     status, counter, issued_by, issued_at, called_at, called_by, recalled_at, finished_at";

pub(super) fn ticket(r: &AnyRow) -> Result<TicketRow> {
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
