//! The photo station: a photo checked by its bytes, stored, and its receipt with the
//! barcode the counter scans.

use super::*;
use crate::auth::StaffSession;
use crate::{App, Result, ServiceError, audit};
use chrono::{DateTime, FixedOffset};
use exitentry_domain::staff::Permission;
use exitentry_storage::StorageError;
use exitentry_storage::centre::{self as store, PhotoRow};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PhotoView {
    pub id: i64,
    pub receipt_code: String,
    pub office_code: String,
    pub width: i64,
    pub height: i64,
    pub taken_at: DateTime<FixedOffset>,
}

pub(super) fn photo_view(p: &PhotoRow) -> PhotoView {
    PhotoView {
        id: p.id,
        receipt_code: p.receipt_code.clone(),
        office_code: p.office_code.clone(),
        width: p.width,
        height: p.height,
        taken_at: local(p.created_at),
    }
}

/// The real format from the bytes (as for uploads): JPEG or PNG only.
pub(super) fn photo_format(bytes: &[u8]) -> Option<&'static str> {
    crate::uploads::sniff(bytes)
        .filter(|t| t.is_image())
        .map(|t| t.mime())
}

/// Takes a photo at the station: checks format, size and dimensions, stores it, and returns
/// the receipt whose barcode the counter scans.
pub async fn take_photo(app: &App, staff: &StaffSession, bytes: &[u8]) -> Result<PhotoView> {
    let office = counter_staff(staff)?;
    let c = &app.config.centre;
    if bytes.is_empty() {
        return Err(bad("photo", "photo_empty", "no photo was received"));
    }
    if bytes.len() > c.photo_max_bytes {
        return Err(bad(
            "photo",
            "photo_too_large",
            format!("a photo may have at most {} KB", c.photo_max_bytes / 1024),
        ));
    }
    let mime = photo_format(bytes)
        .ok_or_else(|| bad("photo", "photo_format", "a photo is a JPEG or PNG image"))?;
    let (width, height) = crate::uploads::image_size(bytes)
        .ok_or_else(|| bad("photo", "photo_unreadable", "this image cannot be read"))?;
    if width < c.photo_min_width as usize || height < c.photo_min_height as usize {
        return Err(bad(
            "photo",
            "photo_too_small",
            format!(
                "a photo needs at least {}×{} pixels",
                c.photo_min_width, c.photo_min_height
            ),
        ));
    }
    if height <= width {
        return Err(bad(
            "photo",
            "photo_orientation",
            "a document photo is taller than it is wide",
        ));
    }
    use sha2::Digest;
    let row = PhotoRow {
        id: 0,
        receipt_code: format!("P{:011}", rand::random::<u64>() % 100_000_000_000),
        office_code: office.clone(),
        ticket_id: None,
        mime: mime.to_string(),
        width: width as i64,
        height: height as i64,
        sha256: hex::encode(sha2::Sha256::digest(bytes)),
        taken_by: staff.actor(),
        created_at: app.now_micros(),
    };
    let mut tx = app.db.begin().await?;
    let stored = store::insert_photo(&mut tx, &row, bytes).await?;
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "photo.take",
        &format!("photo:{}", stored.receipt_code),
        json!({"sha256": stored.sha256, "width": stored.width, "height": stored.height}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(photo_view(&stored))
}

pub async fn photo_receipt(app: &App, staff: &StaffSession, code: &str) -> Result<PhotoView> {
    let office = counter_staff(staff)?;
    let mut conn = app.db.conn().await?;
    store::photo_by_receipt(&mut conn, code.trim())
        .await?
        .filter(|p| p.office_code == office)
        .map(|p| photo_view(&p))
        .ok_or(ServiceError::NotFound("photo"))
}

/// The image of a photo taken at the staff member's office.
pub async fn photo_image(app: &App, staff: &StaffSession, id: i64) -> Result<(String, Vec<u8>)> {
    staff.require(Permission::ServeCounter)?;
    let mut conn = app.db.conn().await?;
    let office = staff.office_code.clone();
    let allowed = match &office {
        Some(o) => {
            exitentry_storage::centre::photo_office(&mut conn, id)
                .await?
                .as_deref()
                == Some(o.as_str())
        }
        None => staff.role == exitentry_domain::staff::Role::Admin,
    };
    if !allowed {
        return Err(ServiceError::NotFound("photo"));
    }
    store::photo_bytes(&mut conn, id)
        .await?
        .ok_or(ServiceError::NotFound("photo"))
}
