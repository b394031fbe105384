//! The JSON API under `/api/v1`, described by the OpenAPI document at `/api/openapi.json`.

mod appointments;
mod border;
mod credentials;
mod devices;
mod endorsements;
mod offices;
mod payments;
mod registry;
mod temporary_permits;
pub mod verify;

use crate::AppState;
use crate::error::{ErrorBody, ErrorDetail};
use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "exitentry API",
        description = "Exit-entry administration: office directory, registry, signed credentials, temporary e-permits, verification and appointments.",
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
        temporary_permits::face,
        temporary_permits::application,
        temporary_permits::resend,
        verify::permit,
        verify::linkage,
        verify::credential,
        verify::batch,
        verify::usage,
        appointments::slots,
        appointments::book,
        appointments::get_one,
        appointments::cancel,
        appointments::reschedule,
        border::crossing,
        payments::callback,
        endorsements::choices,
        endorsements::apply,
        endorsements::list,
        endorsements::pay,
        endorsements::cancel,
        devices::status
    ),
    modifiers(&PartnerKeyScheme, &StandardAnswers),
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
        temporary_permits::StateJson,
        temporary_permits::ApplicationJson,
        temporary_permits::IssuedJson,
        temporary_permits::ResentJson,
        verify::PermitJson,
        verify::PermitAnswerJson,
        verify::LinkageJson,
        verify::LinkageAnswerJson,
        verify::CredentialJson,
        verify::CredentialAnswerJson,
        verify::UsageJson,
        appointments::SlotJson,
        appointments::ApplicantJson,
        appointments::BookJson,
        appointments::AppointmentJson,
        appointments::RescheduleJson,
        border::CrossingJson,
        border::CrossingAnswerJson,
        payments::CallbackAck,
        endorsements::ChoiceJson,
        endorsements::ApplyEndorsementJson,
        endorsements::EndorsementApplicationJson,
        endorsements::PayJson,
        endorsements::PaymentStartedJson,
        devices::DeviceStatusJson,
        devices::DeviceStatusAck
    ))
)]
pub struct ApiDoc;

/// How callers prove who they are: relying parties send their key as
/// `Authorization: Bearer eek_….…`, hall devices their device token the same way, the app
/// and officers' tools their session cookie.
struct PartnerKeyScheme;

impl utoipa::Modify for PartnerKeyScheme {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme,
        };
        let components = api.components.get_or_insert_with(Default::default);
        for bearer in ["partner_key", "device_token"] {
            components.add_security_scheme(
                bearer,
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
        components.add_security_scheme(
            "holder_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::session::HOLDER_COOKIE,
                "The holder's session; `__Host-ee_holder` on servers behind https.",
            ))),
        );
        components.add_security_scheme(
            "staff_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::session::SESSION_COOKIE,
                "The officer's session; `__Host-ee_session` on servers behind https.",
            ))),
        );
    }
}

/// The answers every operation of a kind can give, listed once here rather than on each
/// operation: 400 for unreadable input, 413 for a body over its limit, 404 for an unknown
/// id in the path, 401/403 where a caller must prove who they are, 429 for partner keys
/// (rate and daily quota). Their body's `code` is one of the `ErrorCode` schema's values.
struct StandardAnswers;

