//! The JSON API under `/api/v1`, described by the OpenAPI document at `/api/openapi.json`.

mod credentials;
mod offices;
mod registry;
mod temporary_permits;

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
        credentials::status_list,
        temporary_permits::apply,
        temporary_permits::sms_code,
        temporary_permits::face
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        offices::OfficeJson,
        offices::OfficeList,
        offices::DistrictJson,
        registry::HitJson,
        temporary_permits::ApplyJson,
        temporary_permits::ApplicationCreated,
        temporary_permits::CodeJson,
        temporary_permits::FaceJson,
        temporary_permits::PermitJson,
        temporary_permits::StateJson
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
        .route(
            "/api/v1/temporary-permits/applications",
            axum::routing::post(temporary_permits::apply),
        )
        .route(
            "/api/v1/temporary-permits/applications/{id}/sms-code",
            axum::routing::post(temporary_permits::sms_code),
        )
        .route(
            "/api/v1/temporary-permits/applications/{id}/face",
            axum::routing::post(temporary_permits::face),
        )
        .route("/api/v1/dev/outbox", get(temporary_permits::dev_outbox))
        .route("/api/openapi.json", get(openapi))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
