//! Repeat endorsements for the mobile app (the applicant's session): what can be applied
//! for, applying, paying through a provider, cancelling.

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::extract::context::Cx;
use crate::session::ApiHolder;
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use exitentry_services::endorsement_applications::{
    self as ea, ApplicationView, ApplyRequest, Choice,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ChoiceJson {
    pub destination: String,
    pub kind: String,
    pub validity_months: u32,
    /// A number or `multiple`.
    pub trips: String,
    pub stay_days: u32,
    pub fee_cents: i64,
}

impl From<Choice> for ChoiceJson {
    fn from(c: Choice) -> Self {
        ChoiceJson {
            destination: c.destination,
            kind: c.kind,
            validity_months: c.validity_months,
            trips: c.trips,
            stay_days: c.stay_days,
            fee_cents: c.fee_cents,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EndorsementApplicationJson {
    pub id: String,
    pub reference: String,
    pub destination: String,
    pub kind: String,
    pub validity_months: i64,
    pub trips: String,
    pub stay_days: i64,
    pub fee_cents: i64,
    /// `awaiting_payment`, `under_review`, `ready_to_print`, `printing`, `printed`,
    /// `cancelled`, `rejected` or `refunded`.
    pub status: String,
    /// `online`, `kiosk` or `counter`.
    pub channel: String,
    /// Counter applications: the first day a kiosk prints it (after processing).
    pub ready_on: Option<String>,
    /// Family visits: the relative declared; the reviewer's note once decided.
    pub relation: Option<String>,
    pub review_note: Option<String>,
    /// Stay (D) endorsements: the last day, from the Hong Kong / Macao approval.
    pub valid_until: Option<String>,
    /// Refunded instead of printed: why (`permit_expires_too_soon`, `card_not_valid`).
    pub refund_reason: Option<String>,
}

impl From<ApplicationView> for EndorsementApplicationJson {
    fn from(a: ApplicationView) -> Self {
        EndorsementApplicationJson {
            id: a.id,
            reference: a.reference,
            destination: a.destination,
            kind: a.kind,
            validity_months: a.validity_months,
            trips: a.trips,
            stay_days: a.stay_days,
            fee_cents: a.fee_cents,
            status: a.status.to_string(),
            channel: a.channel,
            ready_on: a.ready_on,
            relation: a.relation,
            review_note: a.review_note,
            valid_until: a.fixed_until,
            refund_reason: a.refund_reason,
        }
    }
}

/// What the signed-in card holder may apply for online today.
#[utoipa::path(get, path = "/api/v1/endorsements/choices", security(("holder_session" = [])),
    responses((status = 200, body = Vec<ChoiceJson>), (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn choices(cx: Cx, ApiHolder(h): ApiHolder) -> Result<Json<Vec<ChoiceJson>>, ApiError> {
    let list = ea::choices(cx.app(), h.person_id)
        .await
        .map_err(cx.api_err())?;
    Ok(Json(list.into_iter().map(ChoiceJson::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct ApplyEndorsementJson {
    /// `hong_kong` or `macao`.
    pub destination: String,
    /// `G` or `L` online.
    pub kind: String,
    pub validity_months: u32,
    /// A number or `multiple`.
    pub trips: String,
}

/// Applies for a repeat endorsement (201), refused with 409 and a reason code under the rules.
#[utoipa::path(post, path = "/api/v1/endorsements/applications", security(("holder_session" = [])), request_body = ApplyEndorsementJson,
    responses((status = 201, body = EndorsementApplicationJson), (status = 400, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn apply(
    cx: Cx,
    ApiHolder(h): ApiHolder,
    ApiJson(b): ApiJson<ApplyEndorsementJson>,
) -> Result<(StatusCode, Json<EndorsementApplicationJson>), ApiError> {
    let req = ApplyRequest {
        destination: b.destination,
        kind: b.kind,
        validity_months: b.validity_months,
        trips: b.trips,
    };
    let a = ea::apply(cx.app(), h.person_id, "online", &h.actor(), &req)
        .await
        .map_err(cx.api_err())?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// The applicant's endorsement applications, newest first.
#[utoipa::path(get, path = "/api/v1/endorsements/applications", security(("holder_session" = [])),
    responses((status = 200, body = Vec<EndorsementApplicationJson>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    cx: Cx,
    ApiHolder(h): ApiHolder,
) -> Result<Json<Vec<EndorsementApplicationJson>>, ApiError> {
    let list = ea::mine(cx.app(), h.person_id)
        .await
        .map_err(cx.api_err())?;
    Ok(Json(
        list.into_iter()
            .map(EndorsementApplicationJson::from)
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct PayJson {
    /// `unionpay`, `yang_cheng_tong`, `alipay` or `wechat_pay`.
    pub provider: String,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentStartedJson {
    pub order_id: String,
    /// Where the applicant pays: with `checkout_kind` `redirect`, the provider's page (the
    /// sandbox's in development); with `qr`, a payload to show as a QR code for the
    /// provider's app to scan (WeChat Pay's `code_url`).
    pub checkout_url: String,
    /// `redirect` or `qr`.
    pub checkout_kind: String,
}

/// Starts paying an application; the provider's signed callback completes it.
#[utoipa::path(post, path = "/api/v1/endorsements/applications/{id}/payments", security(("holder_session" = [])), params(("id" = String, Path)),
    request_body = PayJson,
    responses((status = 201, body = PaymentStartedJson), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn pay(
    cx: Cx,
    ApiHolder(h): ApiHolder,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PayJson>,
) -> Result<(StatusCode, Json<PaymentStartedJson>), ApiError> {
    let (order, checkout) = ea::pay_online(cx.app(), &h, &id, &b.provider)
        .await
        .map_err(cx.api_err())?;
    Ok((
        StatusCode::CREATED,
        Json(PaymentStartedJson {
            order_id: order.id,
            checkout_url: checkout.target().to_string(),
            checkout_kind: checkout.kind().to_string(),
        }),
    ))
}

/// Cancels an application not yet printed; a paid one is refunded.
#[utoipa::path(post, path = "/api/v1/endorsements/applications/{id}/cancel", security(("holder_session" = [])), params(("id" = String, Path)),
    responses((status = 200, body = EndorsementApplicationJson), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn cancel(
    cx: Cx,
    ApiHolder(h): ApiHolder,
    Path(id): Path<String>,
) -> Result<Json<EndorsementApplicationJson>, ApiError> {
    let a = ea::cancel(cx.app(), h.person_id, &id, &h.actor())
        .await
        .map_err(cx.api_err())?;
    Ok(Json(a.into()))
}
