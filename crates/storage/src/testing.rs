//! Fresh databases for tests, on either backend.
//!
//! Which backends run is decided by `EXITENTRY_TEST_BACKENDS` (default `sqlite,postgres`).
//! A listed backend that cannot be reached fails the test: CI must never pass by skipping
//! PostgreSQL. PostgreSQL tests each get their own database, dropped afterwards.

#![allow(clippy::expect_used)] // test fixtures: a database that cannot be made fails the test

use crate::{Backend, DatabaseUrl, Db};
use sqlx::{Connection, Executor};
use std::sync::atomic::{AtomicU64, Ordering};

/// Admin connection used to create and drop per-test databases.
pub fn postgres_admin_url() -> String {
    std::env::var("EXITENTRY_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Whether tests for `backend` are enabled in this run.
pub fn enabled(backend: Backend) -> bool {
    let list =
        std::env::var("EXITENTRY_TEST_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    list.split(',').any(|b| b.trim() == backend.name())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A migrated, empty database that removes itself in [`TestDb::cleanup`] (or, for
/// PostgreSQL databases left by a crashed run, at the next run's start).
pub struct TestDb {
    pub db: Db,
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile_dir::TempDir>,
}

mod tempfile_dir {
    /// A temporary folder removed on drop (std only, to keep the storage crate lean).
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let t = Self::unmigrated(backend).await;
        t.db.migrate().await.expect("migrate");
        t
    }

    /// A fresh database with no migrations applied (for tests of a migration's effect).
    pub async fn unmigrated(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    async fn sqlite() -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("exitentry-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let url = format!("sqlite://{}/test.db", dir.display());
        Self::open(url, None, Some(tempfile_dir::TempDir(dir))).await
    }

    async fn postgres() -> TestDb {
        let admin_url = postgres_admin_url();
        let mut admin = sqlx::postgres::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is expected (EXITENTRY_TEST_BACKENDS includes postgres) but {admin_url} \
                 is unreachable: {e}. Start it or set EXITENTRY_TEST_BACKENDS=sqlite."
            )
        });
        drop_stale(&mut admin).await;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nonce: u32 = rand_suffix();
        let name = format!("ee_t_{}_{n}_{nonce}", std::process::id());
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        let url = format!("{base}/{name}");
        Self::open(url, Some(name), None).await
    }

    /// Connects to the fresh database at `url` (what `cleanup` removes: `pg_name`, `dir`).
    async fn open(
        url: String,
        pg_name: Option<String>,
        dir: Option<tempfile_dir::TempDir>,
    ) -> TestDb {
        let db = Db::connect(&DatabaseUrl::parse(&url).expect("url"), 8)
            .await
            .unwrap_or_else(|e| panic!("open test database {url}: {e}"));
        TestDb {
            db,
            url,
            pg_name,
            _dir: dir,
        }
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Closes the pool and drops the PostgreSQL database (the SQLite folder goes on drop).
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some(name) = &self.pg_name
            && let Ok(mut admin) =
                sqlx::postgres::PgConnection::connect(&postgres_admin_url()).await
        {
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await;
            let _ = admin.close().await;
        }
    }
}

fn rand_suffix() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    t % 1_000_000
}

/// Drops test databases whose creating process is gone (a run that panicked mid-test).
async fn drop_stale(admin: &mut sqlx::postgres::PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE 'ee_t_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await;
        }
    }
}

/// A test body [`backend_tests!`] can run: an async fn taking a fresh migrated database
/// (`&TestDb`, dropped afterwards), or one taking the [`Backend`] (tests that build their
/// own databases, such as a server per test). `Arg` only tells the two shapes apart.
pub trait BackendTest<Arg> {
    fn run_on(self, backend: Backend) -> impl std::future::Future<Output = ()>;
}

/// The shape `async fn test(t: &TestDb)`.
pub struct OnTestDb;
/// The shape `async fn test(backend: Backend)`.
pub struct OnBackend;

impl<F: AsyncFnOnce(&TestDb)> BackendTest<OnTestDb> for F {
    async fn run_on(self, backend: Backend) {
        let t = TestDb::new(backend).await;
        self(&t).await;
        t.cleanup().await;
    }
}

impl<F: AsyncFnOnce(Backend)> BackendTest<OnBackend> for F {
    async fn run_on(self, backend: Backend) {
        self(backend).await;
    }
}

/// Runs `test` on `backend` when that backend is enabled in this run ([`enabled`]).
pub async fn run<Arg>(backend: Backend, test: impl BackendTest<Arg>) {
    if enabled(backend) {
        test.run_on(backend).await;
    }
}

/// Generates one test per backend from async fns taking a [`TestDb`] or a [`Backend`]
/// ([`BackendTest`]): `backend_tests!(my_test);` gives `my_test::sqlite` and
/// `my_test::postgres`, so the test output names the backend each run used.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                $crate::testing::run($crate::Backend::Sqlite, super::$name).await;
            }
            #[tokio::test]
            async fn postgres() {
                $crate::testing::run($crate::Backend::Postgres, super::$name).await;
            }
        }
    )*};
}
