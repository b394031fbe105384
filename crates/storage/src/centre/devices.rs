//! Kiosks and ticket printers bound to an office, their status reports, and office settings.

use crate::{Result, StorageError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub office_code: String,
    /// `kiosk` or `ticket_printer`.
    pub kind: String,
    pub disabled: bool,
    pub last_seen_at: Option<i64>,
}

pub(super) fn device(r: &AnyRow) -> Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        office_code: r.try_get("office_code")?,
        kind: r.try_get("kind")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        last_seen_at: r.try_get("last_seen_at")?,
    })
}

pub async fn insert_device(
    conn: &mut AnyConnection,
    name: &str,
    office: &str,
    kind: &str,
    token_hash: &str,
    now: i64,
) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO devices (name, office_code, kind, token_hash, disabled, created_at) \
         VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
    )
    .bind(name.to_string())
    .bind(office.to_string())
    .bind(kind.to_string())
    .bind(token_hash.to_string())
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "device name"))
}

/// The enabled device with this token hash; notes when it was last seen.
pub async fn device_by_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<DeviceRow>> {
    let row = sqlx::query(
        "UPDATE devices SET last_seen_at = $2 WHERE token_hash = $1 AND disabled = 0 \
         RETURNING id, name, office_code, kind, disabled, last_seen_at",
    )
    .bind(token_hash.to_string())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(device).transpose()
}

pub async fn devices(conn: &mut AnyConnection, office: Option<&str>) -> Result<Vec<DeviceRow>> {
    let rows = sqlx::query(
        "SELECT id, name, office_code, kind, disabled, last_seen_at FROM devices \
         WHERE ($1 = '' OR office_code = $1) ORDER BY office_code, name",
    )
    .bind(office.unwrap_or("").to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(device).collect()
}

pub async fn set_device_disabled(
    conn: &mut AnyConnection,
    name: &str,
    disabled: bool,
) -> Result<bool> {
    let r = sqlx::query("UPDATE devices SET disabled = $2 WHERE name = $1")
        .bind(name.to_string())
        .bind(i64::from(disabled))
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Office settings for the building: counters (slot capacity) and whether walk-ins get tickets.
pub async fn office_settings(
    conn: &mut AnyConnection,
    office: &str,
) -> Result<Option<(i64, bool)>> {
    let row = sqlx::query("SELECT counters, walk_ins FROM offices WHERE code = $1")
        .bind(office.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok((
            r.try_get("counters")?,
            r.try_get::<i64, _>("walk_ins")? != 0,
        ))
    })
    .transpose()
}

pub async fn set_office_settings(
    conn: &mut AnyConnection,
    office: &str,
    counters: i64,
    walk_ins: bool,
) -> Result<bool> {
    let r = sqlx::query("UPDATE offices SET counters = $2, walk_ins = $3 WHERE code = $1")
        .bind(office.to_string())
        .bind(counters)
        .bind(i64::from(walk_ins))
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The office where a photo was taken.
pub async fn photo_office(conn: &mut AnyConnection, id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT office_code FROM photos WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// A device's own report of its consumables (`ok`, `low` or `out`).
pub async fn set_device_status(
    conn: &mut AnyConnection,
    id: i64,
    paper: &str,
    ink: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE devices SET paper = $2, ink = $3, status_at = $4 WHERE id = $1")
        .bind(id)
        .bind(paper.to_string())
        .bind(ink.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Paper and ink of every device: `(name, paper, ink)`.
pub async fn device_consumables(conn: &mut AnyConnection) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query("SELECT name, paper, ink FROM devices ORDER BY name")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("paper")?, r.try_get("ink")?)))
        .collect()
}
