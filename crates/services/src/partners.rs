//! Relying parties and their API keys: created by an operator or admin, the key shown
//! once (only its SHA-256 is stored), revoked or disabled with effect on the next request.

use crate::OnConflict;
use crate::auth::StaffSession;
use crate::tokens::token_hash;
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use exitentry_domain::partners::{PartnerKind, Scope, parse_partner_name};
use exitentry_domain::staff::Permission;
use exitentry_storage::changes;
use exitentry_storage::partners::{self as store, PartnerRecord};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

mod quota;

/// Keys look like `eek_<12 hex>.<64 hex>`: the part before the dot is the public key id
/// (shown in logs and pages), the rest the secret.
const KEY_PREFIX: &str = "eek_";

/// Who is calling, once the key checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerContext {
    pub partner_id: i64,
    pub name: String,
    pub key_id: String,
    pub scopes: Vec<Scope>,
    pub rate_per_second: i64,
    pub daily_quota: i64,
    pub client_cert_sha256: Option<String>,
    /// The key was read from the database for this request. When not (PostgreSQL, this
    /// node's cache), whatever answers the request confirms the key is still live in the
    /// same round trip as its own read ([`PartnerContext::unconfirmed_key`], [`confirm`]).
    pub key_read: bool,
}

impl PartnerContext {
    /// The key to confirm as live along with a lookup, when it was not read for this request.
    pub fn unconfirmed_key(&self) -> Option<&str> {
        (!self.key_read).then_some(self.key_id.as_str())
    }

    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden)
        }
    }
}

/// A partner as listed for admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerSummary {
    pub name: String,
    pub kind: String,
    pub scopes: String,
    pub rate_per_second: i64,
    pub daily_quota: i64,
    pub disabled: bool,
}

impl From<PartnerRecord> for PartnerSummary {
    fn from(p: PartnerRecord) -> Self {
        PartnerSummary {
            name: p.name,
            kind: p.kind,
            scopes: p.scopes,
            rate_per_second: p.rate_per_second,
            daily_quota: p.daily_quota,
            disabled: p.disabled,
        }
    }
}

/// What creating a partner needs; rate and quota have defaults.
#[derive(Debug, Clone)]
pub struct NewPartner {
    pub name: String,
    pub kind: String,
    pub scopes: String,
    pub rate_per_second: Option<i64>,
    pub daily_quota: Option<i64>,
    pub client_cert_sha256: Option<String>,
}

pub const DEFAULT_RATE: i64 = 100;
pub const DEFAULT_DAILY_QUOTA: i64 = 1_000_000;

/// Creates a partner and its first key; returns the key (shown once, never stored).
pub async fn create(app: &App, actor: &str, p: &NewPartner) -> Result<(PartnerSummary, String)> {
    let name = parse_partner_name(&p.name).at_field("name")?;
    let kind = PartnerKind::parse(&p.kind).at_field("kind")?;
    let scopes = Scope::parse_list(&p.scopes).at_field("scopes")?;
    let rate = p.rate_per_second.unwrap_or(DEFAULT_RATE);
    let quota = p.daily_quota.unwrap_or(DEFAULT_DAILY_QUOTA);
    if !(1..=1_000_000).contains(&rate) {
        return Err(ServiceError::bad_input(
            "rate",
            ErrorCode::BadRate,
            "the rate is 1 to 1,000,000 checks per second",
        ));
    }
    if !(1..=1_000_000_000).contains(&quota) {
        return Err(ServiceError::bad_input(
            "daily_quota",
            ErrorCode::BadQuota,
            "the daily quota is 1 to 1,000,000,000",
        ));
    }
    let cert = match p
        .client_cert_sha256
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(c) => {
            let c = c.replace(':', "").to_ascii_lowercase();
            if c.len() != 64 || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ServiceError::bad_input(
                    "client_cert_sha256",
                    ErrorCode::BadFingerprint,
                    "a certificate fingerprint is 64 hex digits (SHA-256)",
                ));
            }
            Some(c)
        }
        None => None,
    };
    let record = PartnerRecord {
        id: 0,
        name: name.clone(),
        kind: kind.code().into(),
        scopes: scopes
            .iter()
            .map(|s| s.code())
            .collect::<Vec<_>>()
            .join(","),
        rate_per_second: rate,
        daily_quota: quota,
        client_cert_sha256: cert,
        disabled: false,
    };
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    let id = store::create(&mut tx, &record, now).await.on_conflict(|| {
        ServiceError::conflict(
            ErrorCode::PartnerExists,
            format!("a partner named {name} exists"),
        )
    })?;
    let (key_id, key) = new_key();
    store::create_key(&mut tx, &key_id, id, &secret_hash(&key), now).await?;
    audit::record(
        app,
        &mut tx,
        actor,
        "partner.create",
        &format!("partner:{name}"),
        json!({"kind": record.kind, "scopes": record.scopes, "rate": rate, "daily_quota": quota, "key_id": key_id}),
    )
    .await?;
    tx.commit().await?;
    Ok((record.into(), key))
}

