//! `exitentry keys …` (signing keys) and `exitentry credential …` (offline verification).

use anyhow::{Context, Result, bail};
use clap::{ArgGroup, Args, Subcommand};
use exitentry_config::Config;
use exitentry_credentials::{
    Alg, Reason, TrustStore, VerifyOptions, decode, open_status_list, open_trust_list, verify,
};
use exitentry_services::keys::{self, KeyStore};
use exitentry_services::{App, ServiceError};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum KeysWhat {
    /// Create the signing root and a first document signer in `credentials.keys_dir`.
    Init,
    /// Add a new document signer; older signers keep verifying until they expire.
    Rotate,
    /// List the root and the signers (key ids and certificates' validity).
    List,
    /// Take a signer out of service: it signs no more and every node serves a new trust list
    /// without it, so credentials it signed verify nowhere (`unknown_signer`). The signer
    /// that signs now is refused: rotate first.
    Retire {
        /// The signer's key id (16 hex digits, as `keys list` shows it).
        kid: String,
    },
}

#[derive(Subcommand)]
pub enum CredentialWhat {
    /// Verify a QR payload offline; prints a JSON verdict. Exit 0 valid, 1 invalid, 2 usage.
    Verify(VerifyArgs),
    /// Print a payload's claims without checking its signature.
    Decode {
        #[arg(long, default_value = "EE1:")]
        prefix: String,
        /// The payload, or `-` to read it from standard input.
        payload: String,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("trust").required(true).args(["trust_list", "cert", "key"])))]
pub struct VerifyArgs {
    /// Context prefix of the payload.
    #[arg(long, default_value = "EE1:")]
    prefix: String,
    /// The trust list document as served at /api/v1/trust-list.
    #[arg(long)]
    trust_list: Option<PathBuf>,
    /// Pin the trust list's root: a PEM or DER certificate it must be signed by.
    #[arg(long, requires = "trust_list")]
    root: Option<PathBuf>,
    /// A signer certificate (PEM or DER).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// A public key: PEM SubjectPublicKeyInfo or a JWK.
    #[arg(long)]
    key: Option<PathBuf>,
    /// The status list document as served at /api/v1/status-list.
    #[arg(long)]
    status_list: Option<PathBuf>,
    /// How old a status list may be, in seconds.
    #[arg(long, default_value_t = 86_400)]
    status_max_age: i64,
    /// Verify as of this time (RFC 3339); default now.
    #[arg(long)]
    at: Option<String>,
    /// The use the credential is presented for, e.g. domestic_flight.
    #[arg(long = "use")]
    required_use: Option<String>,
    /// The payload, or `-` to read it from standard input.
    payload: String,
}

