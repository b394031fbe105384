//! The one place that turns service errors into HTTP: status codes, stable error codes,
//! and messages in the reader's language. Internal causes are logged, never returned.

use crate::i18n::Lang;
use crate::render::{beijing, render_error_page, urlencoding_min};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use exitentry_domain::ErrorCode;
use exitentry_services::ServiceError;
use serde::Serialize;

pub fn status_for(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::Invalid { .. } => StatusCode::BAD_REQUEST,
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::Unauthenticated | ServiceError::BadCredentials => StatusCode::UNAUTHORIZED,
        ServiceError::Forbidden => StatusCode::FORBIDDEN,
        ServiceError::Locked { .. } => StatusCode::LOCKED,
        ServiceError::Conflict { .. } => StatusCode::CONFLICT,
        ServiceError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::TooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::LimitReached { .. } => StatusCode::CONFLICT,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A message for people: the text for the error's code in the reader's language (with the
/// time for limits). Never internal details, never a bare code.
pub fn message_for(e: &ServiceError, lang: Lang) -> String {
    match e {
        ServiceError::Internal(detail) => tracing::error!(%detail, "internal error"),
        // The reader gets the code's sentence; operators keep the provider's own words.
        ServiceError::Unavailable { code, message } => {
            tracing::warn!(code = code.code(), %message, "unavailable")
        }
        _ => {}
    }
    let args = match e.available_from() {
        Some(at) => vec![("time", beijing(at, "%Y-%m-%d %H:%M:%S"))],
        None => Vec::new(),
    };
    message_for_code_with(e.error_code(), lang, &args)
}

/// The message for a code in the reader's language.
pub fn message_for_code(code: ErrorCode, lang: Lang) -> String {
    message_for_code_with(code, lang, &[])
}

/// The message key of a code in `locales/*/main.ftl`.
pub fn message_key(code: ErrorCode) -> String {
    format!("err-{}", code.code())
}

/// Every code has its message in every language (a test checks it). Should one be missing
/// all the same, the reader gets a general sentence in their language, not another
/// language's text and not the code.
fn message_for_code_with(code: ErrorCode, lang: Lang, args: &[(&'static str, String)]) -> String {
    lang.own_t_args(&message_key(code), args)
        .unwrap_or_else(|| {
            tracing::warn!(
                code = code.code(),
                lang = lang.code(),
                "no message for error code"
            );
            lang.t(FALLBACK_KEY)
        })
}

/// The general sentence for a code without a message of its own.
pub const FALLBACK_KEY: &str = "error-generic";

/// The OpenAPI schema of `ErrorCode`: every code the API can answer.
pub fn error_code_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "Stable machine-readable error code. Codes are never renamed; new ones may be added.",
        ))
        .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.code())))
        .build()
}

fn error_code_ref() -> utoipa::openapi::Ref {
    utoipa::openapi::Ref::from_schema_name("ErrorCode")
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `bad_check_digit`.
    #[schema(schema_with = error_code_ref)]
    pub code: ErrorCode,
    /// Human-readable message in the negotiated language.
    pub message: String,
    /// The input field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For limits: when the request may succeed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_from: Option<String>,
}

/// Error answer of the JSON API.
pub struct ApiError {
    pub err: ServiceError,
    pub lang: Lang,
    /// The caller authenticates with a partner key: a refusal asks for the key, not for a
    /// sign-in.
    pub partner: bool,
}

impl ApiError {
    pub fn new(err: ServiceError, lang: Lang) -> Self {
        ApiError {
            err,
            lang,
            partner: false,
        }
    }

