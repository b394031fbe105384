//! Documents: batch inserts for imports and demo data, lookups by number and by holder.

use crate::bulk::{BATCH, placeholders, values_with_timestamps};
use crate::error::corrupt;
use crate::people::{self, StoredPerson};
use crate::{Result, StorageError};
use chrono::NaiveDate;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::numbers::DocumentKind;
use exitentry_domain::person::parse_date;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    pub person_id: i64,
    pub kind: DocumentKind,
    pub number: String,
    pub issue_count: Option<u8>,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
    /// As stored; read the effective status through `document::effective_status`.
    pub status: DocumentStatus,
    pub office_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    pub id: i64,
    pub doc: DocumentRecord,
}

const COLUMNS: &str =
    "id, person_id, kind, number, issue_count, issued_on, expires_on, status, office_code";

fn from_row(r: &AnyRow) -> Result<StoredDocument> {
    let count: i64 = r.try_get("issue_count")?;
    Ok(StoredDocument {
        id: r.try_get("id")?,
        doc: DocumentRecord {
            person_id: r.try_get("person_id")?,
            kind: DocumentKind::parse(&r.try_get::<String, _>("kind")?).map_err(corrupt)?,
            number: r.try_get("number")?,
            issue_count: (count > 0).then(|| u8::try_from(count).unwrap_or(u8::MAX)),
            issued_on: parse_date(&r.try_get::<String, _>("issued_on")?).map_err(corrupt)?,
            expires_on: parse_date(&r.try_get::<String, _>("expires_on")?).map_err(corrupt)?,
            status: DocumentStatus::parse(&r.try_get::<String, _>("status")?).map_err(corrupt)?,
            office_code: r.try_get("office_code")?,
        },
    })
}

/// Inserts documents not yet present (by kind, number and issue count); returns how
/// many were new.
pub async fn insert_new(
    conn: &mut AnyConnection,
    docs: &[DocumentRecord],
    now: i64,
) -> Result<u64> {
    let mut inserted = 0;
    for chunk in docs.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO documents (person_id, kind, number, issue_count, issued_on, expires_on, \
             status, office_code, created_at, updated_at) VALUES {} \
             ON CONFLICT (kind, number, issue_count) DO NOTHING",
            values_with_timestamps(chunk.len(), 8)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for d in chunk {
            q = q
                .bind(d.person_id)
                .bind(d.kind.code())
                .bind(d.number.clone())
                .bind(i64::from(d.issue_count.unwrap_or(0)))
                .bind(d.issued_on.to_string())
                .bind(d.expires_on.to_string())
                .bind(d.status.code())
                .bind(d.office_code.clone());
        }
        let res = q
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(|e| StorageError::from_write(e, "document"))?;
        inserted += res.rows_affected();
    }
    Ok(inserted)
}

/// Existing documents among `(kind, number, issue_count)` keys with their holder's
/// external id, so an import can tell "already imported" from "number taken by another".
pub async fn find_existing(
    conn: &mut AnyConnection,
    numbers: &[String],
) -> Result<Vec<(StoredDocument, String)>> {
    let mut out = Vec::new();
    for chunk in numbers.chunks(BATCH) {
        let sql = format!(
            "SELECT d.id, d.person_id, d.kind, d.number, d.issue_count, d.issued_on, d.expires_on, \
             d.status, d.office_code, p.external_id FROM documents d JOIN people p ON p.id = d.person_id \
             WHERE d.number IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for n in chunk {
            q = q.bind(n.clone());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push((from_row(&r)?, r.try_get("external_id")?));
        }
    }
    Ok(out)
}

pub async fn for_person(conn: &mut AnyConnection, person_id: i64) -> Result<Vec<StoredDocument>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM documents WHERE person_id = $1 ORDER BY issued_on DESC, id DESC"
    )))
    .bind(person_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Documents with exactly this number, each with its holder.
pub async fn by_number(
    conn: &mut AnyConnection,
    number: &str,
) -> Result<Vec<(StoredDocument, StoredPerson)>> {
    // One statement: verification calls this on every check.
    let rows = sqlx::query(
        "SELECT d.id, d.person_id, d.kind, d.number, d.issue_count, d.issued_on, d.expires_on, \
         d.status, d.office_code, p.external_id, p.name_zh, p.name_latin, p.sex, p.date_of_birth, \
         p.region, p.nationality, p.id_kind, p.id_number, p.hukou_area \
         FROM documents d JOIN people p ON p.id = d.person_id \
         WHERE d.number = $1 ORDER BY d.issued_on DESC, d.id DESC",
    )
    .bind(number.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let d = from_row(r)?;
            let p = people::from_row_with_id(r, d.doc.person_id)?;
            Ok((d, p))
        })
        .collect()
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(&mut *conn)
        .await?)
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<StoredDocument>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM documents WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts one new document; a number already used (by any holder, ever) is a `Conflict`,
/// so numbers are never reused. Returns the new id.
pub async fn insert_one(conn: &mut AnyConnection, d: &DocumentRecord, now: i64) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO documents (person_id, kind, number, issue_count, issued_on, expires_on, status, \
         office_code, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(d.person_id)
    .bind(d.kind.code())
    .bind(d.number.clone())
    .bind(i64::from(d.issue_count.unwrap_or(0)))
    .bind(d.issued_on.to_string())
    .bind(d.expires_on.to_string())
    .bind(d.status.code())
    .bind(d.office_code.clone())
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "document number"))
}

/// Whether any document, of any kind and status, has this number.
pub async fn number_used(conn: &mut AnyConnection, number: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE number = $1")
        .bind(number.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(n > 0)
}

/// Changes a document's status from `from` to `to`; `false` when it was not in `from`.
pub async fn change_status(
    conn: &mut AnyConnection,
    id: i64,
    from: DocumentStatus,
    to: DocumentStatus,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE documents SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(from.code())
    .bind(to.code())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The latest Exit-Entry Permit (card or booklet) with this number, if any: what border
/// control and endorsement imports mean by a permit number.
pub async fn current_eep(conn: &mut AnyConnection, number: &str) -> Result<Option<StoredDocument>> {
    Ok(by_number(conn, number)
        .await?
        .into_iter()
        .map(|(d, _)| d)
        .filter(|d| matches!(d.doc.kind, DocumentKind::EepCard | DocumentKind::EepBooklet))
        .max_by_key(|d| d.doc.issued_on))
}
