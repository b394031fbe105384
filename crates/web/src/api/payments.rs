//! Payment providers' asynchronous callbacks. Each provider's adapter reads and verifies
//! its own format (the sandbox: JSON signed in the `x-signature` header; WeChat Pay: signed
//! XML); a bad signature is refused, a repeated event is acknowledged and changes nothing.

use crate::error::ApiError;
use crate::extract::context::Cx;
use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use exitentry_services::{endorsement_applications as ea, online_payments as op};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct CallbackAck {
    /// Always `ok` once the callback is verified (providers stop retrying). Providers with
    /// their own acknowledgement get that instead (WeChat Pay: XML `SUCCESS`).
    pub result: String,
    /// Whether this callback changed the order (false for repeats).
    pub changed: bool,
}

/// A provider's callback about an order.
#[utoipa::path(post, path = "/api/v1/payments/callbacks/{provider}", params(("provider" = String, Path)),
    request_body(content = String, description = "The provider's callback as it sends it (JSON or XML), signed", content_type = "text/plain"),
    responses((status = 200, body = CallbackAck), (status = 403, body = crate::error::ErrorBody), (status = 400, body = crate::error::ErrorBody)))]
pub async fn callback(
    cx: Cx,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, ApiError> {
    let handled = op::callback(cx.app(), &provider, &body, &headers, ea::on_paid)
        .await
        .map_err(cx.api_err())?;
    Ok(match handled.ack {
        op::Ack::Json => Json(CallbackAck {
            result: "ok".into(),
            changed: handled.changed,
        })
        .into_response(),
        op::Ack::Body { content_type, body } => {
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
    })
}