fn new_key() -> (String, String) {
    let token = crate::tokens::random_token();
    let key_id = format!("{KEY_PREFIX}{}", &token[..12]);
    let secret = crate::tokens::random_token();
    (key_id.clone(), format!("{key_id}.{secret}"))
}

/// Only the SHA-256 of the whole key is stored.
fn secret_hash(key: &str) -> String {
    token_hash(key)
}

/// Revokes one key; the next request with it is refused.
pub async fn revoke_key(app: &App, actor: &str, key_id: &str) -> Result<()> {
    let mut tx = app.db.begin().await?;
    if !store::revoke_key(&mut tx, key_id.trim(), app.now_micros()).await? {
        return Err(ServiceError::NotFound("api_key"));
    }
    changes::announce(&mut tx, "partners").await?;
    audit::record(
        app,
        &mut tx,
        actor,
        "partner.revoke_key",
        &format!("api_key:{}", key_id.trim()),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    // After the commit: a request between clearing and committing would cache the key again.
    app.partner_cache.clear_keys();
    Ok(())
}

/// Disables a partner: all its keys stop working on the next request.
pub async fn disable(app: &App, actor: &str, name: &str) -> Result<()> {
    let mut tx = app.db.begin().await?;
    let p = store::by_name(&mut tx, name.trim())
        .await?
        .ok_or(ServiceError::NotFound("partner"))?;
    if !store::set_disabled(&mut tx, p.id, app.now_micros()).await? {
        return Err(ServiceError::conflict(
            ErrorCode::PartnerDisabled,
            "the partner is already disabled",
        ));
    }
    audit::record(
        app,
        &mut tx,
        actor,
        "partner.disable",
        &format!("partner:{}", p.name),
        json!({}),
    )
    .await?;
    changes::announce(&mut tx, "partners").await?;
    tx.commit().await?;
    app.partner_cache.clear_keys();
    Ok(())
}

/// Partners for the admin page.
pub async fn list(app: &App, who: &StaffSession) -> Result<Vec<PartnerSummary>> {
    who.require(Permission::ManageStaff)?;
    let mut conn = app.db.conn().await?;
    Ok(store::list(&mut conn)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// How long a node trusts a key it has checked before reading it again (PostgreSQL; the
/// cache is also dropped when a change commits, here and through the change feed). It saves
/// reading the partner; liveness is confirmed on every request all the same.
const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// Per-process state that keeps the hot path off the database: recently checked keys
/// (for at most [`KEY_CACHE_TTL`]) and quota leased from the shared daily counter.
#[derive(Default)]
pub struct PartnerCache {
    /// By the SHA-256 of the whole key, raw: hex-encoding it for every request cost more than
    /// the lookup (the stored form, [`secret_hash`], is computed only when the key is read).
    keys: Mutex<HashMap<[u8; 32], (Instant, PartnerContext)>>,
    /// (partner, day) → checks leased but not yet used.
    leases: Mutex<HashMap<(i64, String), i64>>,
    /// (partner, day) → the fewest checks that did not fit after every node gave back its
    /// leases: as many or more are refused at once until a node gives checks back.
    spent: Mutex<HashMap<(i64, String), i64>>,
}

impl PartnerCache {
    pub(crate) fn clear_keys(&self) {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Some node gave checks back: the partner's quota may no longer be spent.
    pub(crate) fn quota_returned(&self, partner_id: i64) {
        self.spent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(p, _), _| *p != partner_id);
    }
}

/// Checks an `Authorization: Bearer` key. A revoked key or disabled partner is refused on
/// the very next request on every node: the partner comes from this node's cache of the
/// last second with `key_read` false, and the request confirms the key is live in the
/// statement of its own lookup (`storage::lookups`), or with [`confirm`] when it has none.
/// Scopes and limits changed in the database hold within that second.
pub async fn authenticate(app: &App, key: &str) -> Result<PartnerContext> {
    let key = key.trim();
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    if let Some((at, ctx)) = app
        .partner_cache
        .keys
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&digest)
        && at.elapsed() < KEY_CACHE_TTL
    {
        return Ok(PartnerContext {
            key_read: false,
            ..ctx.clone()
        });
    }
    let ctx = authenticate_in_db(app, key, &secret_hash(key)).await?;
    let mut keys = app
        .partner_cache
        .keys
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if keys.len() > 10_000 {
        keys.retain(|_, (at, _)| at.elapsed() < KEY_CACHE_TTL);
    }
    keys.insert(digest, (Instant::now(), ctx.clone()));
    Ok(ctx)
}

/// Confirms a key taken from the cache is still live, for requests without a lookup of
/// their own to carry the check.
pub async fn confirm(app: &App, ctx: &mut PartnerContext) -> Result<()> {
    if let Some(key) = ctx.unconfirmed_key() {
        if !app.db.key_live(key).await? {
            app.partner_cache.clear_keys();
            return Err(ServiceError::Unauthenticated);
        }
        ctx.key_read = true;
    }
    Ok(())
}

async fn authenticate_in_db(app: &App, key: &str, hash: &str) -> Result<PartnerContext> {
    let Some((key_id, _)) = key.split_once('.').filter(|(id, s)| {
        id.starts_with(KEY_PREFIX) && id.len() == KEY_PREFIX.len() + 12 && s.len() == 64
    }) else {
        return Err(ServiceError::Unauthenticated);
    };
    let Some(k) = app.db.key_record(key_id).await? else {
        return Err(ServiceError::Unauthenticated);
    };
    if k.revoked || k.partner.disabled || !crate::tokens::constant_time_eq(&k.secret_hash, hash) {
        return Err(ServiceError::Unauthenticated);
    }
    let scopes =
        Scope::parse_list(&k.partner.scopes).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(PartnerContext {
        partner_id: k.partner.id,
        name: k.partner.name,
        key_id: k.key_id,
        scopes,
        rate_per_second: k.partner.rate_per_second,
        daily_quota: k.partner.daily_quota,
        client_cert_sha256: k.partner.client_cert_sha256,
        key_read: true,
    })
}

pub use quota::{give_back_leases, take_quota};

/// Checks per day (Beijing), kind and result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub partner: String,
    pub day: chrono::NaiveDate,
    pub kind: String,
    pub result: String,
    pub count: i64,
}

async fn usage_rows(app: &App, partner_id: Option<i64>, days: i64) -> Result<Vec<UsageRow>> {
    if let Some(log) = &app.usage {
        log.flush().await;
    }
    let since = (app.now() - chrono::Duration::days(days.clamp(1, 366))).timestamp_micros();
    let mut conn = app.db.conn().await?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    Ok(store::usage(&mut conn, partner_id, since)
        .await?
        .into_iter()
        .map(|(partner, day_no, kind, result, count)| UsageRow {
            partner,
            day: epoch + chrono::Duration::days(day_no),
            kind,
            result,
            count,
        })
        .collect())
}

/// A partner's own usage over the last `days` days.
pub async fn own_usage(app: &App, ctx: &PartnerContext, days: i64) -> Result<Vec<UsageRow>> {
    usage_rows(app, Some(ctx.partner_id), days).await
}

/// Every partner's usage, for admins.
pub async fn all_usage(app: &App, who: &StaffSession, days: i64) -> Result<Vec<UsageRow>> {
    who.require(Permission::ManageStaff)?;
    usage_rows(app, None, days).await
}