impl utoipa::Modify for StandardAnswers {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Ref, RefOr, ResponseBuilder};
        api.components
            .get_or_insert_with(Default::default)
            .schemas
            .insert(
                "ErrorCode".to_string(),
                RefOr::T(crate::error::error_code_schema().into()),
            );
        let error = |what: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(what)
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in api.paths.paths.iter_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                let mut add = |code: &str, what: &str| {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| error(what));
                };
                let has_input = op.request_body.is_some()
                    || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                if has_input {
                    add("400", "The input is not valid (`field` names it).");
                }
                if op.request_body.is_some() {
                    add("413", "The body is larger than this operation takes.");
                }
                if path.contains('{') {
                    add("404", "Nothing with that id (or not yours).");
                }
                let schemes: Vec<String> = op
                    .security
                    .iter()
                    .flatten()
                    .filter_map(|r| serde_json::to_value(r).ok())
                    .filter_map(|v| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
                    .flatten()
                    .collect();
                if !schemes.is_empty() {
                    add("401", "No valid credentials.");
                    add("403", "The credentials do not allow this.");
                }
                if schemes.iter().any(|s| s == "partner_key") {
                    add(
                        "429",
                        "Over the key's rate or daily quota; see `Retry-After`.",
                    );
                }
            }
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/offices", get(offices::list))
        .route("/api/v1/offices/{code}", get(offices::get_office))
        .route("/api/v1/districts", get(offices::districts))
        .route("/api/v1/offices/{code}/slots", get(appointments::slots))
        .route(
            "/api/v1/appointments",
            // Room for the mini program's face capture in base64.
            post(appointments::book).layer(DefaultBodyLimit::max(
                exitentry_services::providers::MAX_IMAGE_BYTES * 3 / 2,
            )),
        )
        .route("/api/v1/appointments/{id}", get(appointments::get_one))
        .route("/api/v1/border/crossings", post(border::crossing))
        .route(
            "/api/v1/payments/callbacks/{provider}",
            post(payments::callback),
        )
        .route("/api/v1/endorsements/choices", get(endorsements::choices))
        .route("/api/v1/devices/status", post(devices::status))
        .route(
            "/api/v1/endorsements/applications",
            get(endorsements::list).post(endorsements::apply),
        )
        .route(
            "/api/v1/endorsements/applications/{id}/payments",
            post(endorsements::pay),
        )
        .route(
            "/api/v1/endorsements/applications/{id}/cancel",
            post(endorsements::cancel),
        )
        .route(
            "/api/v1/appointments/{id}/cancel",
            post(appointments::cancel),
        )
        .route(
            "/api/v1/appointments/{id}/reschedule",
            post(appointments::reschedule),
        )
        .route("/api/v1/registry/search", get(registry::search))
        .route("/api/v1/trust-list", get(credentials::trust_list))
        .route("/api/v1/status-list", get(credentials::status_list))
        .route(
            "/api/v1/temporary-permits/applications",
            post(temporary_permits::apply),
        )
        .route(
            "/api/v1/temporary-permits/applications/{id}/sms-code",
            post(temporary_permits::sms_code),
        )
        .route(
            "/api/v1/temporary-permits/applications/{id}",
            get(temporary_permits::application),
        )
        .route(
            "/api/v1/temporary-permits/applications/{id}/sms-code/resend",
            post(temporary_permits::resend),
        )
        .route(
            "/api/v1/temporary-permits/applications/{id}/face",
            // A phone photo in base64: up to the service's image limit and a third more.
            post(temporary_permits::face).layer(DefaultBodyLimit::max(
                exitentry_services::providers::MAX_IMAGE_BYTES * 3 / 2,
            )),
        )
        .route("/api/v1/verify/permit", post(verify::permit))
        .route("/api/v1/verify/usage", get(verify::usage))
        .route("/api/v1/verify/linkage", post(verify::linkage))
        .route("/api/v1/verify/credential", post(verify::credential))
        .route(
            "/api/v1/verify/batch",
            post(verify::batch).layer(DefaultBodyLimit::max(16 * 1024 * 1024)),
        )
        .route("/api/v1/dev/outbox", get(temporary_permits::dev_outbox))
        .route("/api/openapi.json", get(openapi))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;
    use exitentry_domain::ErrorCode;

    #[test]
    fn the_document_lists_every_error_code_the_api_can_answer() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["ErrorDetail"]["properties"]["code"]["$ref"], "#/components/schemas/ErrorCode",
            "the error body's code is an ErrorCode"
        );
        let listed: Vec<&str> = schemas["ErrorCode"]["enum"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let missing: Vec<&str> = ErrorCode::ALL
            .iter()
            .map(|c| c.code())
            .filter(|c| !listed.contains(c))
            .collect();
        assert!(
            missing.is_empty(),
            "not in the OpenAPI document: {missing:?}"
        );
        assert_eq!(listed.len(), ErrorCode::ALL.len(), "listed once each");
    }
}
