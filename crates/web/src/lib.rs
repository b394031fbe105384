//! HTTP: the JSON API under `/api/v1`, server-rendered pages, assets, health and metrics.

pub mod api;
mod assets;
pub mod error;
mod extract;
pub mod i18n;
mod observability;
pub mod pages;
mod render;
pub mod session;
mod throttle;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request};
use exitentry_services::App;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// What every handler shares, behind one pointer: extractors clone the state for each
/// request, and cloning the application's dozens of shared parts cost measurable time per check.
#[derive(Clone)]
pub struct AppState(std::sync::Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub app: App,
    pub metrics: PrometheusHandle,
    pub login_throttle: std::sync::Arc<throttle::Throttle>,
    /// Requests that make us send an SMS (they cost money and can pester a stranger).
    pub sms_throttle: std::sync::Arc<throttle::Throttle>,
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids: 128 random bits, hex.
#[derive(Clone, Copy, Default)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = format!("{:032x}", rand::random::<u128>());
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// The whole application as one router.
pub fn router(app: App) -> Router {
    let login_throttle = std::sync::Arc::new(throttle::Throttle::per_minute(
        "login",
        app.config.security.login_attempts_per_minute,
        &app,
    ));
    let sms_throttle = std::sync::Arc::new(throttle::Throttle::per_minute(
        "sms",
        app.config.security.sms_requests_per_minute,
        &app,
    ));
    let state = AppState(std::sync::Arc::new(Shared {
        app,
        metrics: observability::prometheus(),
        login_throttle,
        sms_throttle,
    }));
    let https = state
        .app
        .config
        .server
        .public_url
        .trim()
        .to_ascii_lowercase()
        .starts_with("https://");
    let security_headers = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    ];
    let mut r = Router::new()
        .merge(pages::routes())
        .merge(api::routes())
        .merge(observability::routes())
        .merge(assets::routes())
        .fallback(pages::not_found)
        // A bug must never cost a visitor their answer: a panic becomes a 500 in our format
        // (the error-page layer around it renders it) instead of a dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::render_error_pages,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            extract::flash::post_redirect_get,
        ))
        .layer(axum::middleware::from_fn(observability::track))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::host_cookies,
        ));
    for (name, value) in security_headers {
        r = r.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    // Answers carry personal data unless they say otherwise (assets and the published
    // lists set their own caching): never kept by browsers or shared caches.
    r = r.layer(SetResponseHeaderLayer::if_not_present(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ));
    if https {
        r = r.layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    r.layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), RandomRequestId))
        .with_state(state)
}

/// Serves until ctrl-c / SIGTERM, finishing requests in flight.
pub async fn serve(app: App, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let service = router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
