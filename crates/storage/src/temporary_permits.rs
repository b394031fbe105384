//! Temporary e-permits: the atomic monthly limit, status-list indexes, and the permits.

use crate::Result;
use crate::codes::Code;
use crate::statement::{
    all, changed_one, execute, optional, scalar, scalar_optional, scalars, select, transition,
};
use exitentry_domain::states::{TemporaryPermitApplicationState, TemporaryPermitState};
use sqlx::{AnyConnection, AssertSqlSafe};

/// Takes one of the person's monthly slots, or returns `false` when `limit` are taken.
/// One statement, so concurrent applications cannot both take the last slot: PostgreSQL
/// locks the row and re-checks the condition; SQLite runs writers one at a time.
pub async fn take_month_slot(
    conn: &mut AnyConnection,
    person_id: i64,
    month_key: &str,
    limit: i64,
) -> Result<bool> {
    if limit < 1 {
        return Ok(false);
    }
    let sql = "INSERT INTO temporary_permit_month_counts (person_id, month_key, issued) \
               VALUES ($1, $2, 1) ON CONFLICT (person_id, month_key) DO UPDATE \
               SET issued = temporary_permit_month_counts.issued + 1 \
               WHERE temporary_permit_month_counts.issued < $3 RETURNING issued";
    let issued: Option<i64> = scalar_optional(conn, sql, (person_id, month_key, limit)).await?;
    Ok(issued.is_some())
}

/// How many the person has been issued in `month_key`.
pub async fn issued_in_month(
    conn: &mut AnyConnection,
    person_id: i64,
    month_key: &str,
) -> Result<i64> {
    let sql = "SELECT issued FROM temporary_permit_month_counts \
               WHERE person_id = $1 AND month_key = $2";
    let n: Option<i64> = scalar_optional(conn, sql, (person_id, month_key)).await?;
    Ok(n.unwrap_or(0))
}

