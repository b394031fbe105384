//! Configuration, declared once: defaults → TOML file → `EXITENTRY_*` environment → flags.
//!
//! Every setting lives in [`Config`] with its default; `exitentry config print-default`
//! prints the same structure as TOML, so the documentation cannot drift from the code.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// The default embedded database, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/exitentry.db";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database: DatabaseConfig,
    pub server: ServerConfig,
    pub security: SecurityConfig,
    pub credentials: CredentialsConfig,
    pub providers: ProvidersConfig,
    pub centre: CentreConfig,
    pub endorsements: EndorsementsConfig,
    pub uploads: UploadsConfig,
    pub email: EmailConfig,
    pub log: LogConfig,
    pub cluster: ClusterConfig,
}

/// Outgoing email over SMTP. With `server.dev_providers` messages land in the outbox
/// instead and these settings are ignored. Links in messages start with `server.public_url`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// Sender, with a display name: `出入境管理 <no-reply@example.gov.cn>`.
    pub from: String,
    /// SMTP relay host. Empty: no email, and sending is refused as not configured.
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `starttls` (upgrade on the submission port), `tls` (TLS from the first byte, usually
    /// port 465) or `none` (plain text; only for a relay on this machine).
    pub tls: EmailTls,
    /// SMTP login; empty: no authentication.
    pub username: String,
    pub password: Secret,
    /// Timeout for one SMTP conversation, in seconds.
    pub timeout_seconds: u64,
    /// PEM file of extra root certificates to trust (a relay with an internal CA); the
    /// public web roots are trusted as well. Empty: the public roots only.
    pub ca_file: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailTls {
    Starttls,
    Tls,
    None,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            from: "出入境管理 Exit-Entry Administration <no-reply@exitentry.invalid>".into(),
            smtp_host: String::new(),
            smtp_port: 587,
            tls: EmailTls::Starttls,
            username: String::new(),
            password: Secret::default(),
            timeout_seconds: 30,
            ca_file: String::new(),
        }
    }
}

impl EmailConfig {
    /// Refuses settings that would send mail (and passwords) in clear text over a network.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.smtp_host.is_empty() {
            return Ok(());
        }
        if self.tls == EmailTls::None && !is_loopback(&self.smtp_host) {
            return Err(ConfigError(format!(
                "email.tls = \"none\" is only allowed for a relay on this machine \
                 (localhost, 127.0.0.1, ::1), not {:?}; use \"starttls\" or \"tls\"",
                self.smtp_host
            )));
        }
        if self.smtp_port == 0 {
            return Err(ConfigError("email.smtp_port must not be 0".into()));
        }
        if !self.from.contains('@') {
            return Err(ConfigError(format!(
                "email.from must be an address such as \"Name <no-reply@example.org>\", not {:?}",
                self.from
            )));
        }
        Ok(())
    }
}

/// `localhost` or a loopback address (brackets around IPv6 allowed).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Several `serve` processes as one system (docs/CLUSTER.md). The database is always
/// shared; Redis only holds the rate limits when it is configured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// `redis://HOST:PORT[/DB]`: per-key rate limits and the sign-in and SMS throttles are
    /// counted there, for all nodes together. Empty: each process counts its own (one node).
    pub redis_url: Secret,
    /// Prefix of every Redis key written (several systems may share one Redis).
    pub redis_prefix: String,
    /// Seconds between looks at the published signing keys, should a change notification be
    /// lost: the longest a rotation takes to reach a node.
    pub keys_poll_seconds: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis_url: Secret::default(),
            redis_prefix: "exitentry:".into(),
            keys_poll_seconds: 30,
        }
    }
}

/// The log-hash key of the defaults: anyone can read it here, so hashes made with it are
/// reversible and production refuses it.
pub const DEV_LOG_HASH_SECRET: &str = "development log hash key";

impl Config {
    /// Checks that no single key can express: combinations and values refused at start-up.
    pub fn check(&self) -> Result<(), ConfigError> {
        let redis = self.cluster.redis_url.expose().trim();
        if !redis.is_empty() && !redis.starts_with("redis://") {
            return Err(ConfigError(
                "cluster.redis_url: a redis://HOST:PORT URL (plain TCP on a private network)"
                    .into(),
            ));
        }
        if !["auto", "database", "directory"].contains(&self.uploads.store.as_str()) {
            return Err(ConfigError(
                "uploads.store: auto, database or directory".into(),
            ));
        }
        let kek = self.credentials.key_encryption_key.expose().trim();
        if !kek.is_empty() && (kek.len() != 64 || !kek.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(ConfigError(
                "credentials.key_encryption_key: 64 hex digits (32 random bytes)".into(),
            ));
        }
        self.email.check()
    }

