//! Endorsements on Exit-Entry Permits and border crossings. A trip is taken with one
//! conditional UPDATE, so two simultaneous exits cannot both use the last trip.

use crate::Result;
use crate::bulk::{BATCH, values_list};
use crate::error::decode;
use exitentry_domain::states::EndorsementState;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub status: EndorsementState,
    /// `import`, `counter`, `online`.
    pub source: String,
}

const COLUMNS: &str = "id, document_id, destination, kind, trips_allowed, trips_used, valid_from, \
     valid_until, stay_days, status, source";

fn from_row(r: &AnyRow) -> Result<EndorsementRow> {
    Ok(EndorsementRow {
        id: r.try_get("id")?,
        document_id: r.try_get("document_id")?,
        destination: r.try_get("destination")?,
        kind: r.try_get("kind")?,
        trips_allowed: r.try_get("trips_allowed")?,
        trips_used: r.try_get("trips_used")?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
        stay_days: r.try_get("stay_days")?,
        status: decode(r, "status")?,
        source: r.try_get("source")?,
    })
}

/// Inserts endorsements not yet present (same document, destination, type and start);
/// returns how many were new. `id` and `trips_used` of the rows are ignored.
pub async fn insert_new(
    conn: &mut AnyConnection,
    rows: &[EndorsementRow],
    now: i64,
) -> Result<u64> {
    let mut n = 0;
    for chunk in rows.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO endorsements (document_id, destination, kind, trips_allowed, trips_used, valid_from, \
             valid_until, stay_days, status, source, created_at, updated_at) VALUES {} \
             ON CONFLICT (document_id, destination, kind, valid_from) DO NOTHING",
            values_list(chunk.len(), 12)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            q = q
                .bind(e.document_id)
                .bind(e.destination.clone())
                .bind(e.kind.clone())
                .bind(e.trips_allowed)
                .bind(0_i64)
                .bind(e.valid_from.clone())
                .bind(e.valid_until.clone())
                .bind(e.stay_days)
                .bind(e.status.code())
                .bind(e.source.clone())
                .bind(now)
                .bind(now);
        }
        n += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(n)
}

/// Inserts one endorsement (a print); `None` when the same one is already on the card.
pub async fn insert_one(
    conn: &mut AnyConnection,
    e: &EndorsementRow,
    now: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO endorsements (document_id, destination, kind, trips_allowed, trips_used, valid_from, \
         valid_until, stay_days, status, source, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10, $10) \
         ON CONFLICT (document_id, destination, kind, valid_from) DO NOTHING RETURNING id",
    )
    .bind(e.document_id)
    .bind(e.destination.clone())
    .bind(e.kind.clone())
    .bind(e.trips_allowed)
    .bind(e.valid_from.clone())
    .bind(e.valid_until.clone())
    .bind(e.stay_days)
    .bind(e.status.code())
    .bind(e.source.clone())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The endorsements of a document for a destination, latest start first.
pub async fn for_document(
    conn: &mut AnyConnection,
    document_id: i64,
    destination: Option<&str>,
) -> Result<Vec<EndorsementRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM endorsements WHERE document_id = $1 AND ($2 = '' OR destination = $2) \
         ORDER BY valid_from DESC, id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(document_id)
        .bind(destination.unwrap_or("").to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Uses one trip; `false` when none is left (whatever the timing).
pub async fn take_trip(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE endorsements SET trips_used = trips_used + 1, updated_at = $2 WHERE id = $1 \
         AND status = $3 AND (trips_allowed IS NULL OR trips_used < trips_allowed)",
    )
    .bind(id)
    .bind(now)
    .bind(EndorsementState::Valid.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossingRow {
    pub id: i64,
    pub document_id: i64,
    pub endorsement_id: Option<i64>,
    pub destination: String,
    /// `exit` or `entry`.
    pub direction: String,
    pub at: i64,
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
    Ok(sqlx::query_scalar(
        "INSERT INTO border_crossings (document_id, endorsement_id, destination, direction, at, allowed, \
         reason, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(c.document_id)
    .bind(c.endorsement_id)
    .bind(c.destination.clone())
    .bind(c.direction.clone())
    .bind(c.at)
    .bind(i64::from(c.allowed))
    .bind(c.reason.clone())
    .bind(by.to_string())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?)
}

/// The latest allowed crossing of a document to a destination before `at`.
pub async fn last_crossing(
    conn: &mut AnyConnection,
    document_id: i64,
    destination: &str,
    at: i64,
) -> Result<Option<CrossingRow>> {
    let row = sqlx::query(
        "SELECT id, document_id, endorsement_id, destination, direction, at, allowed, reason \
         FROM border_crossings WHERE document_id = $1 AND destination = $2 AND allowed = 1 AND at <= $3 \
         ORDER BY at DESC, id DESC LIMIT 1",
    )
    .bind(document_id)
    .bind(destination.to_string())
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(CrossingRow {
            id: r.try_get("id")?,
            document_id: r.try_get("document_id")?,
            endorsement_id: r.try_get("endorsement_id")?,
            destination: r.try_get("destination")?,
            direction: r.try_get("direction")?,
            at: r.try_get("at")?,
            allowed: r.try_get::<i64, _>("allowed")? != 0,
            reason: r.try_get("reason")?,
        })
    })
    .transpose()
}

/// An endorsement by id.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<EndorsementRow>> {
    let sql = format!("SELECT {COLUMNS} FROM endorsements WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
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
    let row = sqlx::query(
        "SELECT allowed, reason, endorsement_id FROM border_crossings WHERE document_id = $1 \
         AND destination = $2 AND direction = $3 AND at = $4 ORDER BY id LIMIT 1",
    )
    .bind(document_id)
    .bind(destination.to_string())
    .bind(direction.to_string())
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get::<i64, _>("allowed")? != 0,
            r.try_get("reason")?,
            r.try_get("endorsement_id")?,
        ))
    })
    .transpose()
}
