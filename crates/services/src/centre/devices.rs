//! Kiosks and ticket printers: registration, their tokens, enabling and disabling, the
//! paper-and-ink reports the fleet page shows.

use crate::OnConflict;
use crate::records;
use crate::tokens::{random_token, token_hash};
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use exitentry_domain::office::OfficeCode;
use exitentry_storage::centre::{self as store};
use serde_json::json;

pub const DEVICE_KINDS: [&str; 2] = ["kiosk", "ticket_printer"];

/// A kiosk or ticket printer, signed in with its device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSession {
    pub id: i64,
    pub name: String,
    pub office_code: String,
    pub kind: String,
}

impl DeviceSession {
    pub fn actor(&self) -> String {
        format!("device:{}", self.name)
    }

    /// Only a kiosk collects documents and prints endorsements.
    pub(crate) fn require_kiosk(&self) -> Result<()> {
        if self.kind != "kiosk" {
            return Err(ServiceError::Forbidden);
        }
        Ok(())
    }
}

/// Registers a device bound to an office; returns the token to enter on it (shown once).
pub async fn create_device(
    app: &App,
    actor: &str,
    office: &str,
    name: &str,
    kind: &str,
) -> Result<(DeviceSession, String)> {
    if !DEVICE_KINDS.contains(&kind) {
        return Err(ServiceError::bad_input(
            "kind",
            ErrorCode::BadDeviceKind,
            "a device is a kiosk or a ticket_printer",
        ));
    }
    let name = exitentry_domain::staff::parse_username(name).map_err(|_| {
        ServiceError::bad_input(
            "name",
            ErrorCode::BadDeviceName,
            "a device name is 3-32 letters, digits, '.', '_' or '-'",
        )
    })?;
    let code = OfficeCode::parse(office).at_field("office")?;
    let token = random_token();
    let mut tx = app.db.begin().await?;
    records::office(&mut tx, &code).await?;
    let id = store::insert_device(
        &mut tx,
        &name,
        code.as_str(),
        kind,
        &token_hash(&token),
        app.now_micros(),
    )
    .await
    .on_conflict(|| {
        ServiceError::conflict(
            ErrorCode::DeviceExists,
            format!("a device named {name} exists"),
        )
    })?;
    audit::record(
        app,
        &mut tx,
        actor,
        "device.create",
        &format!("device:{name}"),
        json!({"office": code.as_str(), "kind": kind}),
    )
    .await?;
    tx.commit().await?;
    Ok((
        DeviceSession {
            id,
            name,
            office_code: code.as_str().to_string(),
            kind: kind.to_string(),
        },
        token,
    ))
}

/// The device a token belongs to (enabled devices only).
pub async fn device_session(app: &App, token: &str) -> Result<Option<DeviceSession>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let mut conn = app.db.conn().await?;
    Ok(
        store::device_by_token(&mut conn, &token_hash(token), app.now_micros())
            .await?
            .map(|d| DeviceSession {
                id: d.id,
                name: d.name,
                office_code: d.office_code,
                kind: d.kind,
            }),
    )
}

pub async fn set_device_disabled(app: &App, actor: &str, name: &str, disabled: bool) -> Result<()> {
    let mut tx = app.db.begin().await?;
    if !store::set_device_disabled(&mut tx, name, disabled).await? {
        return Err(ServiceError::NotFound("device"));
    }
    audit::record(
        app,
        &mut tx,
        actor,
        if disabled {
            "device.disable"
        } else {
            "device.enable"
        },
        &format!("device:{name}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A kiosk reports its paper and ink (`ok`, `low` or `out`); shown on the fleet page and
/// audited when something runs out.
pub async fn report_status(
    app: &App,
    device: &DeviceSession,
    paper: &str,
    ink: &str,
) -> Result<()> {
    const LEVELS: [&str; 3] = ["ok", "low", "out"];
    for (field, v) in [("paper", paper), ("ink", ink)] {
        if !LEVELS.contains(&v) {
            return Err(ServiceError::bad_input(
                field,
                ErrorCode::BadLevel,
                "a level is ok, low or out",
            ));
        }
    }
    let mut tx = app.db.begin().await?;
    store::set_device_status(&mut tx, device.id, paper, ink, app.now_micros()).await?;
    if paper == "out" || ink == "out" {
        audit::record(
            app,
            &mut tx,
            &device.actor(),
            "device.fault",
            &format!("device:{}", device.name),
            json!({"paper": paper, "ink": ink}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn devices(app: &App, office: Option<&str>) -> Result<Vec<store::DeviceRow>> {
    let mut conn = app.db.conn().await?;
    Ok(store::devices(&mut conn, office).await?)
}
