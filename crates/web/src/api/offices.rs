//! Office directory endpoints.

use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::extract::context::Cx;
use crate::i18n::Lang;
use crate::render::office_address;
use axum::Json;
use axum::extract::Path;
use exitentry_domain::office::Office;
use exitentry_services::offices::{self, OfficeFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct OfficeJson {
    pub code: String,
    pub name_zh_hans: String,
    pub name_zh_hant: String,
    pub name_en: String,
    pub city: String,
    pub district: String,
    /// The address in Simplified Chinese.
    pub address: String,
    /// The address in Traditional Chinese (the Simplified one where none is held).
    pub address_zh_hant: String,
    /// The address in English (the Simplified one where none is held).
    pub address_en: String,
    /// `point`, `county`, `prefecture`, `province` (public-security offices) or `cts_centre`
    /// (a CTS service centre in Hong Kong).
    pub level: String,
    /// Whose public holidays close the office: `mainland` or `hong_kong`.
    pub calendar: String,
    pub open_24h: bool,
    pub opening_hours: String,
    pub self_service_devices: u32,
    /// Service codes such as `endorsement`, `self_service_endorsement`.
    pub services: Vec<String>,
}

impl From<Office> for OfficeJson {
    fn from(o: Office) -> Self {
        let address_zh_hant = office_address(Lang::ZhHant, &o);
        let address_en = office_address(Lang::En, &o);
        OfficeJson {
            code: o.code.as_str().to_string(),
            name_zh_hans: o.name_zh_hans,
            name_zh_hant: o.name_zh_hant,
            name_en: o.name_en,
            city: o.city,
            address_zh_hant,
            address_en,
            district: o.district,
            address: o.address,
            level: o.level.code().to_string(),
            calendar: o.calendar.code().to_string(),
            open_24h: o.open_24h,
            opening_hours: if o.open_24h {
                "24h".into()
            } else {
                o.opening_hours
            },
            self_service_devices: o.self_service_devices,
            services: o.services.iter().map(|s| s.code().to_string()).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OfficeList {
    pub offices: Vec<OfficeJson>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Exact city name in English, e.g. `Guangzhou`.
    pub city: Option<String>,
    /// Exact district name in English, e.g. `Tianhe`.
    pub district: Option<String>,
    /// Only offices open round the clock.
    #[serde(default)]
    pub open_24h: bool,
    /// Only offices with self-service devices.
    #[serde(default)]
    pub with_devices: bool,
    /// Page number, from 1; 50 offices a page.
    pub page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/offices", params(ListParams),
    responses((status = 200, body = OfficeList), (status = 400, body = crate::error::ErrorBody)))]
pub async fn list(cx: Cx, ApiQuery(p): ApiQuery<ListParams>) -> Result<Json<OfficeList>, ApiError> {
    let filter = OfficeFilter {
        city: p.city.filter(|c| !c.is_empty()),
        district: p.district.filter(|d| !d.is_empty()),
        open_24h: p.open_24h,
        with_devices: p.with_devices,
        ..Default::default()
    };
    let page = offices::directory(cx.app(), filter, p.page.unwrap_or(1))
        .await
        .map_err(cx.api_err())?;
    Ok(Json(OfficeList {
        offices: page.offices.into_iter().map(Into::into).collect(),
        total: page.total,
        page: page.page,
        pages: page.pages,
    }))
}

#[utoipa::path(get, path = "/api/v1/offices/{code}", params(("code" = String, Path, description = "Office code, e.g. GZ-TH-001")),
    responses((status = 200, body = OfficeJson), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_office(cx: Cx, Path(code): Path<String>) -> Result<Json<OfficeJson>, ApiError> {
    let o = offices::get(cx.app(), &code).await.map_err(cx.api_err())?;
    Ok(Json(o.into()))
}

#[derive(Serialize, ToSchema)]
pub struct DistrictJson {
    pub city: String,
    pub district: String,
    pub offices: i64,
    pub open_24h: i64,
}

#[utoipa::path(get, path = "/api/v1/districts", responses((status = 200, body = Vec<DistrictJson>)))]
pub async fn districts(cx: Cx) -> Result<Json<Vec<DistrictJson>>, ApiError> {
    let ds = offices::districts(cx.app()).await.map_err(cx.api_err())?;
    Ok(Json(
        ds.into_iter()
            .map(|d| DistrictJson {
                city: d.city,
                district: d.district,
                offices: d.offices,
                open_24h: d.open_24h,
            })
            .collect(),
    ))
}
