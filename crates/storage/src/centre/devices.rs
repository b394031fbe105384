//! Kiosks and ticket printers bound to an office, their status reports, and office settings.

use crate::Result;
use crate::codes::Flag;
use crate::statement::{all, changed_one, execute, inserted_id, optional, scalar_optional};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub office_code: String,
    /// `kiosk` or `ticket_printer`.
    pub kind: String,
    #[sqlx(try_from = "Flag")]
    pub disabled: bool,
    pub last_seen_at: Option<i64>,
}

pub async fn insert_device(
    conn: &mut AnyConnection,
    name: &str,
    office: &str,
    kind: &str,
    token_hash: &str,
    now: i64,
) -> Result<i64> {
    let sql = "INSERT INTO devices (name, office_code, kind, token_hash, disabled, created_at) \
               VALUES ($1, $2, $3, $4, 0, $5) RETURNING id";
    let binds = (name, office, kind, token_hash, now);
    inserted_id(conn, sql, binds, "device name").await
}

/// The enabled device with this token hash; notes when it was last seen.
pub async fn device_by_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<DeviceRow>> {
    let sql = "UPDATE devices SET last_seen_at = $2 WHERE token_hash = $1 AND disabled = 0 \
               RETURNING id, name, office_code, kind, disabled, last_seen_at";
    optional(conn, sql, (token_hash, now)).await
}

pub async fn devices(conn: &mut AnyConnection, office: Option<&str>) -> Result<Vec<DeviceRow>> {
    let sql = "SELECT id, name, office_code, kind, disabled, last_seen_at FROM devices \
               WHERE ($1 = '' OR office_code = $1) ORDER BY office_code, name";
    all(conn, sql, (office.unwrap_or(""),)).await
}

pub async fn set_device_disabled(
    conn: &mut AnyConnection,
    name: &str,
    disabled: bool,
) -> Result<bool> {
    let sql = "UPDATE devices SET disabled = $2 WHERE name = $1";
    changed_one(conn, sql, (name, i64::from(disabled))).await
}

/// Counters (slot capacity) and whether walk-ins get tickets.
#[derive(sqlx::FromRow)]
struct Settings {
    counters: i64,
    #[sqlx(try_from = "Flag")]
    walk_ins: bool,
}

/// Office settings for the building: counters (slot capacity) and whether walk-ins get tickets.
pub async fn office_settings(
    conn: &mut AnyConnection,
    office: &str,
) -> Result<Option<(i64, bool)>> {
    let sql = "SELECT counters, walk_ins FROM offices WHERE code = $1";
    let settings: Option<Settings> = optional(conn, sql, (office,)).await?;
    Ok(settings.map(|s| (s.counters, s.walk_ins)))
}

pub async fn set_office_settings(
    conn: &mut AnyConnection,
    office: &str,
    counters: i64,
    walk_ins: bool,
) -> Result<bool> {
    let sql = "UPDATE offices SET counters = $2, walk_ins = $3 WHERE code = $1";
    changed_one(conn, sql, (office, counters, i64::from(walk_ins))).await
}

/// The office where a photo was taken.
pub async fn photo_office(conn: &mut AnyConnection, id: i64) -> Result<Option<String>> {
    scalar_optional(conn, "SELECT office_code FROM photos WHERE id = $1", (id,)).await
}

/// A device's own report of its consumables (`ok`, `low` or `out`).
pub async fn set_device_status(
    conn: &mut AnyConnection,
    id: i64,
    paper: &str,
    ink: &str,
    now: i64,
) -> Result<()> {
    let sql = "UPDATE devices SET paper = $2, ink = $3, status_at = $4 WHERE id = $1";
    execute(conn, sql, (id, paper, ink, now)).await?;
    Ok(())
}

/// Paper and ink of every device: `(name, paper, ink)`.
pub async fn device_consumables(conn: &mut AnyConnection) -> Result<Vec<(String, String, String)>> {
    let sql = "SELECT name, paper, ink FROM devices ORDER BY name";
    all(conn, sql, ()).await
}
