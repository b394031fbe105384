//! Border control reports crossings against endorsements (partner key with scope `border`).

use super::verify::{BorderScope, Scoped};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::extract::context::Cx;
use axum::Json;
use exitentry_services::border::{self, CrossingRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct CrossingJson {
    /// The Exit-Entry Permit's number.
    pub document_number: String,
    /// `hong_kong` or `macao`.
    pub destination: String,
    /// `exit` (leaving the mainland) or `entry` (coming back).
    pub direction: String,
    /// When, RFC 3339.
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CrossingAnswerJson {
    pub allowed: bool,
    /// `ok`, `unknown_permit`, `permit_expired`, `permit_invalid`, `no_endorsement`,
    /// `endorsement_expired`, `no_trips_left`; entries: `ok`, `overstay`, `no_exit_on_record`.
    pub reason: String,
    /// Trips left on the endorsement; null for multiple-trip endorsements or when none applies.
    pub trips_left: Option<i64>,
}

/// Records an exit or an entry. Exits are refused without a valid permit and endorsement
/// with a trip left; entries are always recorded, flagged `overstay` after too long a stay.
#[utoipa::path(post, path = "/api/v1/border/crossings", request_body = CrossingJson,
    security(("partner_key" = [])),
    responses((status = 200, body = CrossingAnswerJson), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn crossing(
    cx: Cx,
    Scoped(p, _): Scoped<BorderScope>,
    ApiJson(b): ApiJson<CrossingJson>,
) -> Result<Json<CrossingAnswerJson>, ApiError> {
    let req = CrossingRequest {
        document_number: b.document_number,
        destination: b.destination,
        direction: b.direction,
        at: b.at,
    };
    let a = border::crossing(cx.app(), &p, &req)
        .await
        .map_err(cx.api_err())?;
    Ok(Json(CrossingAnswerJson {
        allowed: a.allowed,
        reason: a.reason.to_string(),
        trips_left: a.trips_left,
    }))
}
