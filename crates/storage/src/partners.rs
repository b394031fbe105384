//! Relying parties, their keys, the daily quota and what the verification log counts.

use crate::Result;
use crate::codes::Flag;
use crate::statement::{all, changed_one, execute, inserted_id, optional, scalar_optional, select};
use sqlx::{AnyConnection, AssertSqlSafe};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PartnerRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    /// Comma-separated scope codes.
    pub scopes: String,
    pub rate_per_second: i64,
    pub daily_quota: i64,
    pub client_cert_sha256: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub disabled: bool,
}

const PARTNER_COLUMNS: &str = "p.id, p.name, p.kind, p.scopes, p.rate_per_second, p.daily_quota, \
     p.client_cert_sha256, p.disabled";

/// Creates a partner; a taken name is `Conflict`.
pub async fn create(conn: &mut AnyConnection, p: &PartnerRecord, now: i64) -> Result<i64> {
    let sql = "INSERT INTO partners (name, kind, scopes, rate_per_second, daily_quota, \
               client_cert_sha256, disabled, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) RETURNING id";
    let binds = (
        &p.name,
        &p.kind,
        &p.scopes,
        p.rate_per_second,
        p.daily_quota,
        &p.client_cert_sha256,
        now,
    );
    inserted_id(conn, sql, binds, "partner name").await
}

pub async fn by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<PartnerRecord>> {
    let sql = select(PARTNER_COLUMNS, "partners p WHERE p.name = $1");
    optional(conn, sql, (name,)).await
}

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<PartnerRecord>> {
    let sql = select(PARTNER_COLUMNS, "partners p ORDER BY p.name");
    all(conn, sql, ()).await
}

pub async fn set_disabled(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let sql = "UPDATE partners SET disabled = 1, updated_at = $2 WHERE id = $1 AND disabled = 0";
    changed_one(conn, sql, (id, now)).await
}

pub async fn create_key(
    conn: &mut AnyConnection,
    key_id: &str,
    partner_id: i64,
    secret_hash: &str,
    now: i64,
) -> Result<()> {
    let sql = "INSERT INTO partner_keys (id, partner_id, secret_hash, created_at) \
               VALUES ($1, $2, $3, $4)";
    execute(conn, sql, (key_id, partner_id, secret_hash, now)).await?;
    Ok(())
}

/// A key with its partner, for authenticating a request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyRecord {
    pub key_id: String,
    pub secret_hash: String,
    #[sqlx(rename = "revoked_at", try_from = "Revoked")]
    pub revoked: bool,
    #[sqlx(flatten)]
    pub partner: PartnerRecord,
}

/// When a key was revoked, if it was: read as whether it is.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
struct Revoked(Option<i64>);

impl From<Revoked> for bool {
    fn from(r: Revoked) -> bool {
        r.0.is_some()
    }
}

pub async fn key(conn: &mut AnyConnection, key_id: &str) -> Result<Option<KeyRecord>> {
    optional(conn, key_sql(), (key_id,)).await
}

/// A key by id with its partner: the partner's columns, then the key's.
pub(crate) fn key_sql() -> AssertSqlSafe<String> {
    select(
        &format!("{PARTNER_COLUMNS}, k.id AS key_id, k.secret_hash, k.revoked_at"),
        "partner_keys k JOIN partners p ON p.id = k.partner_id WHERE k.id = $1",
    )
}

/// Revokes a key; false when it does not exist or was already revoked.
pub async fn revoke_key(conn: &mut AnyConnection, key_id: &str, now: i64) -> Result<bool> {
    let sql = "UPDATE partner_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
    changed_one(conn, sql, (key_id, now)).await
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
    let sql = "INSERT INTO partner_daily_use (partner_id, day, used) VALUES ($1, $2, $4) \
               ON CONFLICT (partner_id, day) DO UPDATE SET used = partner_daily_use.used + $4 \
               WHERE partner_daily_use.used + $4 <= $3 RETURNING used";
    let used: Option<i64> = scalar_optional(conn, sql, (partner_id, day, quota, n)).await?;
    Ok(used.is_some())
}

/// Checks counted (or leased) against the partner's quota on `day`.
pub async fn daily_use(conn: &mut AnyConnection, partner_id: i64, day: &str) -> Result<i64> {
    let sql = "SELECT used FROM partner_daily_use WHERE partner_id = $1 AND day = $2";
    let used: Option<i64> = scalar_optional(conn, sql, (partner_id, day)).await?;
    Ok(used.unwrap_or(0))
}

/// Gives back `n` leased checks that were never used.
pub async fn give_back_daily_quota(
    conn: &mut AnyConnection,
    partner_id: i64,
    day: &str,
    n: i64,
) -> Result<()> {
    let sql = "UPDATE partner_daily_use SET used = used - $3 \
               WHERE partner_id = $1 AND day = $2 AND used >= $3";
    execute(conn, sql, (partner_id, day, n)).await?;
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
        "SELECT p.name, {day} AS day_no, l.kind, l.result, COUNT(*) AS n \
         FROM verification_log l JOIN partners p ON p.id = l.partner_id \
         WHERE l.at >= $1 AND ($2 < 0 OR l.partner_id = $2) \
         GROUP BY l.partner_id, p.name, {day}, l.kind, l.result ORDER BY day_no DESC, p.name, l.kind, l.result"
    );
    all(conn, AssertSqlSafe(sql), (since, partner_id.unwrap_or(-1))).await
}
