//! Per-client rate limits (sign-in attempts), answered with 429 and `Retry-After`.
//!
//! In-process: with several nodes each allows the configured rate; the per-account
//! lock-out in the database is the limit that holds across nodes.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use exitentry_domain::ErrorCode;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The application's clock as the rate limiter's: the same time everywhere (and a test's
/// manual clock holds still, so a limit is exact whatever the machine's speed).
#[derive(Clone)]
pub struct AppClock(pub Arc<dyn exitentry_services::Clock>);

impl Clock for AppClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        let micros = self.0.now().timestamp_micros().max(0);
        Duration::from_micros(micros.unsigned_abs())
    }
}

pub struct Throttle {
    limiter:
        RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, AppClock, NoOpMiddleware<Duration>>,
    clock: AppClock,
}

impl Throttle {
    pub fn per_minute(n: u32, clock: Arc<dyn exitentry_services::Clock>) -> Self {
        let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        let clock = AppClock(clock);
        Throttle {
            limiter: RateLimiter::new(
                Quota::per_minute(n),
                DefaultKeyedStateStore::default(),
                clock.clone(),
            ),
            clock,
        }
    }

    /// `Err(wait)` when the client must wait before trying again.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        let ip = ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

impl Throttle {
    /// [`Throttle::check`] as a service error: 429 `rate_limited` with `Retry-After`.
    pub fn check_or_refuse(
        &self,
        ip: Option<IpAddr>,
    ) -> Result<(), exitentry_services::ServiceError> {
        self.check(ip).map_err(|wait| {
            let now = self.clock.0.now();
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
