//! Permit holders' accounts (mobile number + password) and their sessions.

use crate::Result;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderRecord {
    pub id: i64,
    pub mobile: String,
    pub person_id: i64,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
}

fn from_row(r: &AnyRow) -> Result<HolderRecord> {
    Ok(HolderRecord {
        id: r.try_get("id")?,
        mobile: r.try_get("mobile")?,
        person_id: r.try_get("person_id")?,
        password_hash: r.try_get("password_hash")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
    })
}

/// Creates the account for a mobile number just verified by SMS, or hands an existing one
/// to this person with the new password (numbers are recycled; the SMS proves who has it
/// now). Ends the account's sessions when it changes hands. Returns the account id.
pub async fn upsert(
    conn: &mut AnyConnection,
    mobile: &str,
    person_id: i64,
    password_hash: &str,
    now: i64,
) -> Result<i64> {
    let previous: Option<(i64, i64)> =
        sqlx::query_as("SELECT id, person_id FROM holder_accounts WHERE mobile = $1")
            .bind(mobile.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((id, owner)) = previous {
        if owner != person_id {
            sqlx::query("DELETE FROM holder_sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query(
            "UPDATE holder_accounts SET person_id = $2, password_hash = $3, failed_logins = 0, \
             locked_until = NULL, updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(person_id)
        .bind(password_hash.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        return Ok(id);
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO holder_accounts (mobile, person_id, password_hash, failed_logins, created_at, \
         updated_at) VALUES ($1, $2, $3, 0, $4, $4) RETURNING id",
    )
    .bind(mobile.to_string())
    .bind(person_id)
    .bind(password_hash.to_string())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn by_mobile(conn: &mut AnyConnection, mobile: &str) -> Result<Option<HolderRecord>> {
    let row = sqlx::query(
        "SELECT id, mobile, person_id, password_hash, failed_logins, locked_until \
         FROM holder_accounts WHERE mobile = $1",
    )
    .bind(mobile.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderSessionRecord {
    pub account: HolderRecord,
    pub csrf_token: String,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub async fn session(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<HolderSessionRecord>> {
    let row = sqlx::query(
        "SELECT a.id, a.mobile, a.person_id, a.password_hash, a.failed_logins, a.locked_until, \
         s.csrf_token, s.last_seen_at, s.expires_at \
         FROM holder_sessions s JOIN holder_accounts a ON a.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(token_hash.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(HolderSessionRecord {
        account: from_row(&r)?,
        csrf_token: r.try_get("csrf_token")?,
        last_seen_at: r.try_get("last_seen_at")?,
        expires_at: r.try_get("expires_at")?,
    }))
}

/// A sign-up waiting for its SMS code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupRecord {
    pub id: String,
    pub person_id: i64,
    pub mobile: String,
    pub password_hash: String,
    pub code_hash: String,
    pub code_expires_at: i64,
    pub attempts: i64,
    pub completed_at: Option<i64>,
}

pub async fn insert_signup(conn: &mut AnyConnection, s: &SignupRecord, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO holder_signups (id, person_id, mobile, password_hash, code_hash, code_expires_at, \
         attempts, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
    )
    .bind(s.id.clone())
    .bind(s.person_id)
    .bind(s.mobile.clone())
    .bind(s.password_hash.clone())
    .bind(s.code_hash.clone())
    .bind(s.code_expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn signup(conn: &mut AnyConnection, id: &str) -> Result<Option<SignupRecord>> {
    let row = sqlx::query(
        "SELECT id, person_id, mobile, password_hash, code_hash, code_expires_at, attempts, completed_at \
         FROM holder_signups WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(SignupRecord {
            id: r.try_get("id")?,
            person_id: r.try_get("person_id")?,
            mobile: r.try_get("mobile")?,
            password_hash: r.try_get("password_hash")?,
            code_hash: r.try_get("code_hash")?,
            code_expires_at: r.try_get("code_expires_at")?,
            attempts: r.try_get("attempts")?,
            completed_at: r.try_get("completed_at")?,
        })
    })
    .transpose()
}

/// Counts a code attempt; returns the attempts so far, or `None` once `max` are used up.
pub async fn signup_attempt(conn: &mut AnyConnection, id: &str, max: i64) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "UPDATE holder_signups SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 \
         AND completed_at IS NULL RETURNING attempts",
    )
    .bind(id.to_string())
    .bind(max)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Marks the sign-up done; `false` if it already was (so one code makes one account).
pub async fn complete_signup(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE holder_signups SET completed_at = $2 WHERE id = $1 AND completed_at IS NULL",
    )
    .bind(id.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}
