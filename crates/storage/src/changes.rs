//! The change feed: a committed change that nodes cache (API keys, partners, signing keys,
//! quota leases) is announced on one PostgreSQL channel, delivered to every listening node
//! when the transaction commits and never when it rolls back. SQLite has one node: nothing
//! to announce, the process invalidates its own caches.

use crate::{Db, Result, StorageError};
use sqlx::{AnyConnection, AssertSqlSafe};

/// The one channel every node listens on.
pub const CHANNEL: &str = "exitentry_changes";

/// Announces `topic` (letters, digits, `_`, `:`, `-`, `.`) with the caller's transaction.
pub async fn announce(conn: &mut AnyConnection, topic: &str) -> Result<()> {
    if !conn.backend_name().eq_ignore_ascii_case("postgresql") {
        return Ok(());
    }
    // NOTIFY takes no bound values: the topic is checked to be a plain word instead.
    if topic.is_empty()
        || topic.len() > 200
        || !topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_:-.".contains(&b))
    {
        return Err(StorageError::Corrupt(format!("bad change topic {topic:?}")));
    }
    let sql = format!("NOTIFY {CHANNEL}, '{topic}'");
    sqlx::query(AssertSqlSafe(sql)).execute(&mut *conn).await?;
    Ok(())
}

/// One node's subscription to the feed.
pub struct ChangeListener(sqlx::postgres::PgListener);

/// What the feed delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A committed change on this topic.
    Topic(String),
    /// The connection dropped and came back: changes may have been missed, so a node
    /// forgets everything it cached.
    Lost,
}

impl ChangeListener {
    /// Listens on [`CHANNEL`]; `None` on SQLite.
    pub async fn connect(db: &Db) -> Result<Option<ChangeListener>> {
        let Some(url) = db.listen_url() else {
            return Ok(None);
        };
        let mut l = sqlx::postgres::PgListener::connect(url).await?;
        l.listen(CHANNEL).await?;
        Ok(Some(ChangeListener(l)))
    }

    /// Waits for the next change (reconnecting after a dropped connection).
    pub async fn next(&mut self) -> Result<Change> {
        Ok(match self.0.try_recv().await? {
            Some(n) => Change::Topic(n.payload().to_string()),
            None => Change::Lost,
        })
    }
}
