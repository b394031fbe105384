//! Machines report their own state: a kiosk's agent sends its paper and ink levels with the
//! device token it was set up with.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::extract::context::Cx;
use crate::i18n::Lang;
use axum::Json;
use axum::http::header;
use exitentry_services::{ServiceError, centre};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct DeviceStatusJson {
    /// `ok`, `low` or `out`.
    pub paper: String,
    /// `ok`, `low` or `out`.
    pub ink: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceStatusAck {
    pub device: String,
    pub office_code: String,
}

/// A device's consumables, for the kiosk fleet page (`Authorization: Bearer <device token>`).
#[utoipa::path(post, path = "/api/v1/devices/status", request_body = DeviceStatusJson, security(("device_token" = [])),
    responses((status = 200, body = DeviceStatusAck), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
pub async fn status(
    cx: Cx,
    DeviceKey(device): DeviceKey,
    ApiJson(b): ApiJson<DeviceStatusJson>,
) -> Result<Json<DeviceStatusAck>, ApiError> {
    centre::report_status(cx.app(), &device, b.paper.trim(), b.ink.trim())
        .await
        .map_err(cx.api_err())?;
    Ok(Json(DeviceStatusAck {
        device: device.name,
        office_code: device.office_code,
    }))
}

/// The device behind `Authorization: Bearer <device token>`, checked before the body is read.
pub struct DeviceKey(pub centre::DeviceSession);

impl axum::extract::FromRequestParts<AppState> for DeviceKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::for_api(&parts.headers);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        centre::device_session(&s.app, token)
            .await
            .map_err(|e| ApiError::new(e, lang))?
            .map(DeviceKey)
            .ok_or_else(|| ApiError::new(ServiceError::Unauthenticated, lang))
    }
}
