//! The one place that turns service errors into HTTP: status codes, stable error codes,
//! and messages in the reader's language. Internal causes are logged, never returned.

use crate::i18n::Lang;
use crate::render::{beijing, render_error_page, urlencoding_min};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
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

/// A message for people: the translated text for the code when there is one; for
/// validation errors the detailed English text otherwise; never internal details.
pub fn message_for(e: &ServiceError, lang: Lang) -> String {
    if let ServiceError::Internal(detail) = e {
        tracing::error!(%detail, "internal error");
    }
    if let Some(at) = e.available_from() {
        let time = beijing(at, "%Y-%m-%d %H:%M:%S (UTC+8)");
        return lang.t_args(&format!("err-{}", e.code()), &[("time", time)]);
    }
    if let Some(m) = lang.try_t(&format!("err-{}", e.code())) {
        return m;
    }
    match e {
        ServiceError::Invalid { error, .. } => error.message.clone(),
        ServiceError::Unavailable { message, .. } | ServiceError::Conflict { message, .. } => {
            message.clone()
        }
        _ => lang.t("err-internal"),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `bad_check_digit`.
    pub code: String,
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
}

impl ApiError {
    pub fn new(err: ServiceError, lang: Lang) -> Self {
        ApiError { err, lang }
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
                code: self.err.code().to_string(),
                message: message_for(&self.err, self.lang),
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
        res
    }
}

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
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        StatusCode::INTERNAL_SERVER_ERROR => "internal",
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

fn message_for_code(code: &str, lang: Lang) -> String {
    lang.try_t(&format!("err-{code}"))
        .unwrap_or_else(|| lang.t("err-bad_request"))
}

/// The API's error body for a status without a service error (body too large, …).
pub fn json_error(status: StatusCode, code: &str, lang: Lang) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_string(),
            message: message_for_code(code, lang),
            field: None,
            available_from: None,
        },
    };
    (status, Json(body)).into_response()
}
