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
use axum::routing::get;
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
    modifiers(&PartnerKeyScheme),
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

/// Relying parties send their key as `Authorization: Bearer eek_….…`.
struct PartnerKeyScheme;

impl utoipa::Modify for PartnerKeyScheme {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "partner_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
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
            axum::routing::post(appointments::book).layer(axum::extract::DefaultBodyLimit::max(
                exitentry_services::temporary_permits::MAX_IMAGE_BYTES * 3 / 2,
            )),
        )
        .route("/api/v1/appointments/{id}", get(appointments::get_one))
        .route(
            "/api/v1/border/crossings",
            axum::routing::post(border::crossing),
        )
        .route(
            "/api/v1/payments/callbacks/{provider}",
            axum::routing::post(payments::callback),
        )
        .route("/api/v1/endorsements/choices", get(endorsements::choices))
        .route(
            "/api/v1/devices/status",
            axum::routing::post(devices::status),
        )
        .route(
            "/api/v1/endorsements/applications",
            get(endorsements::list).post(endorsements::apply),
        )
        .route(
            "/api/v1/endorsements/applications/{id}/payments",
            axum::routing::post(endorsements::pay),
        )
        .route(
            "/api/v1/endorsements/applications/{id}/cancel",
            axum::routing::post(endorsements::cancel),
        )
        .route(
            "/api/v1/appointments/{id}/cancel",
            axum::routing::post(appointments::cancel),
        )
        .route(
            "/api/v1/appointments/{id}/reschedule",
            axum::routing::post(appointments::reschedule),
        )
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
            "/api/v1/temporary-permits/applications/{id}",
            get(temporary_permits::application),
        )
        .route(
            "/api/v1/temporary-permits/applications/{id}/sms-code/resend",
            axum::routing::post(temporary_permits::resend),
        )
        .route(
            "/api/v1/temporary-permits/applications/{id}/face",
            // A phone photo in base64: up to the service's image limit and a third more.
            axum::routing::post(temporary_permits::face).layer(
                axum::extract::DefaultBodyLimit::max(
                    exitentry_services::temporary_permits::MAX_IMAGE_BYTES * 3 / 2,
                ),
            ),
        )
        .route("/api/v1/verify/permit", axum::routing::post(verify::permit))
        .route("/api/v1/verify/usage", get(verify::usage))
        .route(
            "/api/v1/verify/linkage",
            axum::routing::post(verify::linkage),
        )
        .route(
            "/api/v1/verify/credential",
            axum::routing::post(verify::credential),
        )
        .route(
            "/api/v1/verify/batch",
            axum::routing::post(verify::batch)
                .layer(axum::extract::DefaultBodyLimit::max(16 * 1024 * 1024)),
        )
        .route("/api/v1/dev/outbox", get(temporary_permits::dev_outbox))
        .route("/api/openapi.json", get(openapi))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
