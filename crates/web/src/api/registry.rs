//! Registry search for staff tools (session cookie).

use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::extract::context::Cx;
use crate::session::ApiStaff;
use axum::Json;
use exitentry_services::registry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A document number or an identity number, in any common spelling.
    pub q: String,
}

#[derive(Serialize, ToSchema)]
pub struct HitJson {
    pub person_id: i64,
    pub name_zh: Option<String>,
    pub name_latin: String,
    pub date_of_birth: String,
    pub region: String,
    pub id_kind: String,
    /// The identity number, masked.
    pub id_masked: String,
    /// What matched: a document kind code or `identity`.
    pub matched: String,
}

#[utoipa::path(get, path = "/api/v1/registry/search", params(SearchParams), security(("staff_session" = [])),
    responses((status = 200, body = Vec<HitJson>), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)))]
pub async fn search(
    cx: Cx,
    ApiStaff(staff): ApiStaff,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<Vec<HitJson>>, ApiError> {
    let hits = registry::search(cx.app(), &staff, &p.q)
        .await
        .map_err(cx.api_err())?;
    Ok(Json(
        hits.into_iter()
            .map(|h| HitJson {
                person_id: h.person.id,
                name_zh: h.person.name_zh,
                name_latin: h.person.name_latin,
                date_of_birth: h.person.date_of_birth.to_string(),
                region: h.person.region.to_string(),
                id_kind: h.person.id_kind.to_string(),
                id_masked: h.person.id_masked,
                matched: h.matched,
            })
            .collect(),
    ))
}
