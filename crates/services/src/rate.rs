//! Rate limits that hold for the whole system: the generic cell rate algorithm (GCRA) over
//! one stored instant per key, in Redis when `cluster.redis_url` is set (one Lua script,
//! atomic for every node) or in this process otherwise (one node). Time is the app's clock,
//! so a test holding its clock still gets an exact limit.

use crate::Clock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `KEYS[1]` holds the theoretical arrival time (µs) of the next request. Allowed when it is
/// no more than `burst` intervals ahead of now; answers 0, or the µs to wait.
const GCRA: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allow_at = tat + interval - interval * burst
if allow_at > now then return allow_at - now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', string.format('%.0f', math.floor((next_tat - now) / 1000) + 1))
return 0
";

/// Where the counts live.
enum Store {
    Memory(Mutex<HashMap<String, i64>>),
    Redis {
        conn: redis::aio::ConnectionManager,
        prefix: String,
        script: redis::Script,
    },
}

pub struct RateLimits {
    store: Store,
    clock: Arc<dyn Clock>,
}

/// A limit: at most `burst` at once, then one every `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub burst: u32,
    pub interval: Duration,
}

impl Limit {
    /// `n` a second (bursts of `n`), like a per-second quota.
    pub fn per_second(n: i64) -> Limit {
        let n = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        Limit {
            burst: n,
            interval: Duration::from_secs(1) / n,
        }
    }

    /// `n` a minute (bursts of `n`).
    pub fn per_minute(n: u32) -> Limit {
        let n = n.max(1);
        Limit {
            burst: n,
            interval: Duration::from_secs(60) / n,
        }
    }
}

impl RateLimits {
    /// In this process only.
    pub fn memory(clock: Arc<dyn Clock>) -> RateLimits {
        RateLimits {
            store: Store::Memory(Mutex::default()),
            clock,
        }
    }

    /// In Redis at `url` (connected on first use, reconnected when lost), keys under `prefix`.
    pub fn redis(url: &str, prefix: &str, clock: Arc<dyn Clock>) -> Result<RateLimits, String> {
        let client = redis::Client::open(url).map_err(|e| format!("cluster.redis_url: {e}"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(2);
        let conn = redis::aio::ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("cluster.redis_url: {e}"))?;
        Ok(RateLimits {
            store: Store::Redis {
                conn,
                prefix: prefix.to_string(),
                script: redis::Script::new(GCRA),
            },
            clock,
        })
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.store, Store::Redis { .. })
    }

    /// Takes one request under `key` within `limit`; `Err(wait)` when it must wait. When Redis
    /// does not answer the request is let through (logged): the database's lock-outs and
    /// allowances still hold, and `/readyz` reports Redis as down.
    pub async fn check(&self, key: &str, limit: Limit) -> Result<(), Duration> {
        let now = self.clock.now().timestamp_micros();
        let interval = i64::try_from(limit.interval.as_micros())
            .unwrap_or(i64::MAX)
            .max(1);
        let burst = i64::from(limit.burst.max(1));
        let wait = match &self.store {
            Store::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
                if map.len() > 100_000 {
                    map.retain(|_, tat| *tat > now);
                }
                let tat = map.get(key).copied().unwrap_or(now).max(now);
                let allow_at = tat + interval - interval * burst;
                if allow_at > now {
                    allow_at - now
                } else {
                    map.insert(key.to_string(), tat + interval);
                    0
                }
            }
            Store::Redis {
                conn,
                prefix,
                script,
            } => {
                let mut conn = conn.clone();
                let answer: redis::RedisResult<i64> = script
                    .key(format!("{prefix}{key}"))
                    .arg(now)
                    .arg(interval)
                    .arg(burst)
                    .invoke_async(&mut conn)
                    .await;
                match answer {
                    Ok(w) => w,
                    Err(e) => {
                        tracing::warn!(error = %e, "redis unavailable: rate limit not applied");
                        metrics::counter!("rate_limit_store_errors_total").increment(1);
                        0
                    }
                }
            }
        };
        if wait > 0 {
            Err(Duration::from_micros(wait.unsigned_abs()))
        } else {
            Ok(())
        }
    }

    /// Readiness: `None` without Redis, else whether it answers.
    pub async fn ping(&self) -> Option<Result<(), String>> {
        let Store::Redis { conn, .. } = &self.store else {
            return None;
        };
        let mut conn = conn.clone();
        let r: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
        Some(r.map(|_| ()).map_err(|e| e.to_string()))
    }
}
