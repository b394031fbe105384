//! Verification material for offline verifiers: the trust list and the status list,
//! served as the signed JSON documents `exitentry credential verify` reads as they are.

use crate::error::ApiError;
use crate::extract::context::Cx;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use exitentry_services::credentials;

fn document(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            // Verifiers poll; a minute of caching keeps revocations visible within a minute.
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        body,
    )
        .into_response()
}

/// The signer certificates, versioned and signed by the root (`exitentry-trust-list/1`).
#[utoipa::path(get, path = "/api/v1/trust-list",
    responses((status = 200, description = "Signed trust list document", content_type = "application/json"),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn trust_list(cx: Cx) -> Result<Response, ApiError> {
    credentials::trust_list(cx.app())
        .map(document)
        .map_err(cx.api_err())
}

/// The revocation status list: a compressed bitstring indexed by credential number, signed,
/// with its issue time (`exitentry-status-list/1`).
#[utoipa::path(get, path = "/api/v1/status-list",
    responses((status = 200, description = "Signed status list document", content_type = "application/json"),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn status_list(cx: Cx) -> Result<Response, ApiError> {
    credentials::status_list(cx.app())
        .await
        .map(document)
        .map_err(cx.api_err())
}