    /// An error answered to a relying party (a route taking a partner key).
    pub fn for_partner(err: ServiceError, lang: Lang) -> Self {
        ApiError {
            err,
            lang,
            partner: true,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let field = match &self.err {
            ServiceError::Invalid { field, .. } => Some((*field).to_string()),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.err.error_code(),
                message: match (&self.err, self.partner) {
                    (ServiceError::Unauthenticated, true) => {
                        self.lang.t("err-unauthenticated-partner")
                    }
                    _ => message_for(&self.err, self.lang),
                },
                field,
                available_from: self.err.available_from().map(|t| t.to_rfc3339()),
            },
        };
        let mut res = (status_for(&self.err), Json(body)).into_response();
        if let ServiceError::TooSoon { wait_secs, .. } = &self.err
            && let Ok(v) = axum::http::HeaderValue::from_str(&wait_secs.max(&1).to_string())
        {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        // RFC 6750: a refused or missing key says which scheme the API takes.
        if matches!(self.err, ServiceError::Unauthenticated) {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

/// What a page handler answers: the page, or the error page (or sign-in) instead.
pub type PageResult = Result<Response, PageError>;

/// Error answer of a web page: the login page for anonymous staff, else an error page.
pub struct PageError {
    pub err: ServiceError,
    pub lang: Lang,
    /// Where to come back to after signing in.
    pub path: String,
}

impl PageError {
    /// For `map_err`: a service error on the page at `path`.
    pub fn at(lang: Lang, path: &str) -> impl Fn(ServiceError) -> PageError + '_ {
        move |err| PageError {
            err,
            lang,
            path: path.to_string(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.err, ServiceError::Unauthenticated) {
            let next = urlencoding_min(&self.path);
            // Holders' pages live under /my, applicants' under /apply; the rest is staff's.
            let login = if self.path.starts_with("/my") {
                "/my/login"
            } else if self.path.starts_with("/apply") {
                "/apply/login"
            } else {
                "/staff/login"
            };
            return Redirect::to(&format!("{login}?next={next}")).into_response();
        }
        let status = status_for(&self.err);
        let message = message_for(&self.err, self.lang);
        render_error_page(self.lang, &self.path, status, &message)
    }
}

/// Answers the framework gives by itself (a form or body it cannot read, a body too large,
/// a method the address does not take) come as plain text: on the API they get our JSON
/// error with a stable code, on pages the translated error page.
pub fn framework_rejection(res: Response, lang: Lang, path: &str) -> Response {
    let status = res.status();
    let plain = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    let code = match status {
        StatusCode::BAD_REQUEST => ErrorCode::BadRequest,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::URI_TOO_LONG => ErrorCode::UriTooLong,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::InvalidBody,
        StatusCode::INTERNAL_SERVER_ERROR => ErrorCode::Internal,
        _ => return res,
    };
    if !plain {
        return res;
    }
    if path.starts_with("/api/") {
        let mut out = json_error(status, code, lang);
        if let Some(allow) = res.headers().get(axum::http::header::ALLOW) {
            out.headers_mut()
                .insert(axum::http::header::ALLOW, allow.clone());
        }
        return out;
    }
    // A marker the error-page middleware (our caller) renders as the full page.
    render_error_page(lang, path, status, &message_for_code(code, lang))
}

/// The API's error body for a status without a service error (body too large, …).
pub fn json_error(status: StatusCode, code: ErrorCode, lang: Lang) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message: message_for_code(code, lang),
            field: None,
            available_from: None,
        },
    };
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_a_message_in_every_language() {
        let mut missing = Vec::new();
        for lang in Lang::ALL {
            for code in ErrorCode::ALL {
                let key = message_key(*code);
                if lang.own_t_args(&key, &[("time", "12:00".into())]).is_none() {
                    missing.push(format!("locales/{}/main.ftl: {key}", lang.code()));
                }
            }
            assert!(
                lang.own_t_args(FALLBACK_KEY, &[]).is_some(),
                "{FALLBACK_KEY}"
            );
        }
        assert!(
            missing.is_empty(),
            "{} error codes have no message:\n{}",
            missing.len(),
            missing.join("\n")
        );
    }

    #[test]
    fn a_message_is_in_the_readers_language_never_a_code() {
        let e = ServiceError::NotFound("person");
        assert_eq!(
            message_for(&e, Lang::En),
            "We could not find that page or record."
        );
        assert_eq!(message_for(&e, Lang::ZhHans), "找不到该页面或记录。");
        for lang in Lang::ALL {
            for code in ErrorCode::ALL {
                let m = message_for_code(*code, lang);
                assert!(
                    !m.is_empty() && m != code.code() && !m.starts_with("err-"),
                    "{code}"
                );
            }
        }
    }
}
