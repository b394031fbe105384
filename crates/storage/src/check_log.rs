//! Storing the record of relying-party checks, a batch at a time in one transaction. On a
//! SQLite file the batch goes over a `rusqlite` connection on a blocking thread, one prepared
//! insert per row: through sqlx the same rows were bound and converted on its worker
//! thread, a third busy thread beside the two serving checks (docs/PERFORMANCE.md).

use crate::bulk::{Dialect, insert_batches};
use crate::{Db, Result, StorageError};
use sqlx::AnyConnection;
use std::path::PathBuf;
use std::sync::LazyLock;

/// One recorded check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub at: i64,
    pub partner_id: i64,
    pub key_id: String,
    /// The check, its result and reason: codes, so a record costs no copies of them.
    pub kind: &'static str,
    pub result: &'static str,
    pub reason: &'static str,
    pub latency_us: i64,
    pub subject_hash: String,
}

const INSERT: &str = "INSERT INTO verification_log (at, partner_id, key_id, kind, result, reason, \
     latency_us, subject_hash) VALUES ";

/// One row, for the prepared statement of a SQLite file.
static INSERT_ROW: LazyLock<String> =
    LazyLock::new(|| format!("{INSERT}(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));

/// Writes a batch of records in multi-row statements, in the caller's transaction.
async fn insert(conn: &mut AnyConnection, records: &[LogRecord]) -> Result<()> {
    let statement = |dialect: Dialect, rows| format!("{INSERT}{}", dialect.rows(rows, 8));
    let values = |r: &LogRecord| {
        (
            r.at,
            r.partner_id,
            r.key_id.clone(),
            r.kind,
            r.result,
            r.reason,
            r.latency_us,
            r.subject_hash.clone(),
        )
    };
    insert_batches(conn, records, 8, statement, values, ()).await?;
    Ok(())
}

/// Where one writer stores its batches: kept by the writer from batch to batch.
pub struct CheckLogStore {
    db: Db,
    /// A SQLite file's path and the writer's own connection to it (opened at the first
    /// batch, opened again after a failed one).
    file: Option<(PathBuf, Option<rusqlite::Connection>)>,
}

impl Db {
    /// A store for one check-log writer.
    pub fn check_log_store(&self) -> CheckLogStore {
        let file = self
            .sqlite_readers()
            .map(|r| (r.path().to_path_buf(), None));
        CheckLogStore {
            db: self.clone(),
            file,
        }
    }
}

impl CheckLogStore {
    /// Stores the records in one transaction: all of them or none.
    pub async fn store(&mut self, records: Vec<LogRecord>) -> Result<()> {
        let Some((path, kept)) = &mut self.file else {
            let mut tx = self.db.begin().await?;
            insert(&mut tx, &records).await?;
            return tx.commit().await;
        };
        let conn = match kept.take() {
            Some(c) => c,
            // As sqlx's own connections are set up (`Db::connect`).
            None => crate::lookups::open_file(
                path,
                "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )?,
        };
        let (conn, stored) = tokio::task::spawn_blocking(move || {
            let stored = write(&conn, &records);
            (conn, stored)
        })
        .await
        .map_err(|_| StorageError::Database(sqlx::Error::WorkerCrashed))?;
        if stored.is_ok() {
            *kept = Some(conn);
        }
        stored
    }
}

fn write(conn: &rusqlite::Connection, records: &[LogRecord]) -> Result<()> {
    // Takes the write lock up front, as `Db::begin` does: a lock upgrade could deadlock.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut st = tx.prepare_cached(&INSERT_ROW)?;
        for r in records {
            st.execute(rusqlite::params![
                r.at,
                r.partner_id,
                r.key_id,
                r.kind,
                r.result,
                r.reason,
                r.latency_us,
                r.subject_hash,
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}
