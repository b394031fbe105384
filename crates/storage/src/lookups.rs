//! The reads relying-party checks make on every request: documents by number with their
//! holders, and whether the calling key is still live. On a SQLite file they run on the
//! calling thread over a small pool of `rusqlite` read connections (sqlx would hand every
//! statement and its rows to a worker thread and back, which cost more than the lookup);
//! on PostgreSQL one round trip answers both the documents and the key. Nothing is cached:
//! every answer is as fresh as the database.

use crate::codes::FromCode;
use crate::documents::{COLUMNS, HOLDER_COLUMNS, StoredDocument, WithHolder};
use crate::error::corrupt;
use crate::partners::KeyRecord;
use crate::people::{PersonRecord, StoredPerson};
use crate::statement::all;
use crate::{Db, Result, StorageError};
use exitentry_domain::Invalid;
use exitentry_domain::person::Names;
use rusqlite::{OpenFlags, Row};
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

/// A document under a looked-up number, with its holder.
pub type Holding = (StoredDocument, StoredPerson);

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

    fn with<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> Result<T> {
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => self.open()?,
        };
        let out = f(&conn).map_err(from_sqlite);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < KEEP_IDLE {
            idle.push(conn);
        }
        out
    }

    fn open(&self) -> Result<rusqlite::Connection> {
        // Read-write without create, then query_only: a WAL reader needs the shared-memory
        // file writable, and the file must already exist (sqlx created and migrated it).
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(&self.path, flags).map_err(from_sqlite)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(from_sqlite)?;
        // A page cache, not mmap: a mapped page is set up again at every read and the whole
        // map is dropped at each write, where cached pages stay set up until a write
        // (docs/PERFORMANCE.md, issue 19 second pass).
        conn.execute_batch(
            "PRAGMA query_only = ON; PRAGMA mmap_size = 0; PRAGMA cache_size = -32768;",
        )
        .map_err(from_sqlite)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }
}

fn from_sqlite(e: rusqlite::Error) -> StorageError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(i, _, source) => {
            corrupt(format!("{i}: {source}"))
        }
        e => StorageError::Sqlite(e),
    }
}

/// The documents under one or two numbers, newest first.
fn documents_sql(numbers: usize) -> String {
    let list = (1..=numbers)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {COLUMNS}, {HOLDER_COLUMNS} FROM documents d JOIN people p ON p.id = d.person_id \
         WHERE d.number IN ({list})"
    )
}

/// The documents under the numbers, only while the key bound after them is live.
fn documents_live_key_sql(numbers: usize) -> String {
    let key = LIVE_KEY.replace("$1", &format!("${}", numbers + 1));
    format!("{} AND EXISTS ({key})", documents_sql(numbers))
}

/// The lookup of `numbers` documents, with the live-key condition bound last when `with_key`;
/// built once for the one and two numbers of single checks.
fn lookup_sql(numbers: usize, with_key: bool) -> Cow<'static, str> {
    static ONE: LazyLock<String> = LazyLock::new(|| documents_sql(1));
    static TWO: LazyLock<String> = LazyLock::new(|| documents_sql(2));
    static ONE_WITH_KEY: LazyLock<String> = LazyLock::new(|| documents_live_key_sql(1));
    static TWO_WITH_KEY: LazyLock<String> = LazyLock::new(|| documents_live_key_sql(2));
    match (numbers, with_key) {
        (1, false) => Cow::Borrowed(ONE.as_str()),
        (2, false) => Cow::Borrowed(TWO.as_str()),
        (1, true) => Cow::Borrowed(ONE_WITH_KEY.as_str()),
        (2, true) => Cow::Borrowed(TWO_WITH_KEY.as_str()),
        (n, false) => Cow::Owned(documents_sql(n)),
        (n, true) => Cow::Owned(documents_live_key_sql(n)),
    }
}
static KEY_SQL: LazyLock<String> = LazyLock::new(|| crate::partners::key_sql().0);

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
        // One statement (on SQLite one read transaction, on PostgreSQL one round trip): the
        // documents come back only while the key is live; an empty answer is then told apart
        // by reading the key.
        let sql = lookup_sql(numbers.len(), confirm_key.is_some());
        let binds = numbers.iter().copied().chain(confirm_key);
        let found = if let Some(readers) = self.sqlite_readers() {
            readers.with(|c| {
                let mut st = c.prepare_cached(&sql)?;
                let rows = st.query_map(rusqlite::params_from_iter(binds), holding)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })?
        } else {
            let mut conn = self.conn().await?;
            let mut q = sqlx::query_as::<_, WithHolder<PersonRecord>>(sqlx::AssertSqlSafe(
                sql.into_owned(),
            ));
            for bind in binds {
                q = q.bind(bind);
            }
            let rows = q.fetch_all(&mut *conn).await?;
            rows.into_iter().map(WithHolder::into_holding).collect()
        };
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
            return readers.with(|c| key_live_sqlite(c, key_id));
        }
        let mut conn = self.conn().await?;
        let rows: Vec<(i32,)> = all(&mut conn, sqlx::AssertSqlSafe(LIVE_KEY), (key_id,)).await?;
        Ok(!rows.is_empty())
    }

    /// A key with its partner, for authenticating a request.
    pub async fn key_record(&self, key_id: &str) -> Result<Option<KeyRecord>> {
        if let Some(readers) = self.sqlite_readers() {
            return readers.with(|c| {
                let mut st = c.prepare_cached(&KEY_SQL)?;
                let mut rows = st.query_map([key_id], key_record)?;
                rows.next().transpose()
            });
        }
        let mut conn = self.conn().await?;
        crate::partners::key(&mut conn, key_id).await
    }
}

fn key_live_sqlite(c: &rusqlite::Connection, key_id: &str) -> rusqlite::Result<bool> {
    let mut st = c.prepare_cached(LIVE_KEY)?;
    st.exists([key_id])
}

/// A stored code read into its domain type; an unknown one is corrupt data.
fn code<T: FromCode>(row: &Row, i: usize) -> rusqlite::Result<T> {
    let text: &str = row.get_ref(i)?.as_str()?;
    T::from_code(text).map_err(|e: Invalid| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A row of [`documents_sql`]: the document columns, then the holder's.
fn holding(r: &Row) -> rusqlite::Result<Holding> {
    let issue_count: i64 = r.get(4)?;
    let document = StoredDocument {
        id: r.get(0)?,
        doc: crate::documents::DocumentRecord {
            person_id: r.get(1)?,
            kind: code(r, 2)?,
            number: r.get(3)?,
            issue_count: (issue_count > 0).then(|| u8::try_from(issue_count).unwrap_or(u8::MAX)),
            issued_on: code(r, 5)?,
            expires_on: code(r, 6)?,
            status: code(r, 7)?,
            office_code: r.get(8)?,
        },
    };
    let person = StoredPerson {
        id: document.doc.person_id,
        person: PersonRecord {
            external_id: r.get(9)?,
            names: Names {
                zh: r.get(10)?,
                latin: r.get(11)?,
            },
            sex: code(r, 12)?,
            date_of_birth: code(r, 13)?,
            region: code(r, 14)?,
            nationality: code(r, 15)?,
            id_kind: code(r, 16)?,
            id_number: r.get(17)?,
            hukou_area: r.get(18)?,
        },
    };
    Ok((document, person))
}

/// A row of the key statement (`partners::key_sql`): the partner's columns, then the key's.
fn key_record(r: &Row) -> rusqlite::Result<KeyRecord> {
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
