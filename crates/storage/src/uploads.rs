//! Uploaded files' records (the bytes are on disk, see `services::uploads`). Deleting is a
//! soft delete; the per-owner limit is a counter taken and released in one statement.

use crate::Result;
use crate::statement::{
    all, changed_one, execute, insert_unique, optional, scalar, scalar_optional, select,
};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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

pub async fn insert(conn: &mut AnyConnection, u: &UploadRow) -> Result<()> {
    let sql = "INSERT INTO uploads (id, owner, purpose, content_type, size, sha256, display_name, \
               stored_name, created_at, deleted_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let binds = (
        &u.id,
        &u.owner,
        &u.purpose,
        &u.content_type,
        u.size,
        &u.sha256,
        &u.display_name,
        &u.stored_name,
        u.created_at,
        u.deleted_at,
    );
    insert_unique(conn, sql, binds, "upload").await
}

/// An upload by id, deleted or not (callers decide what a deleted one means).
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<UploadRow>> {
    optional(conn, select(COLUMNS, "uploads WHERE id = $1"), (id,)).await
}

/// An owner's live uploads, oldest first (the order they were sent in).
pub async fn for_owner(conn: &mut AnyConnection, owner: &str) -> Result<Vec<UploadRow>> {
    let rows = "uploads WHERE owner = $1 AND deleted_at IS NULL ORDER BY created_at, id";
    all(conn, select(COLUMNS, rows), (owner,)).await
}

/// How many live uploads the owner has.
pub async fn count_for_owner(conn: &mut AnyConnection, owner: &str) -> Result<i64> {
    let sql = "SELECT COUNT(*) FROM uploads WHERE owner = $1 AND deleted_at IS NULL";
    scalar(conn, sql, (owner,)).await
}

/// Dialect an upload deleted; `false` when it was already deleted or does not exist.
pub async fn mark_deleted(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let sql = "UPDATE uploads SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL";
    changed_one(conn, sql, (id, now)).await
}

/// Takes one of the owner's `limit` places, or returns `false` when all are taken. One
/// statement: PostgreSQL locks the row and re-checks the condition; SQLite runs writers
/// one at a time.
pub async fn take_place(conn: &mut AnyConnection, owner: &str, limit: i64) -> Result<bool> {
    if limit < 1 {
        return Ok(false);
    }
    let sql = "INSERT INTO upload_counts (owner, live) VALUES ($1, 1) \
               ON CONFLICT (owner) DO UPDATE SET live = upload_counts.live + 1 \
               WHERE upload_counts.live < $2 RETURNING live";
    let live: Option<i64> = scalar_optional(conn, sql, (owner, limit)).await?;
    Ok(live.is_some())
}

/// Gives a place back after a removal.
pub async fn release_place(conn: &mut AnyConnection, owner: &str) -> Result<()> {
    let sql = "UPDATE upload_counts SET live = live - 1 WHERE owner = $1 AND live > 0";
    execute(conn, sql, (owner,)).await?;
    Ok(())
}

/// Stores an upload's bytes beside its record (in the same transaction).
pub async fn insert_contents(conn: &mut AnyConnection, id: &str, bytes: &[u8]) -> Result<()> {
    let sql = "INSERT INTO upload_contents (upload_id, bytes) VALUES ($1, $2)";
    insert_unique(conn, sql, (id, bytes), "upload contents").await
}

/// An upload's bytes, when they are kept in the database.
pub async fn contents(conn: &mut AnyConnection, id: &str) -> Result<Option<Vec<u8>>> {
    let sql = "SELECT bytes FROM upload_contents WHERE upload_id = $1";
    scalar_optional(conn, sql, (id,)).await
}

/// Drops a removed upload's bytes (its record stays, deleted, for the audit trail).
pub async fn delete_contents(conn: &mut AnyConnection, id: &str) -> Result<()> {
    execute(
        conn,
        "DELETE FROM upload_contents WHERE upload_id = $1",
        (id,),
    )
    .await?;
    Ok(())
}
