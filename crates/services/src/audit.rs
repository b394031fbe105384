//! Audit entries for service actions, and checking the chain.

use crate::{App, Result};
use exitentry_storage::AnyConnection;
pub use exitentry_storage::audit::{AuditEntry, StoredAudit, Verdict};

/// Records `action` by `actor` on `subject` inside the caller's transaction.
pub async fn record(
    app: &App,
    conn: &mut AnyConnection,
    actor: &str,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<()> {
    let e = AuditEntry {
        actor: actor.to_string(),
        action: action.to_string(),
        subject: subject.to_string(),
        before_ref: None,
        after_ref: None,
        detail: detail.to_string(),
    };
    exitentry_storage::audit::append(conn, &e, app.now_micros()).await?;
    Ok(())
}

/// Records a change with references to the state before and after it (e.g. the digest of
/// an imported file, the id of a created row).
pub async fn record_change(
    app: &App,
    conn: &mut AnyConnection,
    mut entry: AuditEntry,
    detail: serde_json::Value,
) -> Result<()> {
    entry.detail = detail.to_string();
    exitentry_storage::audit::append(conn, &entry, app.now_micros()).await?;
    Ok(())
}

pub async fn verify(app: &App) -> Result<Verdict> {
    let mut c = app.db.conn().await?;
    Ok(exitentry_storage::audit::verify(&mut c).await?)
}

pub async fn recent(app: &App, limit: i64) -> Result<Vec<StoredAudit>> {
    let mut c = app.db.conn().await?;
    Ok(exitentry_storage::audit::recent(&mut c, limit).await?)
}
