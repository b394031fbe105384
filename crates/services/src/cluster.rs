//! Many nodes, one system: every node on PostgreSQL follows the change feed (see
//! `exitentry_storage::changes`) and drops or reloads what it cached the moment a change
//! commits anywhere: signing keys, quota leases, any cached key. A periodic look at the
//! published keys remains as a safety net (on SQLite too, where `keys` commands run in
//! another process than the server).

use crate::{App, Backend, keys, partners};
use exitentry_storage::changes::{Change, ChangeListener};
use std::time::Duration;

/// Follows the feed (PostgreSQL) and looks at the published keys (both backends) in the
/// background, inside a tokio runtime.
pub(crate) fn start(app: &App) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    handle.spawn(poll_keys(app.clone()));
    if app.db.backend() == Backend::Postgres {
        handle.spawn(follow(app.clone()));
    }
}

async fn follow(app: App) {
    let mut listener: Option<ChangeListener> = None;
    while !app.db.pool().is_closed() {
        let Some(l) = listener.as_mut() else {
            match ChangeListener::connect(&app.db).await {
                Ok(Some(l)) => {
                    listener = Some(l);
                    // Whatever changed while this node was not listening is unknown: all of
                    // it is acted on at once (and counted as acted on).
                    forget(&app).await;
                    app.feed.send_modify(|n| *n += 1);
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "change feed: cannot listen; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            continue;
        };
        match l.next().await {
            Ok(Change::Topic(topic)) => {
                apply(&app, &topic).await;
                app.feed.send_modify(|n| *n += 1);
            }
            Ok(Change::Lost) => forget(&app).await,
            Err(e) => {
                tracing::warn!(error = %e, "change feed: connection lost; reconnecting");
                listener = None;
                forget(&app).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn apply(app: &App, topic: &str) {
    match topic.split_once(':') {
        None if topic == "partners" => app.partner_cache.clear_keys(),
        None if topic == "keys" => reload_keys(app).await,
        Some(("quota", id)) => {
            if let Ok(id) = id.parse() {
                partners::give_back_leases(app, Some(id)).await;
            }
        }
        Some(("quota-back", id)) => {
            if let Ok(id) = id.parse() {
                app.partner_cache.quota_returned(id);
            }
        }
        _ => tracing::debug!(topic, "change feed: unknown topic"),
    }
}

async fn forget(app: &App) {
    app.partner_cache.clear_keys();
    reload_keys(app).await;
}

async fn reload_keys(app: &App) {
    if let Err(e) = keys::reload(app).await {
        tracing::error!(error = %e, "signing keys: cannot load the published keys");
    }
}

/// Should a notification be lost, a rotation or a retirement still arrives within
/// `cluster.keys_poll_seconds`.
async fn poll_keys(app: App) {
    let every = Duration::from_secs(app.config.cluster.keys_poll_seconds.max(1));
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    while !app.db.pool().is_closed() {
        tick.tick().await;
        match keys::published_version(&app).await {
            Ok(Some(v)) if Some(v) != app.keys.version() => reload_keys(&app).await,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "signing keys: cannot read the published version"),
        }
    }
}

/// What a load balancer asks before sending a node traffic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Readiness {
    pub ready: bool,
    /// `sqlite` or `postgres`, or `unavailable`.
    pub database: String,
    /// `ok`, `unavailable`, or `not_configured` (limits kept in this process).
    pub redis: &'static str,
    /// `loaded`, `not_set_up` (no keys anywhere: nothing to sign with on any node),
    /// `stale` (a newer rotation or retirement is published than this node holds) or
    /// `cannot_sign`.
    pub keys: &'static str,
}

/// The database answers, Redis answers when configured, and this node holds the newest
/// published signing keys and can sign with them.
pub async fn readiness(app: &App) -> Readiness {
    let db_ok = app.db.ping().await.is_ok();
    let redis = match app.limits.ping().await {
        None => "not_configured",
        Some(Ok(())) => "ok",
        Some(Err(e)) => {
            tracing::warn!(error = %e, "readiness: redis does not answer");
            "unavailable"
        }
    };
    let loaded = app.keys.get();
    let published = if db_ok {
        keys::published_version(app).await.ok().flatten()
    } else {
        None
    };
    let keys = match (&loaded, published) {
        (None, None) => "not_set_up",
        (None, Some(_)) => "stale",
        (Some(k), Some(v)) if k.version != Some(v) => "stale",
        (Some(k), _) if k.current().is_err() => "cannot_sign",
        (Some(_), _) => "loaded",
    };
    Readiness {
        ready: db_ok && redis != "unavailable" && matches!(keys, "loaded" | "not_set_up"),
        database: if db_ok {
            app.db.backend().name().to_string()
        } else {
            "unavailable".into()
        },
        redis,
        keys,
    }
}
