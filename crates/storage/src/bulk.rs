//! Building blocks for multi-row statements (bulk inserts and `IN` lookups).

use crate::Result;
use crate::statement::Binds;
use exitentry_domain::states::Lifecycle;
use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments, AssertSqlSafe};

/// Rows per multi-row statement. SQLite looks up each numbered parameter by a linear scan,
/// so binding cost grows with the square of the parameters per statement: keep it small
/// (500 rows per statement made a 1 M-row import 3.3× slower; docs/PERFORMANCE.md).
pub(crate) const BATCH: usize = 50;

/// Inserts `rows` `BATCH` at a time; how many were new. `statement(n)` is the INSERT of `n`
/// rows (its `VALUES` from [`values_list`] or [`values_with_timestamps`]), `values(row)` the
/// values of one row, and `last` the values bound after every row (a shared timestamp).
pub(crate) async fn insert_batches<'a, T, B: Binds>(
    conn: &mut AnyConnection,
    rows: &'a [T],
    statement: impl Fn(usize) -> String,
    values: impl Fn(&'a T) -> B,
    last: impl Binds + Copy,
) -> Result<u64> {
    let mut new = 0;
    for chunk in rows.chunks(BATCH) {
        let mut args = AnyArguments::default();
        for row in chunk {
            values(row).add_to(&mut args).map_err(sqlx::Error::Encode)?;
        }
        last.add_to(&mut args).map_err(sqlx::Error::Encode)?;
        let sql = AssertSqlSafe(statement(chunk.len()));
        new += sqlx::query_with(sql, args)
            .execute(&mut *conn)
            .await?
            .rows_affected();
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

/// `VALUES` rows for `rows` rows of `cols` bound columns each, every row ending with the
/// shared timestamp parameter twice (created_at, updated_at), which is bound last.
pub(crate) fn values_with_timestamps(rows: usize, cols: usize) -> String {
    let now = rows * cols + 1;
    let mut sql = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 1..=cols {
            sql.push_str(&format!("${},", r * cols + c));
        }
        sql.push_str(&format!("${now},${now})"));
    }
    sql
}

/// `VALUES` rows for `rows` rows of `cols` bound columns each.
pub(crate) fn values_list(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders_from(r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn placeholders_from(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `$1,$2,…,$n` for an `IN (…)` list.
pub(crate) fn placeholders(n: usize) -> String {
    placeholders_from(1, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(values_with_timestamps(2, 2), "($1,$2,$5,$5),($3,$4,$5,$5)");
        assert_eq!(values_list(2, 3), "($1,$2,$3),($4,$5,$6)");
        assert_eq!(placeholders(3), "$1,$2,$3");
    }
}
