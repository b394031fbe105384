//! Staff accounts and their sessions.

use crate::Result;
use crate::accounts::{self, Accounts};
use crate::codes::Flag;
use crate::statement::{all, inserted_id, optional, select};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StaffRecord {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub office_code: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub disabled: bool,
}

const COLUMNS: &str = "a.id, a.username, a.password_hash, a.role, a.office_code, a.disabled";

pub async fn create(
    conn: &mut AnyConnection,
    username: &str,
    password_hash: &str,
    role: &str,
    office_code: Option<&str>,
    now: i64,
) -> Result<i64> {
    let sql = "INSERT INTO staff_users (username, password_hash, role, office_code, \
               failed_logins, disabled, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, 0, 0, $5, $5) RETURNING id";
    let binds = (username, password_hash, role, office_code, now);
    inserted_id(conn, sql, binds, "username").await
}

pub async fn by_username(conn: &mut AnyConnection, username: &str) -> Result<Option<StaffRecord>> {
    let sql = select(COLUMNS, "staff_users a WHERE a.username = $1");
    optional(conn, sql, (username,)).await
}

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<StaffRecord>> {
    let sql = select(COLUMNS, "staff_users a ORDER BY a.username");
    all(conn, sql, ()).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRecord {
    #[sqlx(flatten)]
    pub user: StaffRecord,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub async fn session(conn: &mut AnyConnection, token_hash: &str) -> Result<Option<SessionRecord>> {
    accounts::session(conn, Accounts::Staff, COLUMNS, token_hash).await
}
