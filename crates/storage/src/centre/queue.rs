//! Queue numbers and tickets: numbering per prefix and day, call next with SKIP LOCKED,
//! recall, finish, transfer.

use crate::codes::Code;
use crate::statement::{all, changed_one, one, optional, scalar, select, transition};
use crate::{Backend, Result};
use exitentry_domain::states::TicketState::{self, Called, Waiting};
use sqlx::{AnyConnection, AssertSqlSafe};

/// The next queue number of a prefix at an office on a day (1, 2, 3 …).
pub async fn next_number(
    conn: &mut AnyConnection,
    office: &str,
    day: &str,
    prefix: &str,
) -> Result<i64> {
    let sql = "INSERT INTO queue_numbers (office_code, day, prefix, last_number) \
               VALUES ($1, $2, $3, 1) ON CONFLICT (office_code, day, prefix) \
               DO UPDATE SET last_number = queue_numbers.last_number + 1 RETURNING last_number";
    scalar(conn, sql, (office, day, prefix)).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TicketRow {
    pub id: i64,
    pub office_code: String,
    pub day: String,
    pub service: String,
    pub label: String,
    pub appointment_id: Option<String>,
    pub person_id: Option<i64>,
    pub priority: i64,
    #[sqlx(try_from = "Code<TicketState>")]
    pub status: TicketState,
    pub counter: Option<String>,
    pub issued_by: String,
    pub issued_at: i64,
    pub called_at: Option<i64>,
    pub called_by: Option<String>,
    pub recalled_at: Option<i64>,
    pub finished_at: Option<i64>,
}

const TICKET_COLUMNS: &str = "id, office_code, day, service, label, appointment_id, person_id, \
     priority, status, counter, issued_by, issued_at, called_at, called_by, recalled_at, finished_at";

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
        "INSERT INTO tickets (office_code, day, service, label, appointment_id, person_id, \
         priority, status, issued_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $10, $8, $9) \
         RETURNING {TICKET_COLUMNS}"
    );
    let binds = (
        t.office_code,
        t.day,
        t.service,
        t.label,
        t.appointment_id,
        t.person_id,
        t.priority,
        t.issued_by,
        now,
        Waiting.code(),
    );
    one(conn, AssertSqlSafe(sql), binds).await
}

pub async fn ticket_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<TicketRow>> {
    optional(conn, select(TICKET_COLUMNS, "tickets WHERE id = $1"), (id,)).await
}

pub async fn ticket_for_appointment(
    conn: &mut AnyConnection,
    appointment_id: &str,
) -> Result<Option<TicketRow>> {
    let sql = select(TICKET_COLUMNS, "tickets WHERE appointment_id = $1");
    optional(conn, sql, (appointment_id,)).await
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
    let mut q = sqlx::query_as(AssertSqlSafe(sql))
        .bind(counter)
        .bind(by)
        .bind(now)
        .bind(office)
        .bind(day)
        .bind(0_i64)
        .bind(Waiting.code())
        .bind(Called.code());
    for s in services {
        q = q.bind(s);
    }
    Ok(q.fetch_optional(&mut *conn).await?)
}

/// Finishes the ticket being served at a counter (`done` or `skipped`).
pub async fn finish_ticket(
    conn: &mut AnyConnection,
    id: i64,
    status: TicketState,
    now: i64,
) -> Result<bool> {
    let sql = "UPDATE tickets SET status = $3, finished_at = $4 WHERE id = $1 AND status = $2";
    transition(conn, sql, id, (Called, status), (now,)).await
}

pub async fn recall_ticket(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let sql = "UPDATE tickets SET recalled_at = $2 WHERE id = $1 AND status = $3";
    changed_one(conn, sql, (id, now, Called.code())).await
}

/// Sends a called ticket back to the queue of another service, keeping its place in time.
pub async fn transfer_ticket(conn: &mut AnyConnection, id: i64, service: &str) -> Result<bool> {
    let sql = "UPDATE tickets SET status = $3, service = $4, counter = NULL, called_at = NULL, \
               called_by = NULL, recalled_at = NULL WHERE id = $1 AND status = $2";
    transition(conn, sql, id, (Called, Waiting), (service,)).await
}

/// The ticket a counter is serving now, if any.
pub async fn serving_at(
    conn: &mut AnyConnection,
    office: &str,
    day: &str,
    counter: &str,
) -> Result<Option<TicketRow>> {
    let rows = "tickets WHERE office_code = $1 AND day = $2 AND counter = $3 AND status = $4 \
                ORDER BY called_at DESC LIMIT 1";
    let sql = select(TICKET_COLUMNS, rows);
    optional(conn, sql, (office, day, counter, Called.code())).await
}

/// All tickets of an office on a day, oldest first.
pub async fn tickets_on(
    conn: &mut AnyConnection,
    office: &str,
    day: &str,
) -> Result<Vec<TicketRow>> {
    let rows = "tickets WHERE office_code = $1 AND day = $2 ORDER BY issued_at, id";
    all(conn, select(TICKET_COLUMNS, rows), (office, day)).await
}
