//! Health, readiness and Prometheus metrics.

use crate::AppState;
use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// One recorder per process (tests start many apps in one process).
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; the handle still renders ours.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
}

/// Ready when the database answers, Redis answers (when configured) and the node holds the
/// newest signing keys; 503 with what failed otherwise.
async fn readyz(State(s): State<AppState>) -> Response {
    let r = exitentry_services::cluster::readiness(&s.app).await;
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if r.ready { "ready" } else { "unavailable" },
        "database": r.database,
        "redis": r.redis,
        "keys": r.keys,
    });
    (status, Json(body)).into_response()
}

/// Metrics name partners and count per office: only for Prometheus, which sends the
/// configured bearer token; without one configured, only loopback clients are answered.
async fn render_metrics(
    State(s): State<AppState>,
    crate::throttle::ClientIp(ip): crate::throttle::ClientIp,
    headers: axum::http::HeaderMap,
) -> Response {
    let token = s.app.config.server.metrics_token.expose();
    let allowed = if token.is_empty() {
        ip.is_some_and(|ip| ip.is_loopback())
    } else {
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| exitentry_services::tokens::constant_time_eq(given.trim(), token))
    };
    if !allowed {
        return (
            StatusCode::UNAUTHORIZED,
            [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need the configured bearer token\n",
        )
            .into_response();
    }
    s.metrics.render().into_response()
}

/// Counts requests and their latency by route template (not raw path: bounded labels).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    res
}
