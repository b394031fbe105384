//! What staff, holder and applicant accounts share: database sessions (only the token's
//! SHA-256 is stored). Failed sign-ins are counted in `guards`.

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
    /// The kind's name in keys and rows shared by all kinds (sign-in guards, known devices).
    pub fn code(self) -> &'static str {
        match self {
            Accounts::Staff => "staff",
            Accounts::Holders => "holder",
            Accounts::Applicants => "applicant",
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
