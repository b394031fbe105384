//! One module per user action. Services own transactions, apply domain rules, write the
//! audit log in the same transaction as the change, and hide storage from the web layer.

pub mod appointments;
pub mod audit;
pub mod auth;
pub mod border;
pub mod centre;
mod clock;
pub mod cluster;
pub mod counter_endorsements;
pub mod counter_terminal;
pub mod credentials;
pub mod email;
pub mod endorsement_applications;
mod error;
pub mod holders;
pub mod import;
mod input;
pub mod jobs;
pub mod keys;
pub mod limits;
pub mod linkage_proofs;
pub mod offices;
pub mod online_payments;
pub mod partners;
pub mod pre_applications;
pub mod providers;
pub mod rate;
mod records;
pub mod registry;
pub mod sms;
pub mod temporary_permits;
pub mod tokens;
pub mod uploads;
pub mod verification;
pub mod verification_log;

pub use clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub(crate) use error::OnConflict;
pub use error::{AtField, ErrorCode, ServiceError};
pub use exitentry_storage::{Backend, Db, StorageError};

use chrono::{DateTime, NaiveDate, Utc};
use exitentry_config::Config;
use exitentry_domain::document::{DocumentStatus, effective_status};
use exitentry_domain::policy::Policy;
use exitentry_storage::documents::DocumentRecord;
use std::sync::Arc;

pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Everything a service needs, cheap to clone into request handlers.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub config: Arc<Config>,
    pub policy: Arc<Policy>,
    /// Signing keys, when they have been set up (published in the database or in the keys
    /// folder); replaced while serving when a rotation is published.
    pub keys: Arc<keys::LiveKeys>,
    /// Rate limits: in Redis for every node when `cluster.redis_url` is set, else here.
    pub limits: Arc<rate::RateLimits>,
    /// SMS gateway, email and face check (development doubles with `server.dev_providers`).
    pub providers: providers::Providers,
    /// Background writer of the verification log (absent outside a tokio runtime).
    pub usage: Option<Arc<verification_log::UsageLog>>,
    /// Recently checked partner keys and reserved quota (see `partners`).
    pub partner_cache: Arc<partners::PartnerCache>,
    /// The checks' metrics handles (see `verification`).
    pub check_counters: Arc<verification::CheckCounters>,
    /// The development payment sandbox (with `server.dev_providers`).
    pub sandbox: Option<Arc<online_payments::Sandbox>>,
    /// The adapter of each online payment provider (`endorsements.online`).
    pub online: online_payments::OnlineProviders,
    /// The kiosks' endorsement printer driver (a double that prints at once in development).
    pub printer: Option<Arc<dyn endorsement_applications::EndorsementPrinter>>,
    clock: Arc<dyn Clock>,
    /// Counts the change-feed messages this node has acted on (tests wait on it).
    feed: Arc<tokio::sync::watch::Sender<u64>>,
}

impl App {
    pub fn new(db: Db, config: Config, clock: Arc<dyn Clock>) -> Self {
        let providers = providers::Providers::from_config(&config, &db, clock.clone());
        let sandbox = config
            .server
            .dev_providers
            .then(|| Arc::new(online_payments::Sandbox::default()));
        let online = online_payments::OnlineProviders::from_config(&config, sandbox.as_ref());
        let limits = match config.cluster.redis_url.expose().trim() {
            "" => rate::RateLimits::memory(clock.clone()),
            url => rate::RateLimits::redis(url, &config.cluster.redis_prefix, clock.clone())
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "rate limits kept in this process");
                    rate::RateLimits::memory(clock.clone())
                }),
        };
        let app = App {
            providers,
            usage: verification_log::UsageLog::start(
                db.clone(),
                config.security.log_hash_secret.expose(),
            )
            .map(Arc::new),
            partner_cache: Default::default(),
            check_counters: Default::default(),
            sandbox,
            online,
            printer: config.server.dev_providers.then(|| {
                Arc::new(endorsement_applications::DevPrinter { fail: false })
                    as Arc<dyn endorsement_applications::EndorsementPrinter>
            }),
            db,
            config: Arc::new(config),
            policy: Arc::new(Policy::builtin()),
            keys: Default::default(),
            limits: Arc::new(limits),
            clock,
            feed: Arc::new(tokio::sync::watch::channel(0).0),
        };
        cluster::start(&app);
        app
    }

    /// Loads the signing keys from the configured folder, if it has been initialised.
    pub fn with_keys_from_config(self) -> Result<Self> {
        let store = keys::KeyStore::new(&self.config.credentials.keys_dir);
        if store.exists() {
            self.keys.set(store.load()?);
        }
        Ok(self)
    }

    /// Replaces the providers (tests use refusing doubles and local fakes).
    pub fn with_providers(mut self, providers: providers::Providers) -> Self {
        self.providers = providers;
        self
    }

    /// Ticks each time this node has acted on a change announced by any node, and when it
    /// starts listening (PostgreSQL).
    pub fn changes_applied(&self) -> tokio::sync::watch::Receiver<u64> {
        self.feed.subscribe()
    }

    /// The clock everything here reads (rate limiters follow it too, so tests can hold time).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn now_micros(&self) -> i64 {
        self.clock.now().timestamp_micros()
    }

    /// Today's date in China Standard Time.
    pub fn today(&self) -> NaiveDate {
        exitentry_domain::time::beijing_date(self.clock.now())
    }

    /// A registered document's status on `day` as a reader should see it: a stored `valid`
    /// past its expiry (or a booklet after the policy voids it) reads as `expired`.
    pub fn document_status(&self, d: &DocumentRecord, day: NaiveDate) -> DocumentStatus {
        effective_status(&self.policy, d.kind, d.status, d.expires_on, day)
    }
}

/// Opens the database named in the config and applies migrations.
pub async fn open_database(config: &Config) -> Result<Db> {
    let db = Db::open(
        config.database.url.expose(),
        config.database.max_connections,
    )
    .await?;
    db.migrate().await?;
    Ok(db)
}
