//! The reads relying-party checks make on every request: documents by number with their
//! holders, and whether the calling key is still live. The checks in flight at once are
//! read together (`gather.rs`): on a SQLite file over `rusqlite` read connections on a
//! blocking thread (`sqlite.rs`), on PostgreSQL over its own driver (`postgres.rs`). Nothing
//! is cached: every answer comes from a read that began after its check arrived.

mod columns;
mod gather;
mod postgres;
mod sqlite;

use crate::partners::KeyRecord;
use crate::statement::all;
use crate::{DatabaseUrl, Db, Result};
use columns::CHECK_COLUMNS;
pub use columns::Holding;
pub(crate) use gather::Gatherer;
pub(crate) use sqlite::{SqliteReaders, open_file};
use std::sync::Arc;

/// The gatherer of a database's check lookups (a SQLite file's or PostgreSQL's), started
/// on the current runtime; `None` for an in-memory database (its one connection reads).
pub(crate) fn gatherer(
    url: &DatabaseUrl,
    readers: Option<&Arc<SqliteReaders>>,
) -> Result<Option<Arc<Gatherer>>> {
    Ok(match (url, readers) {
        (DatabaseUrl::Postgres { url }, _) => Some(Gatherer::start(
            postgres::Postgres::new(url)?,
            postgres::IN_FLIGHT,
        )),
        (_, Some(readers)) => Some(Gatherer::start(
            sqlite::Sqlite(readers.clone()),
            sqlite::IN_FLIGHT,
        )),
        _ => None,
    }
    .map(Arc::new))
}

/// The documents under the numbers.
fn documents_sql(numbers: usize) -> String {
    let list = (1..=numbers)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("SELECT {CHECK_COLUMNS} FROM document_checks c WHERE c.number IN ({list})")
}

/// The documents under the numbers, only while the key bound after them is live.
fn documents_live_key_sql(numbers: usize) -> String {
    let key = LIVE_KEY.replace("$1", &format!("${}", numbers + 1));
    format!("{} AND EXISTS ({key})", documents_sql(numbers))
}

/// A live key: not revoked, its partner not disabled.
const LIVE_KEY: &str = "SELECT 1 FROM partner_keys k JOIN partners pa ON pa.id = k.partner_id \
     WHERE k.id = $1 AND k.revoked_at IS NULL AND pa.disabled = 0";

impl Db {
    /// The documents with exactly these numbers (each with its holder), and, when
    /// `confirm_key` names the calling key, whether it is still live. `None`: it is not
    /// (revoked or its partner disabled since it was last read).
    pub async fn check_documents(
        &self,
        numbers: &[&str],
        confirm_key: Option<&str>,
    ) -> Result<Option<Vec<Holding>>> {
        if let Some(gathered) = self.gatherer() {
            return gathered.check(numbers, confirm_key).await;
        }
        // An in-memory SQLite database lives in its one sqlx connection. One statement: the
        // documents come back only while the key is live; an empty answer is then told apart
        // by reading the key.
        let sql = match confirm_key {
            Some(_) => documents_live_key_sql(numbers.len()),
            None => documents_sql(numbers.len()),
        };
        let mut conn = self.conn().await?;
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for bind in numbers.iter().copied().chain(confirm_key) {
            q = q.bind(bind);
        }
        let rows = q.fetch_all(&mut *conn).await?;
        let found = rows
            .iter()
            .map(|row| columns::holding(row, 0))
            .collect::<Result<Vec<Holding>>>()?;
        if let Some(key) = confirm_key
            && found.is_empty()
            && !self.key_live(key).await?
        {
            return Ok(None);
        }
        Ok(Some(found))
    }

    /// Whether a key is live (not revoked, its partner not disabled).
    pub async fn key_live(&self, key_id: &str) -> Result<bool> {
        if let Some(readers) = self.sqlite_readers() {
            return readers.with(|c| Ok(c.prepare_cached(LIVE_KEY)?.exists([key_id])?));
        }
        let mut conn = self.conn().await?;
        let rows: Vec<(i32,)> = all(&mut conn, sqlx::AssertSqlSafe(LIVE_KEY), (key_id,)).await?;
        Ok(!rows.is_empty())
    }

    /// A key with its partner, for authenticating a request.
    pub async fn key_record(&self, key_id: &str) -> Result<Option<KeyRecord>> {
        if let Some(readers) = self.sqlite_readers() {
            return readers.with(|c| sqlite::key_record(c, key_id));
        }
        let mut conn = self.conn().await?;
        crate::partners::key(&mut conn, key_id).await
    }
}
