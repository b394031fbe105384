//! Building blocks for multi-row statements (bulk inserts and `IN` lookups).

use crate::statement::Binds;
use crate::{Result, StorageError};
use exitentry_domain::states::Lifecycle;
use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments, AssertSqlSafe};
use std::fmt::Write;

/// Parameters per multi-row statement (SQLite allows 32,766, PostgreSQL 65,535).
const PARAMS: usize = 6_000;

/// Keys per `IN (…)` lookup.
pub(crate) const LOOKUP_BATCH: usize = 500;

/// What bulk statements write differently per backend. SQLite gets plain `?` marks: sqlx looks
/// every numbered mark up by name and SQLite finds a name by a linear scan, so binding `$n`
/// grows with the square of the parameters per statement (docs/PERFORMANCE.md). PostgreSQL
/// needs `$n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Anonymous,
    Numbered,
}

impl Dialect {
    pub(crate) fn of(conn: &AnyConnection) -> Dialect {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Dialect::Numbered
        } else {
            Dialect::Anonymous
        }
    }

    /// `n` marks from parameter `first` on, comma-separated.
    pub(crate) fn list(self, first: usize, n: usize) -> String {
        let mut sql = String::with_capacity(n * 6);
        self.push_list(&mut sql, first, n);
        sql
    }

    /// `VALUES` rows: `rows` rows of `cols` parameters each.
    pub(crate) fn rows(self, rows: usize, cols: usize) -> String {
        let mut sql = String::with_capacity(rows * (cols * 6 + 3));
        for r in 0..rows {
            if r > 0 {
                sql.push(',');
            }
            sql.push('(');
            self.push_list(&mut sql, r * cols + 1, cols);
            sql.push(')');
        }
        sql
    }

    fn push_list(self, sql: &mut String, first: usize, n: usize) {
        for i in first..first + n {
            if i > first {
                sql.push(',');
            }
            match self {
                Dialect::Anonymous => sql.push('?'),
                Dialect::Numbered => {
                    let _ = write!(sql, "${i}");
                }
            }
        }
    }
}

/// Inserts `rows` in multi-row statements; how many were new. `statement(dialect, n)` is the
/// INSERT of `n` rows (its `VALUES` from [`Dialect::rows`] with `cols` parameters a row),
/// `values(row)` the values of one row, and `after` values bound after every row (the
/// timestamps, say).
pub(crate) async fn insert_batches<'a, T, B: Binds>(
    conn: &mut AnyConnection,
    rows: &'a [T],
    cols: usize,
    statement: impl Fn(Dialect, usize) -> String,
    values: impl Fn(&'a T) -> B,
    after: impl Binds + Copy,
) -> Result<u64> {
    let dialect = Dialect::of(conn);
    let mut new = 0;
    for chunk in rows.chunks((PARAMS / cols).max(1)) {
        let mut args = AnyArguments::default();
        for row in chunk {
            values(row).add_to(&mut args).map_err(sqlx::Error::Encode)?;
            after.add_to(&mut args).map_err(sqlx::Error::Encode)?;
        }
        let sql = AssertSqlSafe(statement(dialect, chunk.len()));
        new += sqlx::query_with(sql, args)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(new)
}

/// Inserts rows the caller has checked are all new (an import): each must go in, and a clash
/// with a key already there is a `Conflict` named by `what`. `into` is the table and its
/// columns. SQLite writes them `OR IGNORE` and compares the count: a multi-row statement that
/// may abort half-way keeps a journal of every page it changes, a third of an import's time.
pub(crate) async fn insert_all_new<'a, T, B: Binds>(
    conn: &mut AnyConnection,
    rows: &'a [T],
    (into, cols): (&str, usize),
    values: impl Fn(&'a T) -> B,
    after: impl Binds + Copy,
    what: &str,
) -> Result<u64> {
    let statement = |dialect: Dialect, n| {
        let verb = match dialect {
            Dialect::Anonymous => "INSERT OR IGNORE",
            Dialect::Numbered => "INSERT",
        };
        format!("{verb} INTO {into} VALUES {}", dialect.rows(n, cols))
    };
    let new = insert_batches(conn, rows, cols, statement, values, after)
        .await
        .map_err(|e| e.or_conflict(what))?;
    if new < rows.len() as u64 {
        return Err(StorageError::Conflict(what.to_string()));
    }
    Ok(new)
}

/// How many rows `sql` counts; it ends in `IN`, and the list is the codes of `states`,
/// bound after `binds` (the states of a lifecycle that count as open, say).
pub(crate) async fn count_in_states<S: Lifecycle>(
    conn: &mut AnyConnection,
    sql: &str,
    binds: impl Binds,
    states: impl IntoIterator<Item = S>,
) -> Result<i64> {
    let mut args = binds.into_args()?;
    let codes: Vec<&str> = states.into_iter().map(Lifecycle::code).collect();
    let list = placeholders_from(args.len() + 1, codes.len());
    for code in codes {
        args.add(code).map_err(sqlx::Error::Encode)?;
    }
    let sql = AssertSqlSafe(format!("{sql} ({list})"));
    Ok(sqlx::query_scalar_with(sql, args)
        .fetch_one(&mut *conn)
        .await?)
}

/// `$first,…` for statements that serve both dialects with numbered marks.
pub(crate) fn placeholders_from(first: usize, n: usize) -> String {
    Dialect::Numbered.list(first, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(Dialect::Numbered.rows(2, 3), "($1,$2,$3),($4,$5,$6)");
        assert_eq!(Dialect::Anonymous.rows(2, 2), "(?,?),(?,?)");
        assert_eq!(Dialect::Numbered.list(4, 3), "$4,$5,$6");
        assert_eq!(Dialect::Anonymous.list(4, 3), "?,?,?");
    }
}
