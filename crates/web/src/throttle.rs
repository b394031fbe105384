//! Per-client rate limits (sign-in attempts, SMS requests), answered with 429 and
//! `Retry-After`. Counted for the whole system in Redis when `cluster.redis_url` is set
//! (else in this process); the per-account lock-out in the database holds either way.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use exitentry_domain::ErrorCode;
use exitentry_services::rate::{Limit, RateLimits};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub struct Throttle {
    /// Names this throttle's keys (`login`, `sms`).
    name: &'static str,
    limit: Limit,
    limits: Arc<RateLimits>,
    clock: Arc<dyn exitentry_services::Clock>,
}

impl Throttle {
    pub fn per_minute(name: &'static str, n: u32, app: &exitentry_services::App) -> Self {
        Throttle {
            name,
            limit: Limit::per_minute(n),
            limits: app.limits.clone(),
            clock: app.clock(),
        }
    }

    /// `Err(wait)` when the client must wait before trying again.
    pub async fn check(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        let ip = ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let key = format!("{}:{ip}", self.name);
        self.limits.check(&key, self.limit).await
    }

    /// [`Throttle::check`] as a service error: 429 `rate_limited` with `Retry-After`.
    pub async fn check_or_refuse(
        &self,
        ip: Option<IpAddr>,
    ) -> Result<(), exitentry_services::ServiceError> {
        self.check(ip).await.map_err(|wait| {
            let now = self.clock.now();
            let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(60));
            exitentry_services::ServiceError::too_soon(
                ErrorCode::RateLimited,
                now + wait,
                wait.num_seconds().max(1),
            )
        })
    }
}

/// The peer address, when the server was started with connection info.
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}
