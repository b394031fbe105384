//! Extractors whose rejections speak our error format (code + translated message) instead
//! of the framework's plain-text answers; forms checked for CSRF (`forms`) and staff with a
//! permission (`staff`) before a handler runs.

pub mod context;
pub mod flash;
pub mod forms;
pub mod staff;

use crate::error::{ApiError, PageError};
use crate::i18n::Lang;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use exitentry_services::ServiceError;
use serde::de::DeserializeOwned;

fn bad_query(detail: String) -> ServiceError {
    ServiceError::bad_input("query", exitentry_domain::ErrorCode::BadQueryString, detail)
}

/// The query string read as `T`, or why not (`bad_query_string`).
fn query<T: DeserializeOwned>(parts: &Parts) -> Result<T, ServiceError> {
    Query::<T>::try_from_uri(&parts.uri)
        .map(|Query(v)| v)
        .map_err(|e| bad_query(e.body_text()))
}

/// A query string for the JSON API: malformed input is a 400 with code `bad_query_string`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let lang = Lang::for_api(&parts.headers);
        query(parts)
            .map(ApiQuery)
            .map_err(|e| ApiError::new(e, lang))
    }
}

/// A query string for a page: malformed input is a 400 error page.
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let (lang, path) = (Lang::from_headers(&parts.headers), parts.uri.path());
        query(parts).map(PageQuery).map_err(|err| PageError {
            err,
            lang,
            path: path.to_string(),
        })
    }
}

/// A JSON body for the API: malformed or incomplete JSON is a 400 with code `bad_json`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = axum::response::Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let lang = Lang::for_api(&parts.headers);
        let req = axum::extract::Request::from_parts(parts, body);
        use axum::response::IntoResponse;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(crate::error::json_error(
                    e.status(),
                    exitentry_domain::ErrorCode::PayloadTooLarge,
                    lang,
                ))
            }
            Err(e) => Err(ApiError::new(
                ServiceError::bad_input(
                    "body",
                    exitentry_domain::ErrorCode::BadJson,
                    e.body_text(),
                ),
                lang,
            )
            .into_response()),
        }
    }
}

/// A base64 image in a JSON body (a phone's capture): its bytes, or 400 `bad_image` naming
/// the field.
pub fn base64_image(field: &'static str, text: &str, lang: Lang) -> Result<Vec<u8>, ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| {
            let e = ServiceError::bad_input(
                field,
                exitentry_domain::ErrorCode::BadImage,
                "the image is not valid base64",
            );
            ApiError::new(e, lang)
        })
}
