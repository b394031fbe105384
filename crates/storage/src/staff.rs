//! Staff accounts and their sessions.

use crate::{Result, StorageError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub office_code: Option<String>,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub disabled: bool,
}

const COLUMNS: &str =
    "id, username, password_hash, role, office_code, failed_logins, locked_until, disabled";

fn from_row(r: &AnyRow) -> Result<StaffRecord> {
    Ok(StaffRecord {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get("role")?,
        office_code: r.try_get("office_code")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

pub async fn create(
    conn: &mut AnyConnection,
    username: &str,
    password_hash: &str,
    role: &str,
    office_code: Option<&str>,
    now: i64,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO staff_users (username, password_hash, role, office_code, failed_logins, \
         disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, 0, $5, $5) RETURNING id",
    )
    .bind(username.to_string())
    .bind(password_hash.to_string())
    .bind(role.to_string())
    .bind(office_code.map(str::to_string))
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "username"))?;
    Ok(id)
}

pub async fn by_username(conn: &mut AnyConnection, username: &str) -> Result<Option<StaffRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM staff_users WHERE username = $1"
    )))
    .bind(username.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<StaffRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM staff_users ORDER BY username"
    )))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: StaffRecord,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub async fn session(conn: &mut AnyConnection, token_hash: &str) -> Result<Option<SessionRecord>> {
    let row = sqlx::query(
        "SELECT u.id, u.username, u.password_hash, u.role, u.office_code, u.failed_logins, \
         u.locked_until, u.disabled, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at \
         FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(token_hash.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(SessionRecord {
        user: from_row(&r)?,
        csrf_token: r.try_get("csrf_token")?,
        created_at: r.try_get("created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        expires_at: r.try_get("expires_at")?,
    }))
}
