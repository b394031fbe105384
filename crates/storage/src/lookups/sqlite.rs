//! Read connections to a SQLite file for the relying-party lookups: gathered checks are
//! read on a blocking thread, a key on the calling thread. Not sqlx: it hands every
//! statement and its rows to a worker thread and back, which cost more than the lookup.

use super::columns::{self, CHECK_COLUMNS, Holding};
use super::gather::Source;
use crate::partners::KeyRecord;
use crate::{Result, StorageError};
use rusqlite::OpenFlags;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

/// Read connections to one SQLite file, opened on demand and kept for the next caller. At
/// most as many are open as threads have been inside a lookup at once.
pub(crate) struct SqliteReaders {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

/// Idle read connections kept open; more are opened (and closed again) under a burst.
const KEEP_IDLE: usize = 16;

impl SqliteReaders {
    pub(crate) fn new(path: PathBuf) -> Self {
        SqliteReaders {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The file read.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    pub(super) fn with<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> Result<T>) -> Result<T> {
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => self.open()?,
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < KEEP_IDLE {
            idle.push(conn);
        }
        out
    }

    fn open(&self) -> Result<rusqlite::Connection> {
        // query_only: a WAL reader still needs the file opened read-write (its shared memory).
        // A page cache, not mmap: a mapped page is set up again at every read and the whole
        // map is dropped at each write, where cached pages stay set up until a write
        // (docs/PERFORMANCE.md, issue 19 second pass).
        let conn = open_file(
            &self.path,
            "PRAGMA query_only = ON; PRAGMA mmap_size = 0; PRAGMA cache_size = -32768;",
        )?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }
}

/// A `rusqlite` connection to the SQLite file at `path`, which must exist (sqlx created and
/// migrated it, in WAL mode), waiting for a writer as sqlx's do, then `pragmas`.
pub(crate) fn open_file(path: &std::path::Path, pragmas: &str) -> Result<rusqlite::Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(pragmas)?;
    Ok(conn)
}

/// Gathered lookups read at once: one at a time leaves both cores to the requests.
pub(super) const IN_FLIGHT: usize = 1;

/// The documents under the numbers of a JSON array, with their holders.
static GATHERED_DOCUMENTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {CHECK_COLUMNS} FROM document_checks c \
         WHERE c.number IN (SELECT value FROM json_each(?1))"
    )
});

/// The live keys among those of a JSON array.
const GATHERED_KEYS: &str = "SELECT k.id FROM partner_keys k JOIN partners pa ON pa.id = k.partner_id \
     WHERE k.id IN (SELECT value FROM json_each(?1)) AND k.revoked_at IS NULL AND pa.disabled = 0";

/// Gathered lookups on a SQLite file: read on a blocking thread, the keys and the documents
/// in one read transaction.
pub(super) struct Sqlite(pub(super) Arc<SqliteReaders>);

impl Source for Sqlite {
    async fn read(
        &self,
        numbers: Vec<String>,
        keys: Vec<String>,
    ) -> Result<(Vec<String>, Vec<Holding>)> {
        let readers = self.0.clone();
        let read = move || {
            readers.with(|c| {
                let tx = c.unchecked_transaction()?;
                let mut live = Vec::new();
                if !keys.is_empty() {
                    let keys = serde_json::to_string(&keys).map_err(crate::error::corrupt)?;
                    let mut st = tx.prepare_cached(GATHERED_KEYS)?;
                    let mut rows = st.query([keys])?;
                    while let Some(r) = rows.next()? {
                        live.push(r.get(0)?);
                    }
                }
                let numbers = serde_json::to_string(&numbers).map_err(crate::error::corrupt)?;
                let mut st = tx.prepare_cached(&GATHERED_DOCUMENTS)?;
                let mut rows = st.query([numbers])?;
                let mut found = Vec::new();
                while let Some(r) = rows.next()? {
                    found.push(columns::holding(r, 0)?);
                }
                drop(rows);
                drop(st);
                tx.commit()?;
                Ok((live, found))
            })
        };
        tokio::task::spawn_blocking(read)
            .await
            .map_err(|_| StorageError::Database(sqlx::Error::WorkerCrashed))?
    }
}

static KEY_SQL: LazyLock<String> = LazyLock::new(|| crate::partners::key_sql().0);

/// A key with its partner (`partners::key_sql`).
pub(super) fn key_record(c: &rusqlite::Connection, key_id: &str) -> Result<Option<KeyRecord>> {
    let mut st = c.prepare_cached(&KEY_SQL)?;
    let mut rows = st.query_map([key_id], key_row)?;
    Ok(rows.next().transpose()?)
}

/// A row of the key statement (`partners::key_sql`): the partner's columns, then the key's.
fn key_row(r: &rusqlite::Row) -> rusqlite::Result<KeyRecord> {
    Ok(KeyRecord {
        partner: crate::partners::PartnerRecord {
            id: r.get(0)?,
            name: r.get(1)?,
            kind: r.get(2)?,
            scopes: r.get(3)?,
            rate_per_second: r.get(4)?,
            daily_quota: r.get(5)?,
            client_cert_sha256: r.get(6)?,
            disabled: r.get::<_, i64>(7)? != 0,
        },
        key_id: r.get(8)?,
        secret_hash: r.get(9)?,
        revoked: r.get::<_, Option<i64>>(10)?.is_some(),
    })
}
