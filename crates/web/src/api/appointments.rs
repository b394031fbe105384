//! Appointments over the API: open slots, and booking, reading, cancelling and moving a
//! booking. Applicants use their session cookie; channel integrations (a city police
//! portal) send a partner key with the scope `book_appointments`.

use super::verify::{BookScope, Scoped};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::context::Cx;
use crate::extract::{ApiJson, ApiQuery, base64_image};
use crate::i18n::Lang;
use crate::session::MaybeHolder;
use axum::Json;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use exitentry_services::ServiceError;
use exitentry_services::appointments::{
    self as ap, Applicant, AppointmentView, Booker, BookingRequest, SlotView,
};
use exitentry_services::holders::HolderSession;
use exitentry_services::partners::PartnerContext;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A signed-in applicant (cookie) or a channel integration (bearer key).
pub enum Caller {
    Holder(HolderSession),
    Partner(PartnerContext),
}

impl Caller {
    fn booker(&self) -> Booker<'_> {
        match self {
            Caller::Holder(h) => Booker::Holder(h),
            Caller::Partner(p) => Booker::Partner(p),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            // Only keys that may book, and before anything else is read.
            return Scoped::<BookScope>::from_request_parts(parts, s)
                .await
                .map(|p| Caller::Partner(p.0));
        }
        let lang = Lang::for_api(&parts.headers);
        match MaybeHolder::from_request_parts(parts, s).await {
            Ok(MaybeHolder(Some(h))) => Ok(Caller::Holder(h)),
            _ => Err(ApiError::new(ServiceError::Unauthenticated, lang).into_response()),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotParams {
    /// e.g. `eep_application`, `endorsement`, `hrp_non_chinese`, `linkage_proof_paper`, `collection`.
    pub service: String,
    /// First day, YYYY-MM-DD (Beijing).
    pub from: NaiveDate,
    /// Last day, YYYY-MM-DD; at most 62 days after `from`.
    pub to: NaiveDate,
}

#[derive(Serialize, ToSchema)]
pub struct SlotJson {
    /// RFC 3339 in Beijing time.
    pub start: String,
    pub end: String,
    pub capacity: i64,
    pub available: i64,
}

impl From<SlotView> for SlotJson {
    fn from(s: SlotView) -> Self {
        SlotJson {
            start: s.start.to_rfc3339(),
            end: s.end.to_rfc3339(),
            capacity: s.capacity,
            available: s.available,
        }
    }
}

/// Open slots of a service at an office.
#[utoipa::path(get, path = "/api/v1/offices/{code}/slots", params(("code" = String, Path), SlotParams),
    responses((status = 200, body = Vec<SlotJson>), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn slots(
    cx: Cx,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<SlotParams>,
) -> Result<Json<Vec<SlotJson>>, ApiError> {
    let list = ap::slots(cx.app(), &code, &q.service, q.from, q.to)
        .await
        .map_err(cx.api_err())?;
    Ok(Json(list.into_iter().map(SlotJson::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct ApplicantJson {
    /// `prc_resident_id`, `hkid`, `macao_id`, `taiwan_id` or `passport`.
    pub id_kind: String,
    pub id_number: String,
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct BookJson {
    pub office_code: String,
    pub service: String,
    /// The slot's start, RFC 3339 (as listed by the slots endpoint).
    pub slot_start: String,
    /// `web` or `mini_program` for applicants; `city_police` for a police portal's key.
    #[serde(default)]
    pub channel: String,
    /// Who the appointment is for; required with a partner key, ignored for applicants.
    pub applicant: Option<ApplicantJson>,
    /// Mainland mobile number for the reminder.
    pub mobile: Option<String>,
    /// The mini program's live capture (base64 JPEG or PNG), checked before booking.
    pub face_image: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AppointmentJson {
    pub appointment_id: String,
    /// Shown as a QR on the confirmation and scanned at check-in.
    pub reference: String,
    pub office_code: String,
    pub service: String,
    pub start: String,
    pub end: String,
    pub channel: String,
    /// `booked`, `cancelled`, `checked_in` or `no_show`.
    pub status: String,
    pub name: String,
    pub id_number: String,
    /// Cancel or move before this time.
    pub changeable_until: String,
}

impl From<AppointmentView> for AppointmentJson {
    fn from(a: AppointmentView) -> Self {
        AppointmentJson {
            appointment_id: a.appointment_id,
            reference: a.reference,
            office_code: a.office_code,
            service: a.service,
            start: a.start.to_rfc3339(),
            end: a.end.to_rfc3339(),
            channel: a.channel,
            status: a.status.to_string(),
            name: a.name,
            id_number: a.id_number,
            changeable_until: a.changeable_until.to_rfc3339(),
        }
    }
}

/// Books a slot. `409 slot_full` when it is taken, `409 already_booked` for a second active
/// booking of the same service, `409 booking_blocked` after repeated no-shows.
#[utoipa::path(post, path = "/api/v1/appointments", request_body = BookJson,
    security(("partner_key" = []), ("holder_session" = [])),
    responses((status = 201, body = AppointmentJson), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn book(
    cx: Cx,
    caller: Caller,
    ApiJson(b): ApiJson<BookJson>,
) -> Result<(StatusCode, Json<AppointmentJson>), ApiError> {
    let face_image = match b.face_image {
        Some(img) => Some(base64_image("face_image", &img, cx.lang)?),
        None => None,
    };
    let req = BookingRequest {
        office_code: b.office_code,
        service: b.service,
        slot_start: b.slot_start,
        channel: b.channel,
        applicant: b.applicant.map(|a| Applicant {
            id_kind: a.id_kind,
            id_number: a.id_number,
            name: a.name,
        }),
        mobile: b.mobile,
        face_image,
        lang: Some(cx.lang.messages()),
    };
    let a = ap::book(cx.app(), caller.booker(), &req)
        .await
        .map_err(cx.api_err())?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// One booking (its applicant or the partner that made it).
#[utoipa::path(get, path = "/api/v1/appointments/{id}", params(("id" = String, Path)),
    security(("partner_key" = []), ("holder_session" = [])),
    responses((status = 200, body = AppointmentJson), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    cx: Cx,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AppointmentJson>, ApiError> {
    let a = ap::get(cx.app(), caller.booker(), &id)
        .await
        .map_err(cx.api_err())?;
    Ok(Json(a.into()))
}

/// Cancels a booking, until the cut-off (2 hours before by default).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/cancel", params(("id" = String, Path)),
    security(("partner_key" = []), ("holder_session" = [])),
    responses((status = 200, body = AppointmentJson), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn cancel(
    cx: Cx,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AppointmentJson>, ApiError> {
    let a = ap::cancel(cx.app(), caller.booker(), &id)
        .await
        .map_err(cx.api_err())?;
    Ok(Json(a.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct RescheduleJson {
    pub slot_start: String,
    /// Another office offering the service (default: the same office).
    pub office_code: Option<String>,
}

/// Moves a booking to another slot of the same service, until the cut-off.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/reschedule", params(("id" = String, Path)),
    request_body = RescheduleJson, security(("partner_key" = []), ("holder_session" = [])),
    responses((status = 200, body = AppointmentJson), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn reschedule(
    cx: Cx,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RescheduleJson>,
) -> Result<Json<AppointmentJson>, ApiError> {
    let a = ap::reschedule(
        cx.app(),
        caller.booker(),
        &id,
        b.office_code.as_deref(),
        &b.slot_start,
        Some(cx.lang.messages()),
    )
    .await
    .map_err(cx.api_err())?;
    Ok(Json(a.into()))
}
