//! Keys published in the database, so that every node signs with the current signer and
//! serves the same trust list: certificates as they are, a signer's private key only
//! sealed (AES-256-GCM, its kid as associated data) under `credentials.key_encryption_key`,
//! which the database never holds. The root's private key stays in the operator's folder;
//! the trust list it signs is stored and served as signed. A retired signer stays in the
//! table, marked, and out of every trust list signed after it.

use super::{KeySet, KeyStore};
use crate::error::OnConflict;
use crate::{App, ErrorCode, Result, ServiceError, audit};
use exitentry_credentials::{Alg, GeneratedKey, SigningKey, sign_trust_list};
use exitentry_storage::AnyConnection;
use exitentry_storage::changes;
use exitentry_storage::signing_keys::{self as store, SigningKeyRow};
use ring::aead;
use ring::rand::{SecureRandom, SystemRandom};
use std::sync::Arc;

const ROOT: &str = "root";
const SIGNER: &str = "signer";
const NONCE: usize = 12;

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// The key-encryption key, when one is configured.
fn kek(app: &App) -> Result<Option<aead::LessSafeKey>> {
    let text = app.config.credentials.key_encryption_key.expose().trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bytes = hex::decode(text)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| internal("credentials.key_encryption_key must be 64 hex digits"))?;
    let key = aead::UnboundKey::new(&aead::AES_256_GCM, &bytes).map_err(internal)?;
    Ok(Some(aead::LessSafeKey::new(key)))
}

fn seal(key: &aead::LessSafeKey, kid: &str, secret: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE];
    SystemRandom::new().fill(&mut nonce).map_err(internal)?;
    let mut sealed = secret.to_vec();
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::from(kid.as_bytes()),
        &mut sealed,
    )
    .map_err(internal)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn unseal(key: &aead::LessSafeKey, kid: &str, sealed: &[u8]) -> Result<Vec<u8>> {
    let refused = || {
        internal(format!(
            "signer {kid}: the sealed key does not open with credentials.key_encryption_key"
        ))
    };
    let (nonce, body) = sealed.split_at_checked(NONCE).ok_or_else(refused)?;
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
    let mut body = body.to_vec();
    let plain = key
        .open_in_place(nonce, aead::Aad::from(kid.as_bytes()), &mut body)
        .map_err(|_| refused())?;
    Ok(plain.to_vec())
}

/// Refuses a folder whose root is not the one the database holds.
fn same_root(published: &[SigningKeyRow], folder: &KeySet) -> Result<()> {
    let root_kid = hex::encode(folder.root.kid());
    match published
        .iter()
        .find(|k| k.role == ROOT && k.kid != root_kid)
    {
        Some(other) => Err(ServiceError::conflict(
            ErrorCode::KeysExist,
            format!(
                "the database holds the keys of another root ({}); manage keys where its folder is",
                other.kid
            ),
        )),
        None => Ok(()),
    }
}

/// Signs the next trust list (every signer in service) with the root, stores it and
/// announces it in the caller's transaction: its version.
async fn publish_list(app: &App, conn: &mut AnyConnection, root: &SigningKey) -> Result<i64> {
    let latest = store::latest_trust_list(conn).await?.map(|(v, _)| v);
    let version = latest.map_or(1, |v| v + 1);
    let certs: Vec<Vec<u8>> = store::all_keys(conn)
        .await?
        .into_iter()
        .filter(|k| k.role == SIGNER && k.retired_at.is_none())
        .map(|k| k.cert_der)
        .collect();
    let issued_at = app.now().timestamp();
    let document = sign_trust_list(version as u64, issued_at, &certs, root).map_err(internal)?;
    store::insert_trust_list(conn, version, &document, app.now_micros())
        .await
        .on_conflict(|| {
            ServiceError::conflict(
                ErrorCode::Conflict,
                "another change of the signing keys was published at the same moment; run the command again",
            )
        })?;
    changes::announce(conn, "keys").await?;
    Ok(version)
}

