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
