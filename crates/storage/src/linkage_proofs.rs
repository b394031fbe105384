//! Linkage proofs as issued (online or on paper).

use crate::Result;
use crate::error::decode;
use exitentry_domain::states::LinkageProofState;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofRecord {
    pub id: String,
    pub person_id: i64,
    pub travel_document_id: i64,
    pub residence_document_id: i64,
    /// `online` or `paper`.
    pub channel: String,
    pub office_code: Option<String>,
    /// `holder:N` or `staff:NAME`.
    pub issued_by: String,
    pub status_index: i64,
    pub valid_from: i64,
    pub valid_until: i64,
    /// `valid` or `revoked` (never `expired`: see [`LinkageProofState::on`]).
    pub status: LinkageProofState,
    pub payload: String,
}

const COLUMNS: &str = "id, person_id, travel_document_id, residence_document_id, channel, office_code, \
                       issued_by, status_index, valid_from, valid_until, status, payload";

fn from_row(r: &AnyRow) -> Result<ProofRecord> {
    Ok(ProofRecord {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        travel_document_id: r.try_get("travel_document_id")?,
        residence_document_id: r.try_get("residence_document_id")?,
        channel: r.try_get("channel")?,
        office_code: r.try_get("office_code")?,
        issued_by: r.try_get("issued_by")?,
        status_index: r.try_get("status_index")?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
        status: decode(r, "status")?,
        payload: r.try_get("payload")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, p: &ProofRecord, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO linkage_proofs (id, person_id, travel_document_id, residence_document_id, channel, \
         office_code, issued_by, status_index, valid_from, valid_until, status, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(p.id.clone())
    .bind(p.person_id)
    .bind(p.travel_document_id)
    .bind(p.residence_document_id)
    .bind(p.channel.clone())
    .bind(p.office_code.clone())
    .bind(p.issued_by.clone())
    .bind(p.status_index)
    .bind(p.valid_from)
    .bind(p.valid_until)
    .bind(p.status.code())
    .bind(p.payload.clone())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<ProofRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM linkage_proofs WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn for_person(conn: &mut AnyConnection, person_id: i64) -> Result<Vec<ProofRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM linkage_proofs WHERE person_id = $1 ORDER BY created_at DESC"
    )))
    .bind(person_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Status-list indexes of revoked proofs.
pub async fn ended_indexes(conn: &mut AnyConnection) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT status_index FROM linkage_proofs WHERE status <> $1")
            .bind(LinkageProofState::Valid.code())
            .fetch_all(&mut *conn)
            .await?,
    )
}
