//! What staff, holder and applicant accounts share: counting failed logins towards a lock-out, and
//! database sessions (only the token's SHA-256 is stored).

use crate::Result;
use sqlx::AnyConnection;

/// Which kind of account a statement is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accounts {
    Staff,
    Holders,
    Applicants,
}

impl Accounts {
    fn users(self) -> &'static str {
        match self {
            Accounts::Staff => "staff_users",
            Accounts::Holders => "holder_accounts",
            Accounts::Applicants => "applicant_accounts",
        }
    }

    fn sessions(self) -> &'static str {
        match self {
            Accounts::Staff => "staff_sessions",
            Accounts::Holders => "holder_sessions",
            Accounts::Applicants => "applicant_sessions",
        }
    }
}

/// Counts a failed login atomically (no lost updates under concurrent attempts) and locks
/// the account once the count reaches `max_failures`. Returns the new count.
pub async fn record_failure(
    conn: &mut AnyConnection,
    accounts: Accounts,
    id: i64,
    max_failures: i64,
    lock_until: i64,
    now: i64,
) -> Result<i64> {
    let sql = format!(
        "UPDATE {} SET failed_logins = failed_logins + 1, updated_at = $2, \
         locked_until = CASE WHEN failed_logins + 1 >= $3 THEN $4 ELSE locked_until END \
         WHERE id = $1 RETURNING failed_logins",
        accounts.users()
    );
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(now)
        .bind(max_failures)
        .bind(lock_until)
        .fetch_one(&mut *conn)
        .await?;
    Ok(n)
}

/// Clears the failure count and any expired lock after a successful login.
pub async fn record_success(
    conn: &mut AnyConnection,
    accounts: Accounts,
    id: i64,
    now: i64,
) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $1",
        accounts.users()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn create_session(
    conn: &mut AnyConnection,
    accounts: Accounts,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO {} (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
        accounts.sessions()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token_hash.to_string())
        .bind(user_id)
        .bind(csrf_token.to_string())
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn touch_session(
    conn: &mut AnyConnection,
    accounts: Accounts,
    token_hash: &str,
    now: i64,
) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET last_seen_at = $2 WHERE token_hash = $1",
        accounts.sessions()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token_hash.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete_session(
    conn: &mut AnyConnection,
    accounts: Accounts,
    token_hash: &str,
) -> Result<()> {
    let sql = format!("DELETE FROM {} WHERE token_hash = $1", accounts.sessions());
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token_hash.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
