//! The JSON API under `/api/v1`, described by the OpenAPI document at `/api/openapi.json`.

mod credentials;
mod offices;
mod registry;

use crate::AppState;
use crate::error::{ErrorBody, ErrorDetail};
use axum::Json;
use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "exitentry API",
        description = "Exit-entry administration: office directory and registry.",
        version = "1"
    ),
    paths(
        offices::list,
        offices::get_office,
        offices::districts,
        registry::search,
        credentials::trust_list,
        credentials::status_list
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        offices::OfficeJson,
        offices::OfficeList,
        offices::DistrictJson,
        registry::HitJson
    ))
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/offices", get(offices::list))
        .route("/api/v1/offices/{code}", get(offices::get_office))
        .route("/api/v1/districts", get(offices::districts))
        .route("/api/v1/registry/search", get(registry::search))
        .route("/api/v1/trust-list", get(credentials::trust_list))
        .route("/api/v1/status-list", get(credentials::status_list))
        .route("/api/openapi.json", get(openapi))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
