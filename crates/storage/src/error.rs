//! Storage errors: callers match on meaning (not found, conflict), never on SQL text.

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0}")]
    BadUrl(String),
    #[error("a record with this key already exists: {0}")]
    Conflict(String),
    #[error("stored data is not what the schema promises: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StorageError {
    /// Maps a unique-constraint violation to `Conflict`, leaving other errors as they are.
    pub(crate) fn from_write(e: sqlx::Error, what: &str) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StorageError::Conflict(what.to_string());
        }
        StorageError::Database(e)
    }
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(e.to_string())
}

/// Reads a text column holding a domain code (a lifecycle state) and parses it once: a code
/// the domain does not know is `Corrupt`, never a panic further up.
pub(crate) fn decode<T>(r: &sqlx::any::AnyRow, column: &str) -> Result<T, StorageError>
where
    T: std::str::FromStr<Err = exitentry_domain::Invalid>,
{
    use sqlx::Row;
    let s: String = r.try_get(column)?;
    s.parse()
        .map_err(|e: exitentry_domain::Invalid| StorageError::Corrupt(format!("{column}: {e}")))
}

/// Reads an amount in minor units and its currency column as one `Money`.
pub(crate) fn money(
    r: &sqlx::any::AnyRow,
    cents: &str,
    currency: &str,
) -> Result<exitentry_domain::products::Money, StorageError> {
    use sqlx::Row;
    let code: String = r.try_get(currency)?;
    let currency = exitentry_domain::products::Currency::parse(&code)
        .map_err(|e| StorageError::Corrupt(format!("{currency}: {e}")))?;
    Ok(exitentry_domain::products::Money {
        cents: r.try_get(cents)?,
        currency,
    })
}