/// The next free index in the revocation status list.
pub async fn next_status_index(conn: &mut AnyConnection) -> Result<i64> {
    let sql = "UPDATE credential_sequence SET next_index = next_index + 1 WHERE id = 1 \
               RETURNING next_index - 1";
    scalar(conn, sql, ()).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PermitRecord {
    pub id: String,
    pub person_id: i64,
    pub document_id: i64,
    pub status_index: i64,
    pub month_key: String,
    pub valid_from: i64,
    pub valid_until: i64,
    /// `valid`, `cancelled` (by the holder) or `revoked` (by an officer); never `expired`
    /// (see [`TemporaryPermitState::on`]).
    #[sqlx(try_from = "Code<TemporaryPermitState>")]
    pub status: TemporaryPermitState,
    pub revoked_reason: Option<String>,
    pub payload: String,
}

const COLUMNS: &str = "id, person_id, document_id, status_index, month_key, valid_from, valid_until, \
                       status, revoked_reason, payload";

pub async fn insert(conn: &mut AnyConnection, p: &PermitRecord, now: i64) -> Result<()> {
    let sql = "INSERT INTO temporary_permits (id, person_id, document_id, status_index, \
               month_key, valid_from, valid_until, status, revoked_reason, payload, created_at, \
               updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)";
    let binds = (
        &p.id,
        p.person_id,
        p.document_id,
        p.status_index,
        &p.month_key,
        p.valid_from,
        p.valid_until,
        p.status.code(),
        &p.revoked_reason,
        &p.payload,
        now,
    );
    execute(conn, sql, binds).await?;
    Ok(())
}

pub async fn for_person(conn: &mut AnyConnection, person_id: i64) -> Result<Vec<PermitRecord>> {
    let rows = "temporary_permits WHERE person_id = $1 ORDER BY valid_from DESC";
    all(conn, select(COLUMNS, rows), (person_id,)).await
}

/// Ends a valid permit (`cancelled` or `revoked`); returns false if it was not valid.
pub async fn end(
    conn: &mut AnyConnection,
    id: &str,
    status: TemporaryPermitState,
    reason: Option<&str>,
    now: i64,
) -> Result<bool> {
    let from = TemporaryPermitState::Valid;
    let sql = "UPDATE temporary_permits SET status = $3, revoked_reason = $4, updated_at = $5 \
               WHERE id = $1 AND status = $2";
    transition(conn, sql, id, (from, status), (reason, now)).await
}

/// Status-list indexes of every permit that was cancelled or revoked.
pub async fn ended_indexes(conn: &mut AnyConnection) -> Result<Vec<i64>> {
    let sql = "SELECT status_index FROM temporary_permits WHERE status <> $1";
    scalars(conn, sql, (TemporaryPermitState::Valid.code(),)).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApplicationRecord {
    pub id: String,
    pub person_id: i64,
    pub document_id: i64,
    pub mobile: String,
    pub password_hash: String,
    #[sqlx(try_from = "Code<TemporaryPermitApplicationState>")]
    pub state: TemporaryPermitApplicationState,
    pub sms_code_hash: String,
    pub sms_sent_at: i64,
    pub sms_expires_at: i64,
    pub sms_tries: i64,
    /// Codes sent so far (the first and any resends).
    pub sms_sends: i64,
    pub permit_id: Option<String>,
}

const APP_COLUMNS: &str = "id, person_id, document_id, mobile, password_hash, state, sms_code_hash, \
                           sms_sent_at, sms_expires_at, sms_tries, sms_sends, permit_id";

pub async fn insert_application(
    conn: &mut AnyConnection,
    a: &ApplicationRecord,
    now: i64,
) -> Result<()> {
    let sql = "INSERT INTO temporary_permit_applications (id, person_id, document_id, mobile, \
         password_hash, state, sms_code_hash, sms_sent_at, sms_expires_at, sms_tries, permit_id, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)";
    let binds = (
        &a.id,
        a.person_id,
        a.document_id,
        &a.mobile,
        &a.password_hash,
        a.state.code(),
        &a.sms_code_hash,
        a.sms_sent_at,
        a.sms_expires_at,
        a.sms_tries,
        &a.permit_id,
        now,
    );
    execute(conn, sql, binds).await?;
    Ok(())
}

pub async fn application(conn: &mut AnyConnection, id: &str) -> Result<Option<ApplicationRecord>> {
    let sql = select(APP_COLUMNS, "temporary_permit_applications WHERE id = $1");
    optional(conn, sql, (id,)).await
}

/// Counts one SMS-code attempt atomically; returns the attempts so far.
pub async fn count_sms_try(conn: &mut AnyConnection, id: &str, now: i64) -> Result<i64> {
    let sql = "UPDATE temporary_permit_applications SET sms_tries = sms_tries + 1, \
               updated_at = $2 WHERE id = $1 RETURNING sms_tries";
    scalar(conn, sql, (id, now)).await
}

/// Counts a face check of an application waiting for one; false once `max` are used up
/// (taken before the provider is asked, so concurrent photos cannot exceed it).
pub async fn take_face_attempt(conn: &mut AnyConnection, id: &str, max: i64) -> Result<bool> {
    let sql = "UPDATE temporary_permit_applications SET face_attempts = face_attempts + 1 \
               WHERE id = $1 AND state = $3 AND face_attempts < $2";
    let awaiting = TemporaryPermitApplicationState::AwaitingFace;
    changed_one(conn, sql, (id, max, awaiting.code())).await
}

/// Moves an application from `from` to `to`; false if it was not in `from` (a concurrent
/// request got there first).
pub async fn advance(
    conn: &mut AnyConnection,
    id: &str,
    from: TemporaryPermitApplicationState,
    to: TemporaryPermitApplicationState,
    permit_id: Option<&str>,
    now: i64,
) -> Result<bool> {
    let sql = "UPDATE temporary_permit_applications SET state = $3, \
               permit_id = COALESCE($4, permit_id), updated_at = $5 WHERE id = $1 AND state = $2";
    transition(conn, sql, id, (from, to), (permit_id, now)).await
}

pub async fn permit(conn: &mut AnyConnection, id: &str) -> Result<Option<PermitRecord>> {
    let sql = select(COLUMNS, "temporary_permits WHERE id = $1");
    optional(conn, sql, (id,)).await
}

/// What the officer list filters on; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermitFilter {
    /// Issued in `[from, to)` (microseconds).
    pub issued_from: Option<i64>,
    pub issued_to: Option<i64>,
    /// `valid` (and not yet past its end), `expired` (valid but past it), `cancelled` or
    /// `revoked`.
    pub status: Option<TemporaryPermitState>,
    pub document_number: Option<String>,
    /// Status `valid`/`expired` are told apart at this instant.
    pub now: i64,
}

/// A row of the officer list: the permit with the holder's name and document number.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PermitListRow {
    #[sqlx(flatten)]
    pub permit: PermitRecord,
    pub document_kind: String,
    pub document_number: String,
    pub name_zh: Option<String>,
    pub name_latin: String,
    pub created_at: i64,
}