fn read_payload(p: &str) -> Result<String> {
    if p == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s.trim().to_string())
    } else {
        Ok(p.trim().to_string())
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// PEM certificate → DER (or DER as it is).
fn cert_der(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut t = TrustStore::new();
    let kid = match std::str::from_utf8(bytes) {
        Ok(s) if s.contains("-----BEGIN") => t.add_cert_pem(s)?,
        _ => t.add_cert_der(bytes)?,
    };
    Ok(t.cert_der(&kid).map(<[u8]>::to_vec).unwrap_or_default())
}

pub fn keys(config: &Config, what: &KeysWhat) -> Result<ExitCode> {
    let store = KeyStore::new(&config.credentials.keys_dir);
    let now = chrono::Utc::now().timestamp();
    let alg = Alg::parse(&config.credentials.algorithm)
        .filter(|a| a.can_sign())
        .with_context(|| {
            format!(
                "credentials.algorithm must be es256, es384 or eddsa, not {}",
                config.credentials.algorithm
            )
        })?;
    match what {
        KeysWhat::Init => {
            let kid = store.init(alg, now).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created a root and signer {} in {}",
                hex::encode(kid),
                store.dir().display()
            );
        }
        KeysWhat::Rotate => {
            let kid = store.rotate(alg, now).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("added signer {} (now signing)", hex::encode(kid));
        }
        KeysWhat::List => {
            let set = store.load().map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("root   {} {}", hex::encode(set.root.kid()), set.root.alg);
            let n = set.signers.len();
            for (i, s) in set.signers.iter().enumerate() {
                let mark = if i + 1 == n { " (signing)" } else { "" };
                println!("signer {} {}{mark}", hex::encode(s.kid()), s.alg);
            }
        }
        // Done in the database only (`publish`).
        KeysWhat::Retire { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Publishes what `keys init|rotate|retire` changed to the database: every node signs with
/// the current signer and serves the new trust list within moments (docs/CLUSTER.md),
/// without a restart.
pub async fn publish(app: &App, what: &KeysWhat) -> Result<()> {
    let store = KeyStore::new(&app.config.credentials.keys_dir);
    let failed = |e: ServiceError| anyhow::anyhow!("{e} ({})", e.code());
    match what {
        KeysWhat::Init | KeysWhat::Rotate => {
            let version = keys::publish(app, &store).await.map_err(failed)?;
            println!("published to every node (trust list version {version})");
        }
        KeysWhat::Retire { kid } => {
            let version = keys::retire(app, &store, "cli", kid)
                .await
                .map_err(failed)?;
            println!(
                "retired signer {kid}: every node serves trust list version {version} without it"
            );
        }
        KeysWhat::List => {}
    }
    Ok(())
}

pub fn credential(what: &CredentialWhat) -> Result<ExitCode> {
    match what {
        CredentialWhat::Decode { prefix, payload } => {
            let payload = read_payload(payload)?;
            match decode(&payload, prefix) {
                Ok(d) => {
                    let out = serde_json::json!({
                        "claims": d.claims,
                        "kid": d.kid.map(hex::encode),
                        "alg": d.alg.map(|a| a.code()),
                        "signature_checked": false,
                    });
                    println!("{}", serde_json::to_string_pretty(&out)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(reason) => {
                    println!(
                        "{}",
                        serde_json::json!({"valid": false, "reason": reason.code()})
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        CredentialWhat::Verify(a) => verify_cmd(a),
    }
}

fn verify_cmd(a: &VerifyArgs) -> Result<ExitCode> {
    let at = match &a.at {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .with_context(|| {
                format!("--at must be an RFC 3339 time such as 2026-11-22T10:00:00+08:00, not {t}")
            })?
            .timestamp(),
        None => chrono::Utc::now().timestamp(),
    };
    let invalid = |reason: Reason| {
        println!(
            "{}",
            serde_json::json!({"valid": false, "reason": reason.code()})
        );
        Ok(ExitCode::from(1))
    };
    let mut trust = TrustStore::new();
    if let Some(p) = &a.trust_list {
        let doc = String::from_utf8(read(p)?).context("the trust list is not UTF-8")?;
        let pinned = a
            .root
            .as_ref()
            .map(|r| read(r).and_then(|b| cert_der(&b)))
            .transpose()?;
        match open_trust_list(&doc, pinned.as_deref()) {
            Ok((t, _)) => trust = t,
            Err(reason) => return invalid(reason),
        }
    }
    if let Some(p) = &a.cert {
        let bytes = read(p)?;
        trust.add_cert_der(&cert_der(&bytes)?)?;
    }
    if let Some(p) = &a.key {
        let bytes = read(p)?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            trust.add_jwk(std::str::from_utf8(&bytes).context("the JWK is not UTF-8")?)?;
        } else {
            trust.add_spki(&bytes)?;
        }
    }
    if trust.is_empty() {
        bail!("no verification key: give --trust-list, --cert or --key");
    }
    let status = match &a.status_list {
        Some(p) => {
            let doc = String::from_utf8(read(p)?).context("the status list is not UTF-8")?;
            match open_status_list(&doc, &trust, at, a.status_max_age) {
                Ok(s) => Some(s),
                Err(reason) => return invalid(reason),
            }
        }
        None => None,
    };
    let payload = read_payload(&a.payload)?;
    let mut opts = VerifyOptions::at(at);
    opts.prefix = &a.prefix;
    opts.required_use = a.required_use.as_deref();
    opts.status = status.as_ref();
    let verdict = verify(&payload, &trust, &opts);
    if verdict.use_required(opts.required_use) {
        println!(
            "{}",
            serde_json::json!({
                "valid": false,
                "reason": "use_required",
                "permitted_uses": verdict.permitted_uses(),
            })
        );
        eprintln!(
            "say what the credential is presented for: --use {}",
            verdict.permitted_uses().join("|")
        );
        return Ok(ExitCode::from(2));
    }
    let mut out = serde_json::to_value(&verdict)?;
    if let Some(o) = out.as_object_mut() {
        o.insert(
            "permitted_uses".into(),
            serde_json::json!(verdict.permitted_uses()),
        );
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(if verdict.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