    /// What keeps this configuration from running in production (without development
    /// providers): each offending key with the reason. Empty when it may start.
    pub fn production_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let sec = self.security.log_hash_secret.expose();
        if sec.is_empty() || sec == DEV_LOG_HASH_SECRET || sec.len() < 16 {
            out.push(
                "security.log_hash_secret: set a random value of at least 16 characters (the \
                 development default makes hashed document numbers reversible)"
                    .into(),
            );
        }
        let p = &self.providers;
        if !p.sms_gateway_url.is_empty() && p.sms_gateway_secret.expose().is_empty() {
            out.push(
                "providers.sms_gateway_secret: empty while providers.sms_gateway_url is set".into(),
            );
        }
        if !p.face_service_url.is_empty() && p.face_service_secret.expose().is_empty() {
            out.push(
                "providers.face_service_secret: empty while providers.face_service_url is set"
                    .into(),
            );
        }
        let online = &self.endorsements.online;
        if online.wechat_pay == OnlineAdapter::WechatNative
            && self.endorsements.wechat_pay.api_key.expose().is_empty()
        {
            out.push("endorsements.wechat_pay.api_key: empty while WeChat Pay Native is on".into());
        }
        let https = self
            .server
            .public_url
            .trim()
            .to_ascii_lowercase()
            .starts_with("https://");
        if https && !self.server.secure_cookies {
            out.push("server.secure_cookies: must be true behind an https:// public_url".into());
        }
        // Behind a proxy on the same host every client looks like loopback: production always
        // protects /metrics with a token.
        if self.server.metrics_token.expose().len() < 16 {
            out.push(
                "server.metrics_token: set at least 16 random characters (Prometheus sends it as a bearer token)"
                    .into(),
            );
        }
        out
    }
}

/// Outside services the platform calls. With `server.dev_providers` the development
/// doubles are used instead and these settings are ignored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProvidersConfig {
    /// SMS gateway endpoint (HTTPS); requests are signed with `sms_gateway_secret`.
    /// Empty: no gateway, and journeys that send SMS codes are refused.
    pub sms_gateway_url: String,
    pub sms_gateway_secret: Secret,
    /// Face-verification service endpoint (HTTPS); requests are signed like the gateway's.
    pub face_service_url: String,
    pub face_service_secret: Secret,
    /// Lowest similarity score (0–1) the face service must report for a match.
    pub face_match_threshold: f64,
    /// Timeout for one call to a provider, in seconds.
    pub timeout_seconds: u64,
    /// Development face double: `true` accepts any well-formed JPEG or PNG, `false`
    /// refuses every face (to walk the failure path).
    pub dev_face_accept: bool,
}

