//! The public office directory.

use crate::records;
use crate::{App, Result, ServiceError};
use exitentry_domain::office::{Office, OfficeCode};
pub use exitentry_storage::offices::{DistrictSummary, OfficeFilter};

pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone)]
pub struct OfficePage {
    pub offices: Vec<Office>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

pub async fn directory(app: &App, mut filter: OfficeFilter, page: i64) -> Result<OfficePage> {
    // Any page number a visitor types is answered (past the end: an empty page).
    let page = page.clamp(1, i64::MAX / PAGE_SIZE);
    filter.limit = PAGE_SIZE;
    filter.offset = (page - 1).saturating_mul(PAGE_SIZE);
    let mut c = app.db.conn().await?;
    let (offices, total) = exitentry_storage::offices::list(&mut c, &filter).await?;
    Ok(OfficePage {
        offices,
        total,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
    })
}

pub async fn districts(app: &App) -> Result<Vec<DistrictSummary>> {
    let mut c = app.db.conn().await?;
    Ok(exitentry_storage::offices::districts(&mut c).await?)
}

pub async fn get(app: &App, code: &str) -> Result<Office> {
    let code = OfficeCode::parse(code).map_err(|_| ServiceError::NotFound("office"))?;
    let mut c = app.db.conn().await?;
    records::office(&mut c, &code).await
}

/// Offices with a counter for `service` (or for any bookable service), for booking pickers.
pub async fn offering(
    app: &App,
    service: Option<exitentry_domain::office::Service>,
) -> Result<Vec<Office>> {
    let filter = OfficeFilter {
        limit: 10_000,
        ..Default::default()
    };
    let mut c = app.db.conn().await?;
    let (all, _) = exitentry_storage::offices::list(&mut c, &filter).await?;
    Ok(all
        .into_iter()
        .filter(|o| match service {
            Some(s) => o.services.contains(&s),
            None => o.services.iter().any(|s| s.bookable()),
        })
        .collect())
}
