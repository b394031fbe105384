//! `exitentry partners …`: relying parties and their API keys.

use anyhow::{Result, bail};
use clap::Subcommand;
use exitentry_services::App;
use exitentry_services::partners::{self, NewPartner};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PartnersWhat {
    /// Create a partner; its API key is printed once, alone on the last line.
    Create {
        #[arg(long)]
        name: String,
        /// airline, railway, bank, telecom, government or other.
        #[arg(long)]
        kind: String,
        /// Comma-separated: verify_permit, verify_linkage, verify_credential.
        #[arg(long)]
        scopes: String,
        /// Checks per second per key.
        #[arg(long)]
        rate: Option<i64>,
        /// Checks per day (Beijing time) for the partner.
        #[arg(long)]
        daily_quota: Option<i64>,
        /// Bind the partner to a client certificate (SHA-256 fingerprint, hex).
        #[arg(long)]
        client_cert_sha256: Option<String>,
    },
    /// Revoke one API key; the next request with it is refused.
    RevokeKey { key_id: String },
    /// Disable a partner: every key of it is refused from the next request.
    Disable { name: String },
}

pub async fn run(app: &App, what: &PartnersWhat) -> Result<ExitCode> {
    let fail = |e: exitentry_services::ServiceError| anyhow::anyhow!("{} ({})", e, e.code());
    match what {
        PartnersWhat::Create {
            name,
            kind,
            scopes,
            rate,
            daily_quota,
            client_cert_sha256,
        } => {
            let new = NewPartner {
                name: name.clone(),
                kind: kind.clone(),
                scopes: scopes.clone(),
                rate_per_second: *rate,
                daily_quota: *daily_quota,
                client_cert_sha256: client_cert_sha256.clone(),
            };
            let (p, key) = partners::create(app, "cli", &new).await.map_err(fail)?;
            println!(
                "created partner {} ({}) scopes {} · {} checks/s per key · {} checks/day",
                p.name, p.kind, p.scopes, p.rate_per_second, p.daily_quota
            );
            println!("API key (shown once; send it as `Authorization: Bearer <key>`):");
            println!("{key}");
        }
        PartnersWhat::RevokeKey { key_id } => {
            partners::revoke_key(app, "cli", key_id)
                .await
                .map_err(fail)?;
            println!("revoked {key_id}");
        }
        PartnersWhat::Disable { name } => {
            if name.trim().is_empty() {
                bail!("give the partner's name");
            }
            partners::disable(app, "cli", name).await.map_err(fail)?;
            println!("disabled {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
