//! Signing keys and trust lists published for every node (see `services::keys`).

use crate::Result;
use crate::statement::{all, changed_one, execute, insert_unique, optional, select};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SigningKeyRow {
    /// Hex of the 8-byte key id.
    pub kid: String,
    /// `root` or `signer`.
    pub role: String,
    pub alg: String,
    pub cert_der: Vec<u8>,
    /// The PKCS#8 private key sealed under the key-encryption key (signers only, and only
    /// when one is configured).
    pub sealed_key: Option<Vec<u8>>,
    pub created_at: i64,
    /// When the signer was retired: it no longer signs, and trust lists leave it out.
    pub retired_at: Option<i64>,
}

const COLUMNS: &str = "kid, role, alg, cert_der, sealed_key, created_at, retired_at";

/// Adds a key unless its kid is there already (publishing again changes nothing, and a
/// retired signer stays retired).
pub async fn insert(conn: &mut AnyConnection, k: &SigningKeyRow) -> Result<bool> {
    let sql = "INSERT INTO signing_keys (kid, role, alg, cert_der, sealed_key, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kid) DO NOTHING";
    let binds = (
        &k.kid,
        &k.role,
        &k.alg,
        &k.cert_der,
        &k.sealed_key,
        k.created_at,
    );
    Ok(execute(conn, sql, binds).await? == 1)
}

/// Every published key, oldest first (the last signer signs).
pub async fn all_keys(conn: &mut AnyConnection) -> Result<Vec<SigningKeyRow>> {
    all(
        conn,
        select(COLUMNS, "signing_keys ORDER BY created_at, kid"),
        (),
    )
    .await
}

/// Retires signer `kid` now; false when it is not an active signer (unknown, the root, or
/// retired already, perhaps by a concurrent command).
pub async fn retire(conn: &mut AnyConnection, kid: &str, now: i64) -> Result<bool> {
    let sql = "UPDATE signing_keys SET retired_at = $2 \
               WHERE kid = $1 AND role = 'signer' AND retired_at IS NULL";
    changed_one(conn, sql, (kid, now)).await
}

/// Stores a signed trust list. A version stored before is a `Conflict`: two key changes
/// published at once cannot both be that version.
pub async fn insert_trust_list(
    conn: &mut AnyConnection,
    version: i64,
    document: &str,
    now: i64,
) -> Result<()> {
    let sql = "INSERT INTO trust_lists (version, document, created_at) VALUES ($1, $2, $3)";
    insert_unique(conn, sql, (version, document, now), "trust list version").await
}

/// The newest trust list: its version and the signed document.
pub async fn latest_trust_list(conn: &mut AnyConnection) -> Result<Option<(i64, String)>> {
    let sql = "SELECT version, document FROM trust_lists ORDER BY version DESC LIMIT 1";
    optional(conn, sql, ()).await
}
