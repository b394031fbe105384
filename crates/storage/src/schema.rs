//! Introspection of the live schema, so a test can prove both backends' migrations
//! produce the same tables and columns.

use crate::{Backend, Db, Result};
use sqlx::Row;
use std::collections::BTreeSet;

/// `(table, column, nullable)` for every user table, sorted.
pub async fn columns(db: &Db) -> Result<BTreeSet<(String, String, bool)>> {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT m.name AS t, p.name AS c, CASE WHEN p.\"notnull\" = 0 AND p.pk = 0 THEN 1 ELSE 0 END AS n \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS t, column_name::text AS c, \
             CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END::bigint AS n \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'"
        }
    };
    let rows = sqlx::query(sql).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("t")?,
                r.try_get::<String, _>("c")?,
                r.try_get::<i64, _>("n")? != 0,
            ))
        })
        .collect()
}