/// Newest first, at most `limit`.
pub async fn list(
    conn: &mut AnyConnection,
    f: &PermitFilter,
    limit: i64,
) -> Result<Vec<PermitListRow>> {
    let mut sql = String::from(
        "SELECT t.id, t.person_id, t.document_id, t.status_index, t.month_key, t.valid_from, \
         t.valid_until, t.status, t.revoked_reason, t.payload, t.created_at, d.kind AS document_kind, \
         d.number AS document_number, p.name_zh, p.name_latin \
         FROM temporary_permits t JOIN documents d ON d.id = t.document_id \
         JOIN people p ON p.id = t.person_id WHERE 1 = 1",
    );
    // Placeholders are numbered in the order the conditions are added; values are bound
    // in the same order below.
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if f.issued_from.is_some() {
        sql += &format!(" AND t.created_at >= {}", next());
    }
    if f.issued_to.is_some() {
        sql += &format!(" AND t.created_at < {}", next());
    }
    match f.status {
        Some(TemporaryPermitState::Valid) => {
            sql += &format!(" AND t.status = {} AND t.valid_until > {}", next(), next())
        }
        Some(TemporaryPermitState::Expired) => {
            sql += &format!(" AND t.status = {} AND t.valid_until <= {}", next(), next())
        }
        Some(_) => sql += &format!(" AND t.status = {}", next()),
        None => {}
    }
    if f.document_number.is_some() {
        sql += &format!(" AND d.number = {}", next());
    }
    sql += &format!(" ORDER BY t.created_at DESC, t.id LIMIT {}", next());
    let mut q = sqlx::query_as(AssertSqlSafe(sql));
    if let Some(v) = f.issued_from {
        q = q.bind(v);
    }
    if let Some(v) = f.issued_to {
        q = q.bind(v);
    }
    match f.status {
        Some(TemporaryPermitState::Valid | TemporaryPermitState::Expired) => {
            q = q.bind(TemporaryPermitState::Valid.code()).bind(f.now)
        }
        Some(s) => q = q.bind(s.code()),
        None => {}
    }
    if let Some(v) = &f.document_number {
        q = q.bind(v);
    }
    Ok(q.bind(limit).fetch_all(&mut *conn).await?)
}

/// Replaces an application's SMS code (a resend): new hash, times and a fresh try count.
/// Only when the last code went out at or before `sent_before` and fewer than `max_sends`
/// were sent, checked in the statement itself so concurrent resends cannot both pass.
pub async fn replace_sms_code(
    conn: &mut AnyConnection,
    id: &str,
    code_hash: &str,
    sent_at: i64,
    expires_at: i64,
    sent_before: i64,
    max_sends: i64,
) -> Result<bool> {
    let sql = "UPDATE temporary_permit_applications SET sms_code_hash = $2, sms_sent_at = $3, \
               sms_expires_at = $4, sms_tries = 0, sms_sends = sms_sends + 1, updated_at = $3 \
               WHERE id = $1 AND state = $7 AND sms_sent_at <= $5 AND sms_sends < $6";
    let awaiting = TemporaryPermitApplicationState::AwaitingSms;
    let binds = (
        id,
        code_hash,
        sent_at,
        expires_at,
        sent_before,
        max_sends,
        awaiting.code(),
    );
    changed_one(conn, sql, binds).await
}
