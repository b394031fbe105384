//! Payment providers' asynchronous callbacks. The body is signed (HMAC-SHA256, hex, in the
//! `x-signature` header); a bad signature is refused, a repeated event is acknowledged and
//! changes nothing.

use crate::AppState;
use crate::error::ApiError;
use crate::i18n::Lang;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use exitentry_services::{endorsement_applications as ea, online_payments as op};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct CallbackAck {
    /// Always `ok` once the callback is verified (providers stop retrying).
    pub result: String,
    /// Whether this callback changed the order (false for repeats).
    pub changed: bool,
}

/// A provider's callback about an order.
#[utoipa::path(post, path = "/api/v1/payments/callbacks/{provider}", params(("provider" = String, Path)),
    responses((status = 200, body = CallbackAck), (status = 403, body = crate::error::ErrorBody), (status = 400, body = crate::error::ErrorBody)))]
pub async fn callback(
    State(s): State<AppState>,
    lang: Lang,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Result<Json<CallbackAck>, ApiError> {
    let sig = headers
        .get("x-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let changed = op::callback(&s.app, &provider, &body, sig, ea::on_paid)
        .await
        .map_err(|e| ApiError::new(e, lang))?;
    Ok(Json(CallbackAck {
        result: "ok".into(),
        changed,
    }))
}
