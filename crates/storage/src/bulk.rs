//! Building blocks for multi-row statements (bulk inserts and `IN` lookups).

/// Rows per multi-row statement. SQLite looks up each numbered parameter by a linear scan,
/// so binding cost grows with the square of the parameters per statement: keep it small
/// (500 rows per statement made a 1 M-row import 3.3× slower; docs/PERFORMANCE.md).
pub(crate) const BATCH: usize = 50;

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

/// `$1,$2,…,$n` for an `IN (…)` list.
pub(crate) fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(values_with_timestamps(2, 2), "($1,$2,$5,$5),($3,$4,$5,$5)");
        assert_eq!(placeholders(3), "$1,$2,$3");
    }
}
