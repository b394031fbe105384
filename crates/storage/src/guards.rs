//! Sign-in guards: failed attempts counted per sign-in name and per known device, taken
//! atomically *before* a password is checked, so concurrent guesses on any number of nodes
//! never get more checks than the limit inside one lock window.

use crate::Result;
use crate::accounts::Accounts;
use crate::statement::{execute, optional, scalar_optional};
use sqlx::AnyConnection;

/// The outcome of asking for a password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The check may run; this is the n-th failure counted if it fails.
    Granted { failures: i64 },
    /// Locked until this time (micros): no check runs.
    Locked { until: i64 },
}

/// Takes one attempt for `key`: counts it as a failure in advance (a success clears it) and
/// locks the key when the count reaches `max`. A lock that has ended starts a fresh count.
pub async fn take_attempt(
    conn: &mut AnyConnection,
    key: &str,
    max: i64,
    lock_until: i64,
    now: i64,
) -> Result<Attempt> {
    // One statement on both backends: the row lock (PostgreSQL) or the writer lock (SQLite)
    // makes read-count-lock a single step.
    let sql = "INSERT INTO sign_in_guards (guard_key, failures, locked_until, updated_at) \
         VALUES ($1, 1, CASE WHEN 1 >= $2 THEN $3 ELSE NULL END, $4) \
         ON CONFLICT (guard_key) DO UPDATE SET \
           failures = CASE WHEN sign_in_guards.locked_until IS NOT NULL \
                                AND sign_in_guards.locked_until <= $4 \
                           THEN 1 ELSE sign_in_guards.failures + 1 END, \
           locked_until = CASE \
             WHEN (CASE WHEN sign_in_guards.locked_until IS NOT NULL \
                             AND sign_in_guards.locked_until <= $4 \
                        THEN 1 ELSE sign_in_guards.failures + 1 END) >= $2 THEN $3 \
             ELSE NULL END, \
           updated_at = $4 \
         WHERE sign_in_guards.locked_until IS NULL OR sign_in_guards.locked_until <= $4 \
         RETURNING failures";
    if let Some(failures) = scalar_optional(conn, sql, (key, max, lock_until, now)).await? {
        return Ok(Attempt::Granted { failures });
    }
    let sql = "SELECT locked_until FROM sign_in_guards WHERE guard_key = $1";
    let until: Option<Option<i64>> = scalar_optional(conn, sql, (key,)).await?;
    Ok(Attempt::Locked {
        until: until.flatten().unwrap_or(now),
    })
}

/// Clears a key after a successful sign-in (its failures and any lock).
pub async fn clear(conn: &mut AnyConnection, key: &str) -> Result<()> {
    let sql = "DELETE FROM sign_in_guards WHERE guard_key = $1";
    execute(conn, sql, (key,)).await?;
    Ok(())
}

/// When a key's lock ends, if it is locked now.
pub async fn locked_until(conn: &mut AnyConnection, key: &str, now: i64) -> Result<Option<i64>> {
    let sql = "SELECT locked_until FROM sign_in_guards WHERE guard_key = $1 AND locked_until > $2";
    let until: Option<Option<i64>> = scalar_optional(conn, sql, (key, now)).await?;
    Ok(until.flatten())
}

/// Forgets guards whose last attempt is older than `before` (names nobody uses pile up).
pub async fn sweep(conn: &mut AnyConnection, before: i64) -> Result<u64> {
    let sql = "DELETE FROM sign_in_guards WHERE updated_at < $1 \
               AND (locked_until IS NULL OR locked_until < $1)";
    execute(conn, sql, (before,)).await
}

/// Forgets send windows that started before `before`.
pub async fn sweep_send_limits(conn: &mut AnyConnection, before: i64) -> Result<u64> {
    let sql = "DELETE FROM send_limits WHERE window_start < $1";
    execute(conn, sql, (before,)).await
}

/// Whether a known-device cookie belongs to account `id` of `kind`.
pub async fn device_of(
    conn: &mut AnyConnection,
    token_hash: &str,
    kind: Accounts,
    id: i64,
) -> Result<bool> {
    let sql = "SELECT account_kind, account_id FROM known_devices WHERE token_hash = $1";
    let owner: Option<(String, i64)> = optional(conn, sql, (token_hash,)).await?;
    Ok(owner.is_some_and(|(k, owner)| k == kind.code() && owner == id))
}

/// Remembers a device after a successful sign-in, or refreshes when it was last seen.
pub async fn remember_device(
    conn: &mut AnyConnection,
    token_hash: &str,
    kind: Accounts,
    account_id: i64,
    now: i64,
) -> Result<()> {
    let sql = "INSERT INTO known_devices (token_hash, account_kind, account_id, created_at, \
               last_seen_at) VALUES ($1, $2, $3, $4, $4) \
               ON CONFLICT (token_hash) DO UPDATE SET last_seen_at = $4";
    execute(conn, sql, (token_hash, kind.code(), account_id, now)).await?;
    Ok(())
}

/// Forgets devices last seen before `before`.
pub async fn sweep_devices(conn: &mut AnyConnection, before: i64) -> Result<u64> {
    let sql = "DELETE FROM known_devices WHERE last_seen_at < $1";
    execute(conn, sql, (before,)).await
}

/// Forgets every device of an account (its sign-in changed hands or was replaced).
pub async fn forget_devices(conn: &mut AnyConnection, kind: Accounts, id: i64) -> Result<()> {
    let sql = "DELETE FROM known_devices WHERE account_kind = $1 AND account_id = $2";
    execute(conn, sql, (kind.code(), id)).await?;
    Ok(())
}

/// Takes one message from a fixed window's allowance for `key`; `false` when `max` are
/// already used in the window starting at `window_start`.
pub async fn take_send(
    conn: &mut AnyConnection,
    key: &str,
    window_start: i64,
    max: i64,
) -> Result<bool> {
    let sql = "INSERT INTO send_limits (limit_key, window_start, sent) VALUES ($1, $2, 1) \
               ON CONFLICT (limit_key, window_start) DO UPDATE SET sent = send_limits.sent + 1 \
               WHERE send_limits.sent < $3 RETURNING sent";
    let taken: Option<i64> = scalar_optional(conn, sql, (key, window_start, max)).await?;
    Ok(taken.is_some_and(|n| n <= max))
}
