//! A statement and the values bound to it as one call:
//! `changed_one(conn, "UPDATE … WHERE id = $1 AND …", (id, now))`. The values are a tuple
//! in placeholder order (`$1` first); rows come back as `FromRow` structs or single columns.

use crate::Result;
use exitentry_domain::states::Lifecycle;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::{Any, AnyConnection, Arguments, AssertSqlSafe, Encode, FromRow, SqlSafeStr, Type};

/// `SELECT {columns} FROM {from}`: a module's column list with the table and condition of
/// one query.
pub(crate) fn select(columns: &str, from: &str) -> AssertSqlSafe<String> {
    AssertSqlSafe(format!("SELECT {columns} FROM {from}"))
}

/// A row a statement returns: a `FromRow` struct, or a tuple read by position.
pub(crate) trait Row: for<'r> FromRow<'r, AnyRow> + Send + Unpin {}

impl<T: for<'r> FromRow<'r, AnyRow> + Send + Unpin> Row for T {}

/// Values for `$1, $2, …` in order: a tuple (`()` for none).
pub(crate) trait Binds {
    fn add_to(self, args: &mut AnyArguments) -> Result<(), BoxDynError>;

    fn into_args(self) -> Result<AnyArguments, sqlx::Error>
    where
        Self: Sized,
    {
        let mut args = AnyArguments::default();
        self.add_to(&mut args).map_err(sqlx::Error::Encode)?;
        Ok(args)
    }
}

/// `Binds` for tuples of up to 18 values (a macro, because a function cannot take a tuple of
/// any length): one impl for the whole list, then for the list without its first value.
macro_rules! binds_for_tuples {
    () => {
        impl Binds for () {
            fn add_to(self, _: &mut AnyArguments) -> Result<(), BoxDynError> {
                Ok(())
            }
        }
    };
    ($first:ident $($rest:ident)*) => {
        impl<'a, $first, $($rest),*> Binds for ($first, $($rest,)*)
        where
            $first: Encode<'a, Any> + Type<Any>,
            $($rest: Encode<'a, Any> + Type<Any>,)*
        {
            #[allow(non_snake_case)]
            fn add_to(self, args: &mut AnyArguments) -> Result<(), BoxDynError> {
                let ($first, $($rest,)*) = self;
                args.add($first)?;
                $(args.add($rest)?;)*
                Ok(())
            }
        }
        binds_for_tuples!($($rest)*);
    };
}

binds_for_tuples!(A B C D E F G H I J K L M N O P Q R);

/// Runs a statement; how many rows it changed.
pub(crate) async fn execute(
    conn: &mut AnyConnection,
    sql: impl SqlSafeStr,
    binds: impl Binds,
) -> Result<u64> {
    let args = binds.into_args()?;
    let done = sqlx::query_with(sql, args).execute(&mut *conn).await?;
    Ok(done.rows_affected())
}

/// Runs an INSERT; a row that breaks a unique constraint is `Conflict(what)`.
pub(crate) async fn insert_unique(
    conn: &mut AnyConnection,
    sql: impl SqlSafeStr,
    binds: impl Binds,
    what: &str,
) -> Result<()> {
    execute(conn, sql, binds)
        .await
        .map_err(|e| e.or_conflict(what))?;
    Ok(())
}

/// Runs an `INSERT … RETURNING id`: the new row's id; a row that breaks a unique constraint
/// is `Conflict(what)`.
pub(crate) async fn inserted_id(
    conn: &mut AnyConnection,
    sql: impl SqlSafeStr,
    binds: impl Binds,
    what: &str,
) -> Result<i64> {
    scalar(conn, sql, binds)
        .await
        .map_err(|e| e.or_conflict(what))
}

/// Whether the `SELECT COUNT(*)` statement counts any row.
pub(crate) async fn counts_any(
    conn: &mut AnyConnection,
    sql: impl SqlSafeStr,
    binds: impl Binds,
) -> Result<bool> {
    Ok(scalar::<i64>(conn, sql, binds).await? > 0)
}

/// Runs a conditional UPDATE (or an INSERT that may do nothing): whether it changed exactly
/// one row, `false` when the condition no longer held (a concurrent request came first).
pub(crate) async fn changed_one(
    conn: &mut AnyConnection,
    sql: impl SqlSafeStr,
    binds: impl Binds,
) -> Result<bool> {
    Ok(execute(conn, sql, binds).await? == 1)
}

/// Moves row `id` from state `from` to `to`. `sql` is the UPDATE, with `$1` the id, `$2`
/// `from` (in its WHERE), `$3` `to` and `more` from `$4` on; `false` when the row was no
/// longer in `from`, so of two racing requests only one moves it.
pub(crate) async fn transition<'a, S: Lifecycle>(
    conn: &mut AnyConnection,
    sql: &'static str,
    id: impl Encode<'a, Any> + Type<Any>,
    (from, to): (S, S),
    more: impl Binds,
) -> Result<bool> {
    debug_assert!(from.can_become(to), "{from} -> {to}");
    let mut args = (id, from.code(), to.code()).into_args()?;
    more.add_to(&mut args).map_err(sqlx::Error::Encode)?;
    let done = sqlx::query_with(sql, args).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

/// The row the statement finds, if any.
pub(crate) async fn optional<T: Row>(
    conn: &mut AnyConnection,
    sql: impl SqlSafeStr,
    binds: impl Binds,
) -> Result<Option<T>> {
    let args = binds.into_args()?;
    Ok(sqlx::query_as_with(sql, args)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Every row the statement finds.
pub(crate) async fn all<T: Row>(
    conn: &mut AnyConnection,
    sql: impl SqlSafeStr,
    binds: impl Binds,
) -> Result<Vec<T>> {
    let args = binds.into_args()?;
    Ok(sqlx::query_as_with(sql, args).fetch_all(&mut *conn).await?)
}

/// The one row the statement must return (an INSERT … RETURNING, a count).
pub(crate) async fn one<T: Row>(
    conn: &mut AnyConnection,
    sql: impl SqlSafeStr,
    binds: impl Binds,
) -> Result<T> {
    let args = binds.into_args()?;
    Ok(sqlx::query_as_with(sql, args).fetch_one(&mut *conn).await?)
}

/// The first column of the one row the statement must return.
pub(crate) async fn scalar<T>(
    conn: &mut AnyConnection,
    sql: impl SqlSafeStr,
    binds: impl Binds,
) -> Result<T>
where
    (T,): Row,
{
    Ok(one::<(T,)>(conn, sql, binds).await?.0)
}

/// The first column of the row the statement finds, if any.
pub(crate) async fn scalar_optional<T>(
    conn: &mut AnyConnection,
    sql: impl SqlSafeStr,
    binds: impl Binds,
) -> Result<Option<T>>
where
    (T,): Row,
{
    Ok(optional::<(T,)>(conn, sql, binds).await?.map(|(v,)| v))
}

/// The first column of every row the statement finds.
pub(crate) async fn scalars<T>(
    conn: &mut AnyConnection,
    sql: impl SqlSafeStr,
    binds: impl Binds,
) -> Result<Vec<T>>
where
    (T,): Row,
{
    let rows = all::<(T,)>(conn, sql, binds).await?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}
