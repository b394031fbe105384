//! The connection pool and the one place that knows which backend is behind it.

use crate::lookups::{Gatherer, SqliteReaders};
use crate::{DatabaseUrl, Result, StorageError, Tx, migrations};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// PostgreSQL's URL, for the change feed's own connection (it holds a password: never
    /// printed).
    listen_url: Option<String>,
    /// A SQLite file's read connections for the verification lookups (`lookups.rs`).
    readers: Option<std::sync::Arc<SqliteReaders>>,
    /// The check lookups' gatherer (`lookups/gather.rs`).
    gathered: Option<std::sync::Arc<Gatherer>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", self.backend.name())
    }
}

impl Db {
    /// Connects (creating the SQLite file and its folder if needed). Does not migrate.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = match url {
            DatabaseUrl::Postgres { .. } => Backend::Postgres,
            _ => Backend::Sqlite,
        };
        if let DatabaseUrl::Sqlite { path } = url
            && let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StorageError::BadUrl(format!("cannot create folder {}: {e}", dir.display()))
            })?;
        }
        let options = AnyConnectOptions::from_str(&url.connect_url())?;
        let mut pool = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        pool = match url {
            // One in-memory database per connection would split the data: keep one.
            DatabaseUrl::SqliteMemory => pool.max_connections(1).min_connections(1),
            _ => pool.max_connections(max_connections.max(1)),
        };
        if backend == Backend::Sqlite {
            pool = pool.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers run beside the single writer; busy_timeout makes a
                    // second writer wait instead of failing at once.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    // 48 MiB page cache: bulk imports touch index pages all over the file. 64
                    // MiB took the people import past its 200 MB bound with the server's
                    // allocator, 32 MiB made it a fifth slower (docs/PERFORMANCE.md).
                    conn.execute("PRAGMA cache_size = -49152").await?;
                    // A multi-row statement inside a transaction keeps a journal of the pages it
                    // changes; in a temporary file that was a third of an import's time.
                    conn.execute("PRAGMA temp_store = MEMORY").await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await?;
        let listen_url = match url {
            DatabaseUrl::Postgres { url } => Some(url.clone()),
            _ => None,
        };
        let readers = match url {
            DatabaseUrl::Sqlite { path } => {
                Some(std::sync::Arc::new(SqliteReaders::new(path.clone())))
            }
            _ => None,
        };
        let gathered = crate::lookups::gatherer(url, readers.as_ref())?;
        Ok(Db {
            pool,
            backend,
            listen_url,
            readers,
            gathered,
        })
    }

    /// Parses and connects in one step.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self> {
        Self::connect(&DatabaseUrl::parse(url)?, max_connections).await
    }

    pub async fn migrate(&self) -> Result<()> {
        migrations::migrator(self.backend).run(&self.pool).await?;
        Ok(())
    }

    /// Applies the migrations up to `version` only (tests of what a migration does to the
    /// data an earlier version left).
    pub async fn migrate_to(&self, version: i64) -> Result<()> {
        migrations::migrator(self.backend)
            .run_to(version, &self.pool)
            .await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the change feed connects (PostgreSQL only).
    pub(crate) fn listen_url(&self) -> Option<&str> {
        self.listen_url.as_deref()
    }

    pub(crate) fn sqlite_readers(&self) -> Option<&SqliteReaders> {
        self.readers.as_deref()
    }

    pub(crate) fn gatherer(&self) -> Option<&Gatherer> {
        self.gathered.as_deref()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection for reads (and single-statement writes).
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`)
    /// so two writers queue instead of deadlocking on lock upgrade.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx::new(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        }))
    }

    /// Readiness: one round trip.
    pub async fn ping(&self) -> Result<()> {
        self.pool.execute("SELECT 1").await?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(gathered) = &self.gathered {
            gathered.close().await;
        }
        self.pool.close().await;
    }
}
