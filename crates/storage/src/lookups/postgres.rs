//! Gathered lookups on PostgreSQL: one statement answers the keys and the documents, over
//! connections of PostgreSQL's own driver held here (prepared once per connection, rows read
//! without the `Any` conversion).
//!
//! Not a `PgPool`: a pool checks each connection with a round trip when it hands it out and
//! again when it takes it back, so a gathered read cost three round trips instead of one (the
//! database server woken three times). The gatherer runs at most [`IN_FLIGHT`] reads at
//! once, so at most that many connections are open; one that failed is dropped, and a read
//! that failed on a connection that had been idle is tried once more on a new one (a read
//! changes nothing): what the pool's check was for, paid only when a read fails.

use super::columns::{self, CHECK_COLUMNS, Holding};
use super::gather::Source;
use crate::Result;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

/// Statements in flight at once: while they run, the next checks gather.
pub(super) const IN_FLIGHT: usize = 2;

/// How long opening a connection may take before the read fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The live keys among `$2`, then the documents under the numbers `$1` with their holders;
/// one row with the keys and empty document columns when no number is found.
static GATHERED_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT ARRAY(SELECT k.id FROM partner_keys k JOIN partners pa ON pa.id = k.partner_id \
         WHERE k.id = ANY($2) AND k.revoked_at IS NULL AND pa.disabled = 0) AS live, \
         {CHECK_COLUMNS} FROM (SELECT 1) AS one \
         LEFT JOIN document_checks c ON c.number = ANY($1)"
    )
});

pub(super) struct Postgres {
    options: PgConnectOptions,
    /// Connections between reads.
    idle: Mutex<Vec<PgConnection>>,
    closed: AtomicBool,
}

impl Postgres {
    /// Its connections open when first needed.
    pub(super) fn new(url: &str) -> Result<Self> {
        Ok(Postgres {
            options: PgConnectOptions::from_str(url)?,
            idle: Mutex::new(Vec::with_capacity(IN_FLIGHT)),
            closed: AtomicBool::new(false),
        })
    }

    /// An idle connection (`true`) or a new one (`false`).
    async fn connection(&self) -> Result<(PgConnection, bool)> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(sqlx::Error::PoolClosed.into());
        }
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok((conn, true)),
            None => Ok((self.connect().await?, false)),
        }
    }

    async fn connect(&self) -> Result<PgConnection> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.options.connect()).await {
            Ok(conn) => Ok(conn?),
            Err(_) => Err(sqlx::Error::PoolTimedOut.into()),
        }
    }

    fn put_back(&self, conn: PgConnection) {
        if !self.closed.load(Ordering::SeqCst) {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}

/// The statement on one connection.
async fn query(
    conn: &mut PgConnection,
    numbers: &[String],
    keys: &[String],
) -> sqlx::Result<Vec<sqlx::postgres::PgRow>> {
    sqlx::query(GATHERED_SQL.as_str())
        .bind(numbers)
        .bind(keys)
        .fetch_all(conn)
        .await
}

impl Source for Postgres {
    async fn read(
        &self,
        numbers: Vec<String>,
        keys: Vec<String>,
    ) -> Result<(Vec<String>, Vec<Holding>)> {
        let (mut conn, reused) = self.connection().await?;
        let rows = match query(&mut conn, &numbers, &keys).await {
            Ok(rows) => rows,
            // The server may have ended an idle connection (a restart, a timeout, an
            // operator): once more on a new one. A fault in the statement itself fails again.
            Err(e) if reused => {
                tracing::info!(error = %e, "check lookups: an idle connection failed, reconnecting");
                conn = self.connect().await?;
                query(&mut conn, &numbers, &keys).await?
            }
            Err(e) => return Err(e.into()),
        };
        self.put_back(conn);
        let mut live = Vec::new();
        let mut found = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            if i == 0 {
                live = sqlx::Row::try_get(row, 0)?;
            }
            // The one row of a gathering that found nothing has no document.
            if sqlx::Row::try_get::<Option<i64>, _>(row, 1)?.is_some() {
                found.push(columns::holding(row, 1)?);
            }
        }
        Ok((live, found))
    }

    /// Closes the idle connections; a read after this fails.
    async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for conn in idle {
            let _ = conn.close().await;
        }
    }
}