impl Default for ProvidersConfig {
    fn default() -> Self {
        Self {
            sms_gateway_url: String::new(),
            sms_gateway_secret: Secret::default(),
            face_service_url: String::new(),
            face_service_secret: Secret::default(),
            face_match_threshold: 0.8,
            timeout_seconds: 10,
            dev_face_accept: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CredentialsConfig {
    /// Folder of the signing keys (`exitentry keys init`); private keys are kept 0600.
    pub keys_dir: String,
    /// Context prefix of QR payloads.
    pub prefix: String,
    /// Issuer (`iss`) written into credentials.
    pub issuer: String,
    /// Algorithm for new keys: `es256`, `es384` or `eddsa`.
    pub algorithm: String,
    /// Entries in the published revocation status list.
    pub status_list_size: u64,
    /// Days a linkage proof is valid (never past either document's expiry).
    pub linkage_proof_days: i64,
    /// 64 hex digits (32 bytes): the key under which signer private keys are sealed
    /// (AES-256-GCM) when `keys init`/`keys rotate` publish them to the database, so every
    /// node can sign. The same value on every node; never stored in the database. Empty:
    /// private keys stay in `keys_dir` only (docs/CREDENTIALS.md).
    pub key_encryption_key: Secret,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        Self {
            keys_dir: "./data/keys".into(),
            prefix: "EE1:".into(),
            issuer: "CN-EXITENTRY".into(),
            algorithm: "es256".into(),
            status_list_size: 131_072,
            linkage_proof_days: 90,
            key_encryption_key: Secret::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (file created on first use) or `postgres://USER@HOST:PORT/DB`.
    pub url: Secret,
    /// Upper bound on pooled connections per process.
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// Public base URL used in printed links.
    pub public_url: String,
    /// Mark cookies `Secure` (turn on behind HTTPS).
    pub secure_cookies: bool,
    /// Development providers: SMS and email land in an outbox shown at /dev/outbox (JSON at
    /// /api/v1/dev/outbox),
    /// the face check accepts any well-formed photo. Never in production.
    pub dev_providers: bool,
    /// Header in which the TLS terminator passes the client certificate's SHA-256
    /// fingerprint (for partners bound to a certificate). Empty: no client certificates.
    pub client_cert_header: String,
    /// Bearer token Prometheus must send for `/metrics` (`authorization` in its scrape
    /// config); required by `serve`. Empty (development only): `/metrics` answers only
    /// requests from loopback addresses.
    pub metrics_token: Secret,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Staff sessions end after this many minutes without a request.
    pub session_idle_minutes: i64,
    /// Staff sessions end after this many hours whatever the activity.
    pub session_max_hours: i64,
    /// Consecutive failed logins before an account is locked.
    pub max_failed_logins: i64,
    /// How long a locked account stays locked.
    pub lockout_minutes: i64,
    /// Sign-in attempts allowed per client address per minute (all accounts together).
    pub login_attempts_per_minute: u32,
    /// Requests that send an SMS code, per client address per minute.
    pub sms_requests_per_minute: u32,
    /// Key of the hash under which document numbers appear in the verification log.
    /// Set it in production; the same value on every node keeps the hashes comparable.
    pub log_hash_secret: Secret,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info,exitentry=debug`.
    pub filter: String,
    /// `json` for machines, `pretty` for people.
    pub format: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: Secret(DEFAULT_DATABASE_URL.to_string()),
            max_connections: 16,
        }
    }
}

impl ServerConfig {
    /// For the demo: links in messages point where the server actually listens (a wildcard
    /// address read as this machine), unless a public URL was configured.
    pub fn public_url_from_listen(&mut self) {
        if self.public_url != ServerConfig::default().public_url {
            return;
        }
        let host = match self.listen.rsplit_once(':') {
            Some(("0.0.0.0", port)) => format!("127.0.0.1:{port}"),
            Some(("[::]", port)) => format!("[::1]:{port}"),
            _ => self.listen.clone(),
        };
        self.public_url = format!("http://{host}");
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            secure_cookies: false,
            dev_providers: false,
            client_cert_header: String::new(),
            metrics_token: Secret::default(),
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            session_max_hours: 12,
            max_failed_logins: 5,
            lockout_minutes: 15,
            login_attempts_per_minute: 20,
            sms_requests_per_minute: 10,
            log_hash_secret: Secret(DEV_LOG_HASH_SECRET.into()),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info,sqlx=warn".into(),
            format: "pretty".into(),
        }
    }
}

/// A value that must never reach a log line. `Debug` and `Display` print a redaction;
/// serialisation keeps the value so config files round-trip.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// Hides the password in `scheme://user:password@host`; other strings are fully hidden
/// unless they carry no credentials at all (plain sqlite paths).
pub fn redact_url(s: &str) -> String {
    if let Some((scheme, rest)) = s.split_once("://") {
        if let Some((creds, host)) = rest.rsplit_once('@') {
            let user = creds.split(':').next().unwrap_or("");
            return format!("{scheme}://{user}:***@{host}");
        }
        return s.to_string();
    }
    "***".to_string()
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

/// Layers the sources in order; `overrides` are the command-line flags already shaped
/// like the TOML file (only the keys that were given).
pub fn load(file: Option<&Path>, overrides: Figment) -> Result<Config, ConfigError> {
    let mut fig = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = file {
        if !path.exists() {
            return Err(ConfigError(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        fig = fig.merge(Toml::file(path));
    }
    // `EXITENTRY_DATABASE__URL` → database.url; `DATABASE_URL` is honoured as the common name.
    fig = fig
        .merge(
            Env::raw()
                .only(&["DATABASE_URL"])
                .map(|_| "database.url".into()),
        )
        // Only SECTION__KEY names are settings; other EXITENTRY_* variables (e.g. for tests)
        // are not ours to reject.
        .merge(
            Env::prefixed("EXITENTRY_")
                .filter(|k| k.as_str().contains("__"))
                .split("__"),
        )
        .merge(overrides);
    let config: Config = fig.extract().map_err(|e| ConfigError(e.to_string()))?;
    config.check()?;
    Ok(config)
}

/// The full default configuration as a commented TOML document.
pub fn default_toml() -> String {
    let body = toml::to_string_pretty(&Config::default()).unwrap_or_default();
    format!(
        "# exitentry configuration. Every key is optional; shown here with its default.\n\
         # Precedence: defaults < this file (--config) < EXITENTRY_SECTION__KEY env < flags.\n\
         # DATABASE_URL is also read, as database.url.\n\n{body}"
    )
}

/// Service centres: booking rules, the queue and the photo station.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CentreConfig {
    /// Cancelling or rescheduling is possible until this many minutes before the slot.
    pub cancel_cutoff_minutes: i64,
    /// This many no-shows within `no_show_window_days` …
    pub no_show_limit: u32,
    pub no_show_window_days: i64,
    /// … block online booking for this many days.
    pub no_show_block_days: i64,
    /// How far ahead applicants may book.
    pub booking_horizon_days: i64,
    /// Appointments go ahead of walk-ins in the queue.
    pub priority_for_appointments: bool,
    /// Applicants of this age or older go first (with disabled applicants); 0 turns it off.
    pub priority_age: i32,
    /// Reminders are sent at this hour (Beijing time) on the day before the slot.
    pub reminder_hour: u32,
    /// Photo station limits: bytes and pixels.
    pub photo_max_bytes: usize,
    pub photo_min_width: u32,
    pub photo_min_height: u32,
}

impl Default for CentreConfig {
    fn default() -> Self {
        Self {
            cancel_cutoff_minutes: 120,
            no_show_limit: 3,
            no_show_window_days: 90,
            no_show_block_days: 30,
            booking_horizon_days: 30,
            priority_for_appointments: true,
            priority_age: 70,
            reminder_hour: 18,
            photo_max_bytes: 2 * 1024 * 1024,
            photo_min_width: 354,
            photo_min_height: 472,
        }
    }
}

/// Files applicants upload (identity cards, passport pages): where they are kept and the
/// limits checked before anything is stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UploadsConfig {
    /// Where the bytes are kept: `database` (beside their record, readable from every
    /// node), `directory` (in `dir`, one node only) or `auto`: the database on PostgreSQL,
    /// the directory on SQLite.
    pub store: String,
    /// Folder of the stored files (created on first upload; files are kept 0600).
    pub dir: String,
    /// Largest JPEG or PNG accepted, in bytes.
    pub max_image_bytes: usize,
    /// Largest PDF accepted, in bytes.
    pub max_pdf_bytes: usize,
    /// A PDF whose compressed streams inflate to more than this many bytes in total is
    /// refused (decompression bombs); inflation stops as soon as it passes.
    pub max_pdf_inflated_bytes: u64,
    /// … or to more than this many times the file's size.
    pub max_pdf_ratio: u64,
    /// Live files one owner (e.g. one application) may have.
    pub max_files_per_owner: i64,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        Self {
            store: "auto".into(),
            dir: "./data/uploads".into(),
            max_image_bytes: 5 * 1024 * 1024,
            max_pdf_bytes: 10 * 1024 * 1024,
            max_pdf_inflated_bytes: 50 * 1024 * 1024,
            max_pdf_ratio: 100,
            max_files_per_owner: 10,
        }
    }
}

/// Endorsements: the individual-visit scheme, the 20-day rule, printing and payments.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EndorsementsConfig {
    /// Cities of the individual-visit scheme (G), as the first four digits of the resident
    /// identity number (the city of household registration until the registry stores it).
    pub scheme_city_prefixes: Vec<String>,
    /// The 20-day rule (permit validity must exceed the endorsement's by more than 20 days)
    /// applied to cards as well as booklets.
    pub twenty_day_rule_for_cards: bool,
    /// Print attempts at a kiosk before the payment is refunded.
    pub print_max_attempts: i64,
    /// Pending online payments are asked about at the provider after this many seconds.
    pub query_pending_after_seconds: i64,
    /// Shared secret of the development payment sandbox's signed callbacks.
    pub sandbox_secret: Secret,
    /// Which adapter takes each online provider's payments.
    pub online: OnlineAdaptersConfig,
    /// WeChat Pay (API v2, Native QR payments), used where an adapter is `wechat_native`.
    pub wechat_pay: WechatPayConfig,
}

/// The adapter behind one online payment provider.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnlineAdapter {
    /// Not offered: paying with it is refused as not configured.
    None,
    /// The development sandbox's pay page; only with `server.dev_providers`, else none.
    Sandbox,
    /// WeChat Pay Native (QR code), API v2; for `wechat_pay` only.
    WechatNative,
}

/// One adapter per online provider name.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineAdaptersConfig {
    pub unionpay: OnlineAdapter,
    pub yang_cheng_tong: OnlineAdapter,
    pub alipay: OnlineAdapter,
    pub wechat_pay: OnlineAdapter,
}

impl Default for OnlineAdaptersConfig {
    fn default() -> Self {
        Self {
            unionpay: OnlineAdapter::Sandbox,
            yang_cheng_tong: OnlineAdapter::Sandbox,
            alipay: OnlineAdapter::Sandbox,
            wechat_pay: OnlineAdapter::Sandbox,
        }
    }
}

impl OnlineAdaptersConfig {
    /// The adapter configured for a provider name (`None` for names not listed).
    pub fn get(&self, provider: &str) -> OnlineAdapter {
        match provider {
            "unionpay" => self.unionpay,
            "yang_cheng_tong" => self.yang_cheng_tong,
            "alipay" => self.alipay,
            "wechat_pay" => self.wechat_pay,
            _ => OnlineAdapter::None,
        }
    }
}

/// The merchant's WeChat Pay account (API v2). The API key signs every request and
/// verifies every answer and notification.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WechatPayConfig {
    /// The app id the merchant account is bound to (`appid`).
    pub app_id: String,
    /// Merchant number (`mch_id`).
    pub mch_id: String,
    /// API key (v2) set in the merchant platform; signs with HMAC-SHA256.
    pub api_key: Secret,
    /// Where WeChat sends payment notifications. Empty:
    /// `{server.public_url}/api/v1/payments/callbacks/wechat_pay`.
    pub notify_url: String,
    /// WeChat Pay API endpoint.
    pub base_url: String,
    /// Address of this server as WeChat expects it (`spbill_create_ip`).
    pub server_ip: String,
    /// What the payer sees on the order (`body`).
    pub description: String,
    /// Merchant API client certificate and its private key (PEM files,
    /// `apiclient_cert.pem` / `apiclient_key.pem`): refunds need them. Empty: refunds are
    /// sent without one and WeChat refuses them (recorded for staff to refund by hand).
    pub client_cert_path: String,
    pub client_key_path: String,
}

impl Default for WechatPayConfig {
    fn default() -> Self {
        Self {
            app_id: String::new(),
            mch_id: String::new(),
            api_key: Secret::default(),
            notify_url: String::new(),
            base_url: "https://api.mch.weixin.qq.com".into(),
            server_ip: "127.0.0.1".into(),
            description: "出入境-签注费".into(),
            client_cert_path: String::new(),
            client_key_path: String::new(),
        }
    }
}

impl Default for EndorsementsConfig {
    fn default() -> Self {
        Self {
            // Guangdong's 21 prefecture cities, Beijing, Shanghai, Tianjin, Chongqing and
            // other scheme cities (an excerpt of the 59; extend per the current list).
            scheme_city_prefixes: [
                "4401", "4402", "4403", "4404", "4405", "4406", "4407", "4408", "4409", "4412",
                "4413", "4414", "4415", "4416", "4417", "4418", "4419", "4420", "4451", "4452",
                "4453", "1101", "3101", "1201", "5001", "3201", "3205", "3301", "3302", "3501",
                "3502", "4201", "4301", "5101", "2102", "3702", "4601",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            twenty_day_rule_for_cards: true,
            print_max_attempts: 3,
            query_pending_after_seconds: 120,
            sandbox_secret: Secret("sandbox-callback-secret".into()),
            online: OnlineAdaptersConfig::default(),
            wechat_pay: WechatPayConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests;
