//! Documents: batch inserts for imports and demo data, lookups by number and by holder.

use crate::Result;
use crate::bulk::{self, Dialect, LOOKUP_BATCH, insert_batches};
use crate::codes::Code;
use crate::people::{PersonRecord, StoredPerson};
use crate::statement::{
    Binds, all, changed_one, counts_any, inserted_id, optional, scalar, select,
};
use chrono::NaiveDate;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::numbers::DocumentKind;
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DocumentRecord {
    pub person_id: i64,
    #[sqlx(try_from = "Code<DocumentKind>")]
    pub kind: DocumentKind,
    pub number: String,
    #[sqlx(try_from = "IssueCount")]
    pub issue_count: Option<u8>,
    #[sqlx(try_from = "Code<NaiveDate>")]
    pub issued_on: NaiveDate,
    #[sqlx(try_from = "Code<NaiveDate>")]
    pub expires_on: NaiveDate,
    /// As stored; read the effective status through `document::effective_status`.
    #[sqlx(try_from = "Code<DocumentStatus>")]
    pub status: DocumentStatus,
    pub office_code: Option<String>,
}

/// The issue count column: `0` for document kinds without one.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct IssueCount(i64);

impl From<IssueCount> for Option<u8> {
    fn from(c: IssueCount) -> Option<u8> {
        (c.0 > 0).then(|| u8::try_from(c.0).unwrap_or(u8::MAX))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredDocument {
    pub id: i64,
    #[sqlx(flatten)]
    pub doc: DocumentRecord,
}

/// A document with its holder's columns (the row's `id` is the document's).
#[derive(sqlx::FromRow)]
pub(crate) struct WithHolder<H> {
    #[sqlx(flatten)]
    document: StoredDocument,
    #[sqlx(flatten)]
    holder: H,
}

impl WithHolder<PersonRecord> {
    pub(crate) fn into_holding(self) -> (StoredDocument, StoredPerson) {
        let id = self.document.doc.person_id;
        let person = StoredPerson {
            id,
            person: self.holder,
        };
        (self.document, person)
    }
}

/// The columns of a document (as `d`); lookups add the holder's ([`HOLDER_COLUMNS`]).
pub(crate) const COLUMNS: &str = "d.id, d.person_id, d.kind, d.number, d.issue_count, d.issued_on, \
     d.expires_on, d.status, d.office_code";

/// Inserts documents not yet present (by kind, number and issue count); returns how
/// many were new.
pub async fn insert_new(
    conn: &mut AnyConnection,
    docs: &[DocumentRecord],
    now: i64,
) -> Result<u64> {
    let statement = |dialect: Dialect, rows| {
        format!(
            "INSERT INTO documents (person_id, kind, number, issue_count, issued_on, expires_on, \
             status, office_code, created_at, updated_at) VALUES {} \
             ON CONFLICT (kind, number, issue_count) DO NOTHING",
            dialect.rows(rows, 10)
        )
    };
    insert_batches(conn, docs, 10, statement, document_values, (now, now))
        .await
        .map_err(|e| e.or_conflict("document"))
}

/// Inserts documents an import has checked are not registered yet; a clash is a `Conflict`.
pub async fn insert_all_new(
    conn: &mut AnyConnection,
    docs: &[DocumentRecord],
    now: i64,
) -> Result<u64> {
    let into = "documents (person_id, kind, number, issue_count, issued_on, expires_on, status, \
                office_code, created_at, updated_at)";
    let what = "a document of the file was registered while it was imported";
    bulk::insert_all_new(conn, docs, (into, 10), document_values, (now, now), what).await
}

fn document_values(d: &DocumentRecord) -> impl Binds + '_ {
    (
        d.person_id,
        d.kind.code(),
        d.number.as_str(),
        i64::from(d.issue_count.unwrap_or(0)),
        d.issued_on.to_string(),
        d.expires_on.to_string(),
        d.status.code(),
        d.office_code.as_deref(),
    )
}

/// Existing documents among `(kind, number, issue_count)` keys with their holder's
/// external id, so an import can tell "already imported" from "number taken by another".
pub async fn find_existing(
    conn: &mut AnyConnection,
    numbers: &[String],
) -> Result<Vec<(StoredDocument, String)>> {
    let mut out = Vec::new();
    let dialect = Dialect::of(conn);
    for chunk in numbers.chunks(LOOKUP_BATCH) {
        let sql = select(
            &format!("{COLUMNS}, p.external_id"),
            &format!(
                "documents d JOIN people p ON p.id = d.person_id WHERE d.number IN ({})",
                dialect.list(1, chunk.len())
            ),
        );
        let mut q = sqlx::query_as(sql);
        for n in chunk {
            q = q.bind(n);
        }
        let found: Vec<WithHolder<ExternalId>> = q.fetch_all(&mut *conn).await?;
        out.extend(
            found
                .into_iter()
                .map(|f| (f.document, f.holder.external_id)),
        );
    }
    Ok(out)
}

/// The holder's external id beside a document.
#[derive(sqlx::FromRow)]
struct ExternalId {
    external_id: String,
}

pub async fn for_person(conn: &mut AnyConnection, person_id: i64) -> Result<Vec<StoredDocument>> {
    let rows = "documents d WHERE person_id = $1 ORDER BY issued_on DESC, id DESC";
    all(conn, select(COLUMNS, rows), (person_id,)).await
}

/// Documents with exactly this number, each with its holder.
pub async fn by_number(
    conn: &mut AnyConnection,
    number: &str,
) -> Result<Vec<(StoredDocument, StoredPerson)>> {
    let sql = select(
        &format!("{COLUMNS}, {HOLDER_COLUMNS}"),
        "documents d JOIN people p ON p.id = d.person_id WHERE d.number = $1 \
         ORDER BY d.issued_on DESC, d.id DESC",
    );
    let found: Vec<WithHolder<PersonRecord>> = all(conn, sql, (number,)).await?;
    Ok(found.into_iter().map(WithHolder::into_holding).collect())
}

/// The holder's columns (as `p`) beside a document's, in `PersonRecord` order.
pub(crate) const HOLDER_COLUMNS: &str = "p.external_id, p.name_zh, p.name_latin, p.sex, \
     p.date_of_birth, p.region, p.nationality, p.id_kind, p.id_number, p.hukou_area";

pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    scalar(conn, "SELECT COUNT(*) FROM documents", ()).await
}

