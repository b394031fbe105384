//! The daily quota across nodes. Each node leases checks from the shared counter so most
//! checks only touch memory; a lease is at most 1/[`LEASE_SHARE`] of what is left, so near
//! the end nodes count single checks. When the counter is spent every node is asked to
//! give its unused lease back before anyone is refused: never a refusal while checks are
//! left anywhere, never more than the quota, `Retry-After` only when it is really spent.

use super::PartnerContext;
use crate::{App, Backend, ErrorCode, Result, ServiceError};
use exitentry_storage::changes;
use exitentry_storage::partners as store;
use std::time::{Duration, Instant};

/// The largest lease (unless one request needs more). Each lease is a write, and on SQLite
/// every write makes the verification readers drop their cached pages: at 200 a node under
/// load wrote its lease 60 times a second.
const MAX_LEASE: i64 = 1_000;
/// A lease is at most this share of the checks left today.
const LEASE_SHARE: i64 = 16;
/// How long a node whose lease ran out waits for the others to give theirs back, looking
/// at the counter every [`RECLAIM_STEP`].
const RECLAIM_WAIT: Duration = Duration::from_millis(400);
const RECLAIM_STEP: Duration = Duration::from_millis(10);

/// Counts `n` checks against today's quota (Beijing day); refused until midnight when they
/// do not fit in what every node together has left.
pub async fn take_quota(app: &App, ctx: &PartnerContext, n: i64) -> Result<()> {
    if n < 1 {
        return Ok(());
    }
    let now = app.now();
    let cst = exitentry_domain::time::cst();
    let day = now.with_timezone(&cst).date_naive();
    let key = (ctx.partner_id, day.to_string());
    let cache = &app.partner_cache;
    {
        let mut leases = cache.leases.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(left) = leases.get_mut(&key)
            && *left >= n
        {
            *left -= n;
            return Ok(());
        }
    }
    // Once every node gave back and `m` checks still did not fit, as many or more do not
    // either (until checks are given back); fewer may.
    let spent = cache
        .spent
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .is_some_and(|m| n >= *m);
    if !spent {
        if lease(app, ctx, &key.1, n).await? || reclaim(app, ctx, &key.1, n).await? {
            return Ok(());
        }
        let mut spent = cache.spent.lock().unwrap_or_else(|p| p.into_inner());
        // Marks of past days mean nothing.
        spent.retain(|(_, d), _| *d == key.1);
        let smallest = spent.entry(key).or_insert(n);
        *smallest = (*smallest).min(n);
    }
    let next = day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(cst).single())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(now);
    Err(ServiceError::too_soon(
        ErrorCode::DailyQuotaExceeded,
        next,
        (next - now).num_seconds().max(1),
    ))
}

/// Takes a lease sized to what is left (at least `n`, used for this request at once).
async fn lease(app: &App, ctx: &PartnerContext, day: &str, n: i64) -> Result<bool> {
    let mut conn = app.db.conn().await?;
    let left = ctx.daily_quota - store::daily_use(&mut conn, ctx.partner_id, day).await?;
    if left < n {
        return Ok(false);
    }
    let size = (left / LEASE_SHARE).clamp(n, MAX_LEASE.max(n));
    let mut take = async |amount: i64| {
        store::take_daily_quota(&mut conn, ctx.partner_id, day, ctx.daily_quota, amount).await
    };
    let got = if take(size).await? {
        size
    } else if size > n && take(n).await? {
        n
    } else {
        return Ok(false);
    };
    let mut leases = app
        .partner_cache
        .leases
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    // Leases of past days are worthless.
    leases.retain(|(_, d), _| d == day);
    *leases.entry((ctx.partner_id, day.to_string())).or_insert(0) += got - n;
    Ok(true)
}

/// The counter is spent: this node gives its own rest back, asks the others for theirs,
/// and takes `n` if they come.
async fn reclaim(app: &App, ctx: &PartnerContext, day: &str, n: i64) -> Result<bool> {
    give_back_leases(app, Some(ctx.partner_id)).await;
    let shared = app.db.backend() == Backend::Postgres;
    if shared {
        let mut conn = app.db.conn().await?;
        changes::announce(&mut conn, &format!("quota:{}", ctx.partner_id)).await?;
    }
    let deadline = Instant::now() + RECLAIM_WAIT;
    loop {
        {
            let mut conn = app.db.conn().await?;
            let (id, quota) = (ctx.partner_id, ctx.daily_quota);
            if store::take_daily_quota(&mut conn, id, day, quota, n).await? {
                return Ok(true);
            }
        }
        if !shared || Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(RECLAIM_STEP).await;
    }
}

/// Gives back the checks this node leased and has not used (of one partner, or all: on
/// shutdown), and says so to every node.
pub async fn give_back_leases(app: &App, partner: Option<i64>) {
    let returned: Vec<((i64, String), i64)> = app
        .partner_cache
        .leases
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extract_if(|(p, _), _| partner.is_none_or(|want| want == *p))
        .filter(|(_, left)| *left > 0)
        .collect();
    for ((partner_id, day), left) in returned {
        let given = async {
            let mut conn = app.db.conn().await?;
            store::give_back_daily_quota(&mut conn, partner_id, &day, left).await?;
            changes::announce(&mut conn, &format!("quota-back:{partner_id}")).await?;
            Ok::<_, ServiceError>(())
        };
        match given.await {
            Ok(()) => app.partner_cache.quota_returned(partner_id),
            Err(e) => tracing::warn!(partner_id, left, error = %e, "quota: a lease was lost"),
        }
    }
}
