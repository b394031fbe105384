//! The append-only, hash-chained audit log.
//!
//! Each entry's hash covers its fields and the previous entry's hash; `audit_head` holds
//! the last sequence number and hash, so removing the newest entries is caught as well as
//! altering or removing any other.

use crate::Result;
use crate::statement::{Binds, all, execute, one, select};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did what to which record. `before_ref`/`after_ref` point at the state before and
/// after (e.g. a hash of the old row, or a file digest), not copies of personal data.
#[derive(Debug, Clone, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct AuditEntry {
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before_ref: Option<String>,
    pub after_ref: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredAudit {
    pub seq: i64,
    pub at: i64,
    #[sqlx(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

fn entry_hash(prev: &str, seq: i64, at: i64, e: &AuditEntry) -> String {
    // A JSON array is an unambiguous encoding: no field can bleed into the next.
    let canonical = serde_json::json!([
        prev,
        seq,
        at,
        e.actor,
        e.action,
        e.subject,
        e.before_ref,
        e.after_ref,
        e.detail
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Appends one entry inside the caller's transaction; returns its sequence number.
/// Bumping the head row first takes its row lock, so concurrent appenders queue.
pub async fn append(conn: &mut AnyConnection, e: &AuditEntry, at: i64) -> Result<i64> {
    let sql = "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash";
    let (seq, prev): (i64, String) = one(conn, sql, ()).await?;
    let hash = entry_hash(&prev, seq, at, e);
    let sql = "INSERT INTO audit_log (seq, at, actor, action, subject, before_ref, after_ref, \
               detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let binds = (
        seq,
        at,
        &e.actor,
        &e.action,
        &e.subject,
        &e.before_ref,
        &e.after_ref,
        &e.detail,
        prev,
        &hash,
    );
    execute(conn, sql, binds).await?;
    let sql = "UPDATE audit_head SET hash = $1 WHERE id = 1";
    execute(conn, sql, (&hash,)).await?;
    Ok(seq)
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact {
        entries: i64,
    },
    /// The first entry (by sequence number) where the chain breaks, and why.
    Broken {
        seq: i64,
        reason: String,
    },
}

const PAGE: i64 = 5000;

pub async fn verify(conn: &mut AnyConnection) -> Result<Verdict> {
    let mut expected_seq = 1;
    let mut prev = GENESIS_HASH.to_string();
    loop {
        let page = "WHERE seq >= $1 ORDER BY seq LIMIT $2";
        let rows = entries(conn, page, (expected_seq, PAGE)).await?;
        if rows.is_empty() {
            break;
        }
        for a in rows {
            if a.seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    reason: format!("entry {expected_seq} is missing"),
                });
            }
            if a.prev_hash != prev {
                return Ok(Verdict::Broken {
                    seq: a.seq,
                    reason: "does not link to the entry before it".into(),
                });
            }
            if entry_hash(&prev, a.seq, a.at, &a.entry) != a.hash {
                return Ok(Verdict::Broken {
                    seq: a.seq,
                    reason: "content does not match its hash (altered)".into(),
                });
            }
            prev = a.hash;
            expected_seq += 1;
        }
    }
    let sql = "SELECT seq, hash FROM audit_head WHERE id = 1";
    let (head_seq, head_hash): (i64, String) = one(conn, sql, ()).await?;
    if head_seq != expected_seq - 1 || head_hash != prev {
        return Ok(Verdict::Broken {
            seq: expected_seq,
            reason: format!(
                "the log ends at entry {} but {head_seq} were written (entries removed)",
                expected_seq - 1
            ),
        });
    }
    Ok(Verdict::Intact {
        entries: expected_seq - 1,
    })
}

const COLUMNS: &str =
    "seq, at, actor, action, subject, before_ref, after_ref, detail, prev_hash, hash";

/// The entries `rest` (a condition and an order) picks.
async fn entries(
    conn: &mut AnyConnection,
    rest: &str,
    binds: impl Binds,
) -> Result<Vec<StoredAudit>> {
    all(conn, select(COLUMNS, &format!("audit_log {rest}")), binds).await
}

/// The newest entries first.
pub async fn recent(conn: &mut AnyConnection, limit: i64) -> Result<Vec<StoredAudit>> {
    entries(conn, "ORDER BY seq DESC LIMIT $1", (limit,)).await
}

/// Every entry about one subject (e.g. `temporary_permit:TP-…`), oldest first.
pub async fn for_subject(conn: &mut AnyConnection, subject: &str) -> Result<Vec<StoredAudit>> {
    entries(conn, "WHERE subject = $1 ORDER BY seq", (subject,)).await
}