/// Whether there are no documents at all (without counting them).
pub async fn none(conn: &mut AnyConnection) -> Result<bool> {
    let sql = "SELECT COUNT(*) FROM (SELECT 1 FROM documents LIMIT 1) AS one";
    Ok(scalar::<i64>(conn, sql, ()).await? == 0)
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<StoredDocument>> {
    optional(conn, select(COLUMNS, "documents d WHERE id = $1"), (id,)).await
}

/// Inserts one new document; a number already used (by any holder, ever) is a `Conflict`,
/// so numbers are never reused. Returns the new id.
pub async fn insert_one(conn: &mut AnyConnection, d: &DocumentRecord, now: i64) -> Result<i64> {
    let sql = "INSERT INTO documents (person_id, kind, number, issue_count, issued_on, \
         expires_on, status, office_code, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id";
    let binds = (
        d.person_id,
        d.kind.code(),
        &d.number,
        i64::from(d.issue_count.unwrap_or(0)),
        d.issued_on.to_string(),
        d.expires_on.to_string(),
        d.status.code(),
        &d.office_code,
        now,
    );
    inserted_id(conn, sql, binds, "document number").await
}

/// Whether any document, of any kind and status, has this number.
pub async fn number_used(conn: &mut AnyConnection, number: &str) -> Result<bool> {
    let sql = "SELECT COUNT(*) FROM documents WHERE number = $1";
    counts_any(conn, sql, (number,)).await
}

/// Changes a document's status from `from` to `to`; `false` when it was not in `from`.
pub async fn change_status(
    conn: &mut AnyConnection,
    id: i64,
    from: DocumentStatus,
    to: DocumentStatus,
    now: i64,
) -> Result<bool> {
    let sql = "UPDATE documents SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2";
    changed_one(conn, sql, (id, from.code(), to.code(), now)).await
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
