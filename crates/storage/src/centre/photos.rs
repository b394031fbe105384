//! Photos taken at the station and their receipts.

use crate::{Result, StorageError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
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

pub(super) const PHOTO_COLUMNS: &str =
    "id, receipt_code, office_code, ticket_id, mime, width, height, sha256, taken_by, created_at";

pub(super) fn photo(r: &AnyRow) -> Result<PhotoRow> {
    Ok(PhotoRow {
        id: r.try_get("id")?,
        receipt_code: r.try_get("receipt_code")?,
        office_code: r.try_get("office_code")?,
        ticket_id: r.try_get("ticket_id")?,
        mime: r.try_get("mime")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
        sha256: r.try_get("sha256")?,
        taken_by: r.try_get("taken_by")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn insert_photo(
    conn: &mut AnyConnection,
    p: &PhotoRow,
    bytes: &[u8],
) -> Result<PhotoRow> {
    let sql = format!(
        "INSERT INTO photos (receipt_code, office_code, ticket_id, mime, width, height, sha256, bytes, \
         taken_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {PHOTO_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(p.receipt_code.clone())
        .bind(p.office_code.clone())
        .bind(p.ticket_id)
        .bind(p.mime.clone())
        .bind(p.width)
        .bind(p.height)
        .bind(p.sha256.clone())
        .bind(bytes.to_vec())
        .bind(p.taken_by.clone())
        .bind(p.created_at)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| StorageError::from_write(e, "photo receipt"))?;
    photo(&row)
}

pub async fn photo_by_receipt(conn: &mut AnyConnection, code: &str) -> Result<Option<PhotoRow>> {
    let sql = format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE receipt_code = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(code.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(photo).transpose()
}

pub async fn photo_bytes(conn: &mut AnyConnection, id: i64) -> Result<Option<(String, Vec<u8>)>> {
    let row = sqlx::query("SELECT mime, bytes FROM photos WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get("mime")?, r.try_get("bytes")?)))
        .transpose()
}
