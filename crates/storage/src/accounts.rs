//! What staff, holder and applicant accounts share: database sessions (only the token's
//! SHA-256 is stored). Failed sign-ins are counted in `guards`.

use crate::Result;
use crate::statement::{Row, execute, optional, select};
use sqlx::{AnyConnection, AssertSqlSafe};

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

    fn table(self) -> &'static str {
        match self {
            Accounts::Staff => "staff_users",
            Accounts::Holders => "holder_accounts",
            Accounts::Applicants => "applicant_accounts",
        }
    }
}

/// The session with this token and its account, read as `R`: the account's `columns` (of
/// `a`) and the session's own (`csrf_token`, `created_at`, `last_seen_at`, `expires_at`).
pub(crate) async fn session<R: Row>(
    conn: &mut AnyConnection,
    accounts: Accounts,
    columns: &str,
    token_hash: &str,
) -> Result<Option<R>> {
    let columns = format!("{columns}, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at");
    let (sessions, table) = (accounts.sessions(), accounts.table());
    let from = format!("{sessions} s JOIN {table} a ON a.id = s.user_id WHERE s.token_hash = $1");
    optional(conn, select(&columns, &from), (token_hash,)).await
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
    let binds = (token_hash, user_id, csrf_token, now, expires_at);
    execute(conn, AssertSqlSafe(sql), binds).await?;
    Ok(())
}

pub async fn touch_session(
    conn: &mut AnyConnection,
    accounts: Accounts,
    token_hash: &str,
    now: i64,
) -> Result<()> {
    let table = accounts.sessions();
    let sql = format!("UPDATE {table} SET last_seen_at = $2 WHERE token_hash = $1");
    execute(conn, AssertSqlSafe(sql), (token_hash, now)).await?;
    Ok(())
}

pub async fn delete_session(
    conn: &mut AnyConnection,
    accounts: Accounts,
    token_hash: &str,
) -> Result<()> {
    let sql = format!("DELETE FROM {} WHERE token_hash = $1", accounts.sessions());
    execute(conn, AssertSqlSafe(sql), (token_hash,)).await?;
    Ok(())
}
