//! Relying parties, their keys, the daily quota and the verification log.

use crate::Result;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    /// Comma-separated scope codes.
    pub scopes: String,
    pub rate_per_second: i64,
    pub daily_quota: i64,
    pub client_cert_sha256: Option<String>,
    pub disabled: bool,
}

const PARTNER_COLUMNS: &str = "p.id, p.name, p.kind, p.scopes, p.rate_per_second, p.daily_quota, p.client_cert_sha256, p.disabled";

fn partner(r: &AnyRow) -> Result<PartnerRecord> {
    Ok(PartnerRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        scopes: r.try_get("scopes")?,
        rate_per_second: r.try_get("rate_per_second")?,
        daily_quota: r.try_get("daily_quota")?,
        client_cert_sha256: r.try_get("client_cert_sha256")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

/// Creates a partner; a taken name is `Conflict`.
pub async fn create(conn: &mut AnyConnection, p: &PartnerRecord, now: i64) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO partners (name, kind, scopes, rate_per_second, daily_quota, client_cert_sha256, \
         disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) RETURNING id",
    )
    .bind(p.name.clone())
    .bind(p.kind.clone())
    .bind(p.scopes.clone())
    .bind(p.rate_per_second)
    .bind(p.daily_quota)
    .bind(p.client_cert_sha256.clone())
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| crate::StorageError::from_write(e, "partner name"))
}

pub async fn by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<PartnerRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PARTNER_COLUMNS} FROM partners p WHERE p.name = $1"
    )))
    .bind(name.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(partner).transpose()
}

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<PartnerRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PARTNER_COLUMNS} FROM partners p ORDER BY p.name"
    )))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(partner).collect()
}

pub async fn set_disabled(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE partners SET disabled = 1, updated_at = $2 WHERE id = $1 AND disabled = 0",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn create_key(
    conn: &mut AnyConnection,
    key_id: &str,
    partner_id: i64,
    secret_hash: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO partner_keys (id, partner_id, secret_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(key_id.to_string())
    .bind(partner_id)
    .bind(secret_hash.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A key with its partner, for authenticating a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub key_id: String,
    pub secret_hash: String,
    pub revoked: bool,
    pub partner: PartnerRecord,
}

pub async fn key(conn: &mut AnyConnection, key_id: &str) -> Result<Option<KeyRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PARTNER_COLUMNS}, k.id AS key_id, k.secret_hash, k.revoked_at \
         FROM partner_keys k JOIN partners p ON p.id = k.partner_id WHERE k.id = $1"
    )))
    .bind(key_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(KeyRecord {
        key_id: r.try_get("key_id")?,
        secret_hash: r.try_get("secret_hash")?,
        revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
        partner: partner(&r)?,
    }))
}

/// Revokes a key; false when it does not exist or was already revoked.
pub async fn revoke_key(conn: &mut AnyConnection, key_id: &str, now: i64) -> Result<bool> {
    let r =
        sqlx::query("UPDATE partner_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(key_id.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await?;
    Ok(r.rows_affected() == 1)
}

/// Counts `n` checks against the partner's daily quota in one statement (concurrent
/// requests cannot both take the last ones); false, and nothing counted, when they do not
/// all fit.
pub async fn take_daily_quota(
    conn: &mut AnyConnection,
    partner_id: i64,
    day: &str,
    quota: i64,
    n: i64,
) -> Result<bool> {
    if n < 1 || n > quota {
        return Ok(n < 1);
    }
    let row = sqlx::query(
        "INSERT INTO partner_daily_use (partner_id, day, used) VALUES ($1, $2, $4) \
         ON CONFLICT (partner_id, day) DO UPDATE SET used = partner_daily_use.used + $4 \
         WHERE partner_daily_use.used + $4 <= $3 RETURNING used",
    )
    .bind(partner_id)
    .bind(day.to_string())
    .bind(quota)
    .bind(n)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// One recorded check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub at: i64,
    pub partner_id: i64,
    pub key_id: String,
    pub kind: String,
    pub result: String,
    pub reason: String,
    pub latency_us: i64,
    pub subject_hash: String,
}

/// Writes a batch of records in one statement per `bulk::BATCH` rows.
pub async fn insert_log(conn: &mut AnyConnection, records: &[LogRecord]) -> Result<()> {
    for chunk in records.chunks(crate::bulk::BATCH) {
        let mut sql = String::from(
            "INSERT INTO verification_log (at, partner_id, key_id, kind, result, reason, latency_us, \
             subject_hash) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 8;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(r.at)
                .bind(r.partner_id)
                .bind(r.key_id.clone())
                .bind(r.kind.clone())
                .bind(r.result.clone())
                .bind(r.reason.clone())
                .bind(r.latency_us)
                .bind(r.subject_hash.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Checks per day, kind and result for one partner (or all with `None`), newest day first.
pub async fn usage(
    conn: &mut AnyConnection,
    partner_id: Option<i64>,
    since: i64,
) -> Result<Vec<(String, i64, String, String, i64)>> {
    // Day boundaries in Beijing time: shift by 8 h before integer division.
    let day = "((at + 28800000000) / 86400000000)";
    let sql = format!(
        "SELECT l.partner_id, p.name, {day} AS day_no, l.kind, l.result, COUNT(*) AS n \
         FROM verification_log l JOIN partners p ON p.id = l.partner_id \
         WHERE l.at >= $1 AND ($2 < 0 OR l.partner_id = $2) \
         GROUP BY l.partner_id, p.name, {day}, l.kind, l.result ORDER BY day_no DESC, p.name, l.kind, l.result"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(since)
        .bind(partner_id.unwrap_or(-1))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("name")?,
                r.try_get::<i64, _>("day_no")?,
                r.try_get::<String, _>("kind")?,
                r.try_get::<String, _>("result")?,
                r.try_get::<i64, _>("n")?,
            ))
        })
        .collect()
}