/// Publishes the keys of `folder` (after `keys init` or `keys rotate` there): adds what the
/// database lacks, stores the next trust list signed by the root and announces the change,
/// so every node signs with the newest signer within moments. Publishing what is there
/// already changes nothing. Returns the trust list's version. Refused when the database
/// holds keys of another root.
pub async fn publish(app: &App, folder: &KeyStore) -> Result<i64> {
    let set = folder.load()?;
    let kek = kek(app)?;
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    same_root(&store::all_keys(&mut tx).await?, &set)?;
    let row = |role: &str, g: &GeneratedKey, sealed: Option<Vec<u8>>, at: i64| SigningKeyRow {
        kid: hex::encode(g.kid()),
        role: role.to_string(),
        alg: g.alg.code().to_string(),
        cert_der: g.cert_der.clone(),
        sealed_key: sealed,
        created_at: at,
        retired_at: None,
    };
    store::insert(&mut tx, &row(ROOT, &set.root, None, now)).await?;
    let mut added = false;
    for (i, s) in (1_i64..).zip(&set.signers) {
        let kid = hex::encode(s.kid());
        let sealed = match &kek {
            Some(k) => Some(seal(k, &kid, &s.pkcs8_der)?),
            None => None,
        };
        added |= store::insert(&mut tx, &row(SIGNER, s, sealed, now + i)).await?;
    }
    let version = match store::latest_trust_list(&mut tx).await? {
        Some((version, _)) if !added => version,
        _ => publish_list(app, &mut tx, &set.root_key()?).await?,
    };
    tx.commit().await?;
    reload(app).await?;
    Ok(version)
}

/// Takes signer `kid` out of service: marked retired in the database, left out of a new
/// trust list the root of `folder` signs, announced so that every node reloads at once,
/// recorded in the audit trail. Credentials it signed then verify nowhere
/// (`unknown_signer`). The signer that signs now is refused: rotate first, so that a new
/// one takes over. Returns the new trust list's version.
pub async fn retire(app: &App, folder: &KeyStore, actor: &str, kid: &str) -> Result<i64> {
    let kid = kid.trim().to_ascii_lowercase();
    let set = folder.load()?;
    let mut tx = app.db.begin().await?;
    let published = store::all_keys(&mut tx).await?;
    if published.is_empty() {
        return Err(ServiceError::unavailable(
            ErrorCode::KeysNotInitialised,
            "no signing keys are published: run `exitentry keys init` first",
        ));
    }
    same_root(&published, &set)?;
    let in_service: Vec<&SigningKeyRow> = published
        .iter()
        .filter(|k| k.role == SIGNER && k.retired_at.is_none())
        .collect();
    let Some(signer) = published.iter().find(|k| k.role == SIGNER && k.kid == kid) else {
        return Err(ServiceError::not_found("signer"));
    };
    if in_service.last().is_some_and(|current| current.kid == kid) {
        return Err(ServiceError::conflict(
            ErrorCode::SignerInUse,
            format!(
                "signer {kid} signs credentials now: run `exitentry keys rotate` first, so that \
                 a new signer takes over, then retire this one"
            ),
        ));
    }
    let already = || {
        ServiceError::conflict(
            ErrorCode::SignerRetired,
            format!("signer {kid} is retired already"),
        )
    };
    if signer.retired_at.is_some() || !store::retire(&mut tx, &kid, app.now_micros()).await? {
        return Err(already());
    }
    let version = publish_list(app, &mut tx, &set.root_key()?).await?;
    let detail = serde_json::json!({ "trust_list_version": version });
    let subject = format!("signer:{kid}");
    audit::record(app, &mut tx, actor, "signer_retired", &subject, detail).await?;
    tx.commit().await?;
    reload(app).await?;
    Ok(version)
}

