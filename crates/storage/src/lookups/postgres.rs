//! Gathered lookups on PostgreSQL: one statement answers the keys and the documents, over
//! connections of PostgreSQL's own driver (prepared once per connection, rows read without
//! the `Any` conversion).

use super::columns::{self, Holding};
use super::gather::Source;
use crate::Result;
use crate::documents::{COLUMNS, HOLDER_COLUMNS};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

/// Statements in flight at once: while they run, the next checks gather.
pub(super) const IN_FLIGHT: usize = 2;

/// The live keys among `$2`, then the documents under the numbers `$1` with their holders;
/// one row with the keys and empty document columns when no number is found.
static GATHERED_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT ARRAY(SELECT k.id FROM partner_keys k JOIN partners pa ON pa.id = k.partner_id \
         WHERE k.id = ANY($2) AND k.revoked_at IS NULL AND pa.disabled = 0) AS live, \
         {COLUMNS}, {HOLDER_COLUMNS} FROM (SELECT 1) AS one \
         LEFT JOIN (documents d JOIN people p ON p.id = d.person_id) ON d.number = ANY($1)"
    )
});

pub(super) struct Postgres(pub(super) PgPool);

impl Postgres {
    /// Its connections open when first needed.
    pub(super) fn new(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(u32::try_from(IN_FLIGHT).unwrap_or(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options);
        Ok(Postgres(pool))
    }
}

impl Source for Postgres {
    async fn read(
        &self,
        numbers: Vec<String>,
        keys: Vec<String>,
    ) -> Result<(Vec<String>, Vec<Holding>)> {
        let rows = sqlx::query(GATHERED_SQL.as_str())
            .bind(&numbers)
            .bind(&keys)
            .fetch_all(&self.0)
            .await?;
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
}
