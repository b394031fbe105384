//! Endorsements on Exit-Entry Permits and border crossings. A trip is taken with one
//! conditional UPDATE, so two simultaneous exits cannot both use the last trip.

use crate::Result;
use crate::bulk::{Dialect, insert_batches};
use crate::codes::{Code, Flag};
use crate::statement::{all, changed_one, optional, scalar, scalar_optional, select};
use exitentry_domain::states::EndorsementState;
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EndorsementRow {
    pub id: i64,
    pub document_id: i64,
    /// `hong_kong` or `macao`.
    pub destination: String,
    pub kind: String,
    /// `None` for multiple trips.
    pub trips_allowed: Option<i64>,
    pub trips_used: i64,
    /// `YYYY-MM-DD`.
    pub valid_from: String,
    pub valid_until: String,
    pub stay_days: i64,
    #[sqlx(try_from = "Code<EndorsementState>")]
    pub status: EndorsementState,
    /// `import`, `counter`, `online`.
    pub source: String,
}

const COLUMNS: &str = "id, document_id, destination, kind, trips_allowed, trips_used, valid_from, \
     valid_until, stay_days, status, source";

/// Inserts endorsements not yet present (same document, destination, type and start);
/// returns how many were new. `id` and `trips_used` of the rows are ignored.
pub async fn insert_new(
    conn: &mut AnyConnection,
    rows: &[EndorsementRow],
    now: i64,
) -> Result<u64> {
    let statement = |dialect: Dialect, rows| {
        format!(
            "INSERT INTO endorsements (document_id, destination, kind, trips_allowed, trips_used, \
             valid_from, valid_until, stay_days, status, source, created_at, updated_at) VALUES {} \
             ON CONFLICT (document_id, destination, kind, valid_from) DO NOTHING",
            dialect.rows(rows, 12)
        )
    };
    let values = |e: &EndorsementRow| {
        (
            e.document_id,
            e.destination.clone(),
            e.kind.clone(),
            e.trips_allowed,
            0_i64,
            e.valid_from.clone(),
            e.valid_until.clone(),
            e.stay_days,
            e.status.code(),
            e.source.clone(),
            now,
            now,
        )
    };
    insert_batches(conn, rows, 12, statement, values, ()).await
}

/// Inserts one endorsement (a print); `None` when the same one is already on the card.
pub async fn insert_one(
    conn: &mut AnyConnection,
    e: &EndorsementRow,
    now: i64,
) -> Result<Option<i64>> {
    let sql = "INSERT INTO endorsements (document_id, destination, kind, trips_allowed, \
         trips_used, valid_from, valid_until, stay_days, status, source, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10, $10) \
         ON CONFLICT (document_id, destination, kind, valid_from) DO NOTHING RETURNING id";
    let binds = (
        e.document_id,
        &e.destination,
        &e.kind,
        e.trips_allowed,
        &e.valid_from,
        &e.valid_until,
        e.stay_days,
        e.status.code(),
        &e.source,
        now,
    );
    scalar_optional(conn, sql, binds).await
}

/// The endorsements of a document for a destination, latest start first.
pub async fn for_document(
    conn: &mut AnyConnection,
    document_id: i64,
    destination: Option<&str>,
) -> Result<Vec<EndorsementRow>> {
    let rows = "endorsements WHERE document_id = $1 AND ($2 = '' OR destination = $2) ORDER BY \
                valid_from DESC, id DESC";
    let sql = select(COLUMNS, rows);
    all(conn, sql, (document_id, destination.unwrap_or(""))).await
}

/// Uses one trip; `false` when none is left (whatever the timing).
pub async fn take_trip(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let sql = "UPDATE endorsements SET trips_used = trips_used + 1, updated_at = $2 WHERE id = $1 \
               AND status = $3 AND (trips_allowed IS NULL OR trips_used < trips_allowed)";
    changed_one(conn, sql, (id, now, EndorsementState::Valid.code())).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CrossingRow {
    pub id: i64,
    pub document_id: i64,
    pub endorsement_id: Option<i64>,
    pub destination: String,
    /// `exit` or `entry`.
    pub direction: String,
    pub at: i64,
    #[sqlx(try_from = "Flag")]
    pub allowed: bool,
    /// `ok`, a refusal reason, or `overstay` on an entry.
    pub reason: String,
}

pub async fn record_crossing(
    conn: &mut AnyConnection,
    c: &CrossingRow,
    by: &str,
    now: i64,
) -> Result<i64> {
    let sql = "INSERT INTO border_crossings (document_id, endorsement_id, destination, direction, \
               at, allowed, reason, recorded_by, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";
    let binds = (
        c.document_id,
        c.endorsement_id,
        &c.destination,
        &c.direction,
        c.at,
        i64::from(c.allowed),
        &c.reason,
        by,
        now,
    );
    scalar(conn, sql, binds).await
}

/// The latest allowed crossing of a document to a destination before `at`.
pub async fn last_crossing(
    conn: &mut AnyConnection,
    document_id: i64,
    destination: &str,
    at: i64,
) -> Result<Option<CrossingRow>> {
    let sql = "SELECT id, document_id, endorsement_id, destination, direction, at, allowed, \
               reason FROM border_crossings WHERE document_id = $1 AND destination = $2 \
               AND allowed = 1 AND at <= $3 ORDER BY at DESC, id DESC LIMIT 1";
    optional(conn, sql, (document_id, destination, at)).await
}

/// An endorsement by id.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<EndorsementRow>> {
    optional(conn, select(COLUMNS, "endorsements WHERE id = $1"), (id,)).await
}

/// What a recorded crossing decided: allowed, the reason, the endorsement used.
#[derive(sqlx::FromRow)]
struct Decision {
    #[sqlx(try_from = "Flag")]
    allowed: bool,
    reason: String,
    endorsement_id: Option<i64>,
}

/// A crossing already recorded for this permit, destination, direction and moment (a
/// partner's retry after a timeout).
pub async fn same_crossing(
    conn: &mut AnyConnection,
    document_id: i64,
    destination: &str,
    direction: &str,
    at: i64,
) -> Result<Option<(bool, String, Option<i64>)>> {
    let sql = "SELECT allowed, reason, endorsement_id FROM border_crossings WHERE document_id = $1 \
               AND destination = $2 AND direction = $3 AND at = $4 ORDER BY id LIMIT 1";
    let found: Option<Decision> =
        optional(conn, sql, (document_id, destination, direction, at)).await?;
    Ok(found.map(|d| (d.allowed, d.reason, d.endorsement_id)))
}
