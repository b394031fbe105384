//! Uploaded files' records (the bytes are on disk, see `services::uploads`). Deleting is a
//! soft delete; the per-owner limit is a counter taken and released in one statement.

use crate::{Result, StorageError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    /// Random 128-bit hex.
    pub id: String,
    /// Whose file this is, e.g. `hrp_application:ID`; opaque to the store.
    pub owner: String,
    /// What the file is for, e.g. `hkid_front`.
    pub purpose: String,
    /// `image/jpeg`, `image/png` or `application/pdf`, read from the bytes.
    pub content_type: String,
    pub size: i64,
    /// Lower-case hex SHA-256 of the bytes, checked on every read.
    pub sha256: String,
    /// The client's file name, sanitised; for showing only, never for paths.
    pub display_name: String,
    /// File name inside `uploads.dir` (random hex).
    pub stored_name: String,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
}

const COLUMNS: &str = "id, owner, purpose, content_type, size, sha256, display_name, stored_name, \
     created_at, deleted_at";

fn from_row(r: &AnyRow) -> Result<UploadRow> {
    Ok(UploadRow {
        id: r.try_get("id")?,
        owner: r.try_get("owner")?,
        purpose: r.try_get("purpose")?,
        content_type: r.try_get("content_type")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        display_name: r.try_get("display_name")?,
        stored_name: r.try_get("stored_name")?,
        created_at: r.try_get("created_at")?,
        deleted_at: r.try_get("deleted_at")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, u: &UploadRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO uploads (id, owner, purpose, content_type, size, sha256, display_name, \
         stored_name, created_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(u.id.clone())
    .bind(u.owner.clone())
    .bind(u.purpose.clone())
    .bind(u.content_type.clone())
    .bind(u.size)
    .bind(u.sha256.clone())
    .bind(u.display_name.clone())
    .bind(u.stored_name.clone())
    .bind(u.created_at)
    .bind(u.deleted_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "upload"))?;
    Ok(())
}

/// An upload by id, deleted or not (callers decide what a deleted one means).
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<UploadRow>> {
    let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// An owner's live uploads, oldest first (the order they were sent in).
pub async fn for_owner(conn: &mut AnyConnection, owner: &str) -> Result<Vec<UploadRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE owner = $1 AND deleted_at IS NULL \
         ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// How many live uploads the owner has.
pub async fn count_for_owner(conn: &mut AnyConnection, owner: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM uploads WHERE owner = $1 AND deleted_at IS NULL")
            .bind(owner.to_string())
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Marks an upload deleted; `false` when it was already deleted or does not exist.
pub async fn mark_deleted(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let r = sqlx::query("UPDATE uploads SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
        .bind(id.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Takes one of the owner's `limit` places, or returns `false` when all are taken. One
/// statement: PostgreSQL locks the row and re-checks the condition; SQLite runs writers
/// one at a time.
pub async fn take_place(conn: &mut AnyConnection, owner: &str, limit: i64) -> Result<bool> {
    if limit < 1 {
        return Ok(false);
    }
    let row = sqlx::query(
        "INSERT INTO upload_counts (owner, live) VALUES ($1, 1) \
         ON CONFLICT (owner) DO UPDATE SET live = upload_counts.live + 1 \
         WHERE upload_counts.live < $2 RETURNING live",
    )
    .bind(owner.to_string())
    .bind(limit)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// Gives a place back after a removal.
pub async fn release_place(conn: &mut AnyConnection, owner: &str) -> Result<()> {
    sqlx::query("UPDATE upload_counts SET live = live - 1 WHERE owner = $1 AND live > 0")
        .bind(owner.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
