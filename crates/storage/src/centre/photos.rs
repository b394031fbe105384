//! Photos taken at the station and their receipts.

use crate::Result;
use crate::statement::{one, optional, select};
use sqlx::{AnyConnection, AssertSqlSafe};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PhotoRow {
    pub id: i64,
    pub receipt_code: String,
    pub office_code: String,
    pub ticket_id: Option<i64>,
    pub mime: String,
    pub width: i64,
    pub height: i64,
    pub sha256: String,
    pub taken_by: String,
    pub created_at: i64,
}

const PHOTO_COLUMNS: &str =
    "id, receipt_code, office_code, ticket_id, mime, width, height, sha256, taken_by, created_at";

pub async fn insert_photo(
    conn: &mut AnyConnection,
    p: &PhotoRow,
    bytes: &[u8],
) -> Result<PhotoRow> {
    let sql = format!(
        "INSERT INTO photos (receipt_code, office_code, ticket_id, mime, width, height, sha256, \
         bytes, taken_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         RETURNING {PHOTO_COLUMNS}"
    );
    let binds = (
        &p.receipt_code,
        &p.office_code,
        p.ticket_id,
        &p.mime,
        p.width,
        p.height,
        &p.sha256,
        bytes,
        &p.taken_by,
        p.created_at,
    );
    one(conn, AssertSqlSafe(sql), binds)
        .await
        .map_err(|e| e.or_conflict("photo receipt"))
}

pub async fn photo_by_receipt(conn: &mut AnyConnection, code: &str) -> Result<Option<PhotoRow>> {
    let sql = select(PHOTO_COLUMNS, "photos WHERE receipt_code = $1");
    optional(conn, sql, (code,)).await
}

pub async fn photo_bytes(conn: &mut AnyConnection, id: i64) -> Result<Option<(String, Vec<u8>)>> {
    optional(conn, "SELECT mime, bytes FROM photos WHERE id = $1", (id,)).await
}
