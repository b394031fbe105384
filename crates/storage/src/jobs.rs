//! The job queue. Jobs are enqueued inside the caller's transaction, so a business write
//! and the message it promises commit together; workers on any node claim due jobs.

use crate::statement::{all, changed_one, execute, optional, scalar};
use crate::{Backend, Result};
use sqlx::{AnyConnection, AssertSqlSafe};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    /// Including this run.
    pub attempts: i64,
}

pub async fn enqueue(
    conn: &mut AnyConnection,
    kind: &str,
    payload: &str,
    run_at: i64,
    now: i64,
) -> Result<i64> {
    let sql = "INSERT INTO jobs (kind, payload, run_at, attempts, created_at) \
               VALUES ($1, $2, $3, 0, $4) RETURNING id";
    scalar(conn, sql, (kind, payload, run_at, now)).await
}

/// Claims the oldest due job for `lease_micros`. On PostgreSQL `SKIP LOCKED` lets several
/// workers claim different jobs at once; SQLite has a single writer, so plain SQL suffices.
pub async fn claim(
    conn: &mut AnyConnection,
    backend: Backend,
    now: i64,
    lease_micros: i64,
) -> Result<Option<Job>> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 WHERE id = (\
           SELECT id FROM jobs WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= $2 \
           AND (locked_until IS NULL OR locked_until <= $2) ORDER BY run_at, id LIMIT 1{lock}) \
         RETURNING id, kind, payload, attempts"
    );
    optional(conn, AssertSqlSafe(sql), (now + lease_micros, now)).await
}

pub async fn complete(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    let sql = "UPDATE jobs SET done_at = $2, locked_until = NULL WHERE id = $1";
    execute(conn, sql, (id, now)).await?;
    Ok(())
}

/// Records a failure: retried at `retry_at`, or given up (`failed_at`) when `None`.
pub async fn fail(
    conn: &mut AnyConnection,
    id: i64,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> Result<()> {
    let sql = "UPDATE jobs SET last_error = $2, locked_until = NULL, \
               run_at = COALESCE($3, run_at), \
               failed_at = CASE WHEN $3 IS NULL THEN $4 ELSE NULL END WHERE id = $1";
    execute(conn, sql, (id, error, retry_at, now)).await?;
    Ok(())
}

/// A job given up on, as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FailedJob {
    #[sqlx(flatten)]
    pub job: Job,
    pub last_error: String,
    pub failed_at: i64,
}

/// Jobs given up on, newest first, with when they were given up.
pub async fn failed_jobs(conn: &mut AnyConnection, limit: i64) -> Result<Vec<FailedJob>> {
    let sql = "SELECT id, kind, payload, attempts, COALESCE(last_error, '') AS last_error, \
               failed_at FROM jobs WHERE failed_at IS NOT NULL \
               ORDER BY failed_at DESC, id DESC LIMIT $1";
    all(conn, sql, (limit,)).await
}

/// Jobs given up on, newest first, for staff to see.
pub async fn failed(conn: &mut AnyConnection, limit: i64) -> Result<Vec<(Job, String)>> {
    let jobs = failed_jobs(conn, limit).await?;
    Ok(jobs.into_iter().map(|f| (f.job, f.last_error)).collect())
}

/// Queues a given-up job again, due at `now` with a fresh count of attempts. `false` when
/// the job does not exist or is not given up (a double click retries once).
pub async fn retry(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let sql = "UPDATE jobs SET failed_at = NULL, attempts = 0, run_at = $2, locked_until = NULL \
               WHERE id = $1 AND failed_at IS NOT NULL";
    changed_one(conn, sql, (id, now)).await
}

/// A job by id (whatever its state), for the worker's callers and tests.
pub async fn job(conn: &mut AnyConnection, id: i64) -> Result<Option<Job>> {
    let sql = "SELECT id, kind, payload, attempts FROM jobs WHERE id = $1";
    optional(conn, sql, (id,)).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub created_at: i64,
}

/// Delivery by the development providers: the message lands here instead of a phone.
pub async fn deliver_to_outbox(
    conn: &mut AnyConnection,
    channel: &str,
    recipient: &str,
    subject: Option<&str>,
    body: &str,
    now: i64,
) -> Result<()> {
    let sql = "INSERT INTO outbox (channel, recipient, subject, body, created_at) \
               VALUES ($1, $2, $3, $4, $5)";
    execute(conn, sql, (channel, recipient, subject, body, now)).await?;
    Ok(())
}

pub async fn outbox(conn: &mut AnyConnection, limit: i64) -> Result<Vec<OutboxMessage>> {
    let sql = "SELECT id, channel, recipient, subject, body, created_at FROM outbox \
               ORDER BY id DESC LIMIT $1";
    all(conn, sql, (limit,)).await
}