/// Replaces this node's keys with the published ones (no change when none are published:
/// a single node may keep its keys in the folder only). True when keys were loaded.
pub async fn reload(app: &App) -> Result<bool> {
    let _one_at_a_time = app.keys.reloading.lock().await;
    reload_now(app).await
}

async fn reload_now(app: &App) -> Result<bool> {
    let mut conn = app.db.conn().await?;
    // The version first: should a change commit between the two reads, the node holds the
    // newer keys under the older version, and reloads again on its next look.
    let (version, trust_list) = store::latest_trust_list(&mut conn).await?.unzip();
    let rows = store::all_keys(&mut conn).await?;
    drop(conn);
    let Some(root) = rows.iter().find(|k| k.role == ROOT) else {
        return Ok(false);
    };
    let signers: Vec<&SigningKeyRow> = rows
        .iter()
        .filter(|k| k.role == SIGNER && k.retired_at.is_none())
        .collect();
    let kek = kek(app)?;
    let mut loaded = Vec::with_capacity(signers.len());
    for (i, s) in signers.iter().enumerate() {
        // Only the newest signer signs: the older ones are needed for their certificates.
        let pkcs8_der = if i + 1 == signers.len() {
            private_key(app, kek.as_ref(), s)?
        } else {
            Vec::new()
        };
        loaded.push(GeneratedKey {
            alg: alg(s)?,
            pkcs8_der,
            cert_der: s.cert_der.clone(),
        });
    }
    app.keys.set(KeySet {
        root: GeneratedKey {
            alg: alg(root)?,
            pkcs8_der: Vec::new(),
            cert_der: root.cert_der.clone(),
        },
        signers: loaded,
        trust_list,
        version,
    });
    Ok(true)
}

/// The keys as published now: reloaded first when the database holds a newer trust list
/// than this node (a signer retired or added anywhere counts from its commit, before the
/// change notification arrives). One primary-key read.
pub(crate) async fn up_to_date(app: &App) -> Result<Option<Arc<KeySet>>> {
    let published = published_version(app).await?;
    if published.is_some() && published != app.keys.version() {
        let _one_at_a_time = app.keys.reloading.lock().await;
        // Another request may have reloaded while this one waited.
        if published != app.keys.version() {
            reload_now(app).await?;
        }
    }
    Ok(app.keys.get())
}

fn alg(k: &SigningKeyRow) -> Result<Alg> {
    Alg::parse(&k.alg).ok_or_else(|| internal(format!("key {}: unknown algorithm", k.kid)))
}

/// The signer's private key: unsealed, or from this node's folder, or none (the node then
/// refuses to sign, saying why).
fn private_key(app: &App, kek: Option<&aead::LessSafeKey>, k: &SigningKeyRow) -> Result<Vec<u8>> {
    if let (Some(kek), Some(sealed)) = (kek, &k.sealed_key) {
        return unseal(kek, &k.kid, sealed);
    }
    let dir = KeyStore::new(&app.config.credentials.keys_dir).signers_dir();
    let suffix = format!("-{}.key", k.kid);
    let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().ends_with(&suffix))
    });
    Ok(found
        .and_then(|e| std::fs::read(e.path()).ok())
        .unwrap_or_default())
}

/// At start: keys found in the folder but not yet in the database are published (a system
/// that kept its keys on one node's disk), then the published keys are loaded.
pub async fn start(app: &App) -> Result<()> {
    let folder = KeyStore::new(&app.config.credentials.keys_dir);
    let published = {
        let mut conn = app.db.conn().await?;
        !store::all_keys(&mut conn).await?.is_empty()
    };
    if !published && folder.exists() {
        publish(app, &folder).await?;
    }
    reload(app).await?;
    Ok(())
}

/// The version of the newest published trust list (to notice a lost change notification).
pub(crate) async fn published_version(app: &App) -> Result<Option<i64>> {
    let mut conn = app.db.conn().await?;
    Ok(store::latest_trust_list(&mut conn).await?.map(|(v, _)| v))
}
