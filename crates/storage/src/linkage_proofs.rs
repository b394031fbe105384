//! Linkage proofs as issued (online or on paper).

use crate::Result;
use crate::codes::Code;
use crate::statement::{all, execute, optional, scalars, select};
use exitentry_domain::states::LinkageProofState;
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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
    #[sqlx(try_from = "Code<LinkageProofState>")]
    pub status: LinkageProofState,
    pub payload: String,
}

const COLUMNS: &str = "id, person_id, travel_document_id, residence_document_id, channel, \
     office_code, issued_by, status_index, valid_from, valid_until, status, payload";

pub async fn insert(conn: &mut AnyConnection, p: &ProofRecord, now: i64) -> Result<()> {
    let sql = "INSERT INTO linkage_proofs (id, person_id, travel_document_id, \
               residence_document_id, channel, office_code, issued_by, status_index, valid_from, \
               valid_until, status, payload, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    let binds = (
        &p.id,
        p.person_id,
        p.travel_document_id,
        p.residence_document_id,
        &p.channel,
        &p.office_code,
        &p.issued_by,
        p.status_index,
        p.valid_from,
        p.valid_until,
        p.status.code(),
        &p.payload,
        now,
    );
    execute(conn, sql, binds).await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<ProofRecord>> {
    optional(conn, select(COLUMNS, "linkage_proofs WHERE id = $1"), (id,)).await
}

pub async fn for_person(conn: &mut AnyConnection, person_id: i64) -> Result<Vec<ProofRecord>> {
    let rows = "linkage_proofs WHERE person_id = $1 ORDER BY created_at DESC";
    all(conn, select(COLUMNS, rows), (person_id,)).await
}

/// Status-list indexes of revoked proofs.
pub async fn ended_indexes(conn: &mut AnyConnection) -> Result<Vec<i64>> {
    let sql = "SELECT status_index FROM linkage_proofs WHERE status <> $1";
    scalars(conn, sql, (LinkageProofState::Valid.code(),)).await
}
