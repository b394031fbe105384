//! The temporary e-permit journey for the mobile app, and the development outbox.

use crate::error::ApiError;
use crate::extract::context::Cx;
use crate::extract::{ApiJson, base64_image};
use crate::throttle::ClientIp;
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use exitentry_domain::states::TemporaryPermitApplicationState as Step;
use exitentry_services::ServiceError;
use exitentry_services::temporary_permits::{self as tp, ApplicationView, ApplyInput, PermitView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct ApplyJson {
    /// `hrp` (Hong Kong / Macao residents) or `twp` (Taiwan residents).
    pub document_kind: String,
    pub document_number: String,
    /// The name as on the permit: Chinese or Latin script.
    pub name: String,
    /// The permit's expiry date, YYYY-MM-DD.
    pub document_expiry: String,
    /// `M` or `F`.
    pub sex: String,
    /// Mainland mobile number (11 digits).
    pub mobile: String,
    /// For signing in later to see the permits.
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationCreated {
    pub application_id: String,
}

#[derive(Deserialize, ToSchema)]
pub struct CodeJson {
    pub code: String,
}

#[derive(Deserialize, ToSchema)]
pub struct FaceJson {
    /// Base64 JPEG or PNG of the live capture.
    pub image: String,
}

#[derive(Serialize, ToSchema)]
pub struct PermitJson {
    pub permit_id: String,
    /// The QR payload (`EE1:…`).
    pub payload: String,
    pub valid_from: String,
    pub valid_until: String,
    pub permitted_uses: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StateJson {
    /// `awaiting_sms`, `awaiting_face` or `issued`.
    pub state: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationJson {
    pub application_id: String,
    /// `awaiting_sms`, `awaiting_face` or `issued`.
    pub state: String,
    /// The mobile number the code went to, middle digits hidden.
    pub mobile: String,
    /// While awaiting the code: when a new code may be asked for (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resend_at: Option<String>,
    /// Once issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permit: Option<IssuedJson>,
}

#[derive(Serialize, ToSchema)]
pub struct IssuedJson {
    pub permit_id: String,
    /// `valid`, `expired`, `cancelled` or `revoked`.
    pub status: String,
    /// The QR payload while the permit is valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    pub valid_from: String,
    pub valid_until: String,
    pub permitted_uses: Vec<String>,
}

impl From<PermitView> for IssuedJson {
    fn from(p: PermitView) -> Self {
        IssuedJson {
            permit_id: p.id,
            status: p.status.to_string(),
            payload: p.payload,
            valid_from: p.valid_from.to_rfc3339(),
            valid_until: p.valid_until.to_rfc3339(),
            permitted_uses: p.permitted_uses.iter().map(|u| u.to_string()).collect(),
        }
    }
}

impl From<ApplicationView> for ApplicationJson {
    fn from(a: ApplicationView) -> Self {
        ApplicationJson {
            application_id: a.id,
            state: a.state.to_string(),
            mobile: a.mobile_masked,
            resend_at: a.resend_at.map(|t| t.to_rfc3339()),
            permit: a.permit.map(IssuedJson::from),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ResentJson {
    /// When the next code may be asked for (RFC 3339).
    pub resend_at: String,
}

/// Step 1: the permit's details; an SMS code is sent to the mobile number.
#[utoipa::path(post, path = "/api/v1/temporary-permits/applications", request_body = ApplyJson,
    responses((status = 201, body = ApplicationCreated), (status = 400, body = crate::error::ErrorBody),
        (status = 409, description = "The month's temporary permits are used up (`monthly_limit_reached`, with `available_from`)", body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn apply(
    cx: Cx,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<ApplyJson>,
) -> Result<(StatusCode, Json<ApplicationCreated>), ApiError> {
    // Each application sends an SMS: limited per client like the web form.
    cx.s.sms_throttle
        .check_or_refuse(ip)
        .await
        .map_err(cx.api_err())?;
    let input = ApplyInput {
        document_kind: b.document_kind,
        document_number: b.document_number,
        name: b.name,
        document_expiry: b.document_expiry,
        sex: b.sex,
        mobile: b.mobile,
        password: b.password,
        lang: cx.lang.messages(),
    };
    let id = tp::apply(cx.app(), &input).await.map_err(cx.api_err())?;
    Ok((
        StatusCode::CREATED,
        Json(ApplicationCreated { application_id: id }),
    ))
}

/// Step 2: the 6-digit SMS code.
#[utoipa::path(post, path = "/api/v1/temporary-permits/applications/{id}/sms-code", request_body = CodeJson,
    params(("id" = String, Path)),
    responses((status = 200, body = StateJson), (status = 400, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn sms_code(
    cx: Cx,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CodeJson>,
) -> Result<Json<StateJson>, ApiError> {
    tp::confirm_sms_code(cx.app(), &id, &b.code)
        .await
        .map_err(cx.api_err())?;
    Ok(Json(StateJson {
        state: Step::AwaitingFace.to_string(),
    }))
}

/// Step 3: the face check; on success the permit is issued.
#[utoipa::path(post, path = "/api/v1/temporary-permits/applications/{id}/face", request_body = FaceJson,
    params(("id" = String, Path)),
    responses((status = 200, body = PermitJson), (status = 400, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn face(
    cx: Cx,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<FaceJson>,
) -> Result<Json<PermitJson>, ApiError> {
    let image = base64_image("image", &b.image, cx.lang)?;
    let issued = tp::submit_face(cx.app(), &id, &image)
        .await
        .map_err(cx.api_err())?;
    Ok(Json(PermitJson {
        permit_id: issued.permit_id,
        payload: issued.payload,
        valid_from: issued.valid_from.to_rfc3339(),
        valid_until: issued.valid_until.to_rfc3339(),
        permitted_uses: issued
            .permitted_uses
            .iter()
            .map(|u| u.to_string())
            .collect(),
    }))
}

/// Where an application stands; with the permit once issued.
#[utoipa::path(get, path = "/api/v1/temporary-permits/applications/{id}",
    params(("id" = String, Path)),
    responses((status = 200, body = ApplicationJson), (status = 404, body = crate::error::ErrorBody)))]
pub async fn application(
    cx: Cx,
    Path(id): Path<String>,
) -> Result<Json<ApplicationJson>, ApiError> {
    let a = tp::application(cx.app(), &id).await.map_err(cx.api_err())?;
    Ok(Json(a.into()))
}

/// A new SMS code: at most one a minute (429 with `Retry-After` before that), a few per
/// application.
#[utoipa::path(post, path = "/api/v1/temporary-permits/applications/{id}/sms-code/resend",
    params(("id" = String, Path)),
    responses((status = 200, body = ResentJson), (status = 400, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn resend(
    cx: Cx,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<Json<ResentJson>, ApiError> {
    cx.s.sms_throttle
        .check_or_refuse(ip)
        .await
        .map_err(cx.api_err())?;
    let next = tp::resend_sms_code(cx.app(), &id, cx.lang.messages())
        .await
        .map_err(cx.api_err())?;
    Ok(Json(ResentJson {
        resend_at: next.to_rfc3339(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct OutboxJson {
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
}

/// Development only (`exitentry demo`, `serve` with `server.dev_providers`): the SMS and
/// emails the development providers delivered, newest first. 404 otherwise.
pub async fn dev_outbox(cx: Cx) -> Result<Json<Vec<OutboxJson>>, ApiError> {
    if !cx.app().config.server.dev_providers {
        return Err(ApiError::new(ServiceError::NotFound("endpoint"), cx.lang));
    }
    let msgs = exitentry_services::jobs::outbox(cx.app(), 50)
        .await
        .map_err(cx.api_err())?;
    Ok(Json(
        msgs.into_iter()
            .map(|m| OutboxJson {
                channel: m.channel,
                recipient: m.recipient,
                subject: m.subject,
                body: m.body,
            })
            .collect(),
    ))
}
