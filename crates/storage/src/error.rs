//! Storage errors: callers match on meaning (not found, conflict), never on SQL text.

use exitentry_domain::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0}")]
    BadUrl(String),
    #[error("a record with this key already exists: {0}")]
    Conflict(String),
    #[error("stored data is not what the schema promises: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StorageError {
    /// A write's unique-constraint violation as `Conflict` (`what` already exists); other
    /// errors as they are.
    pub(crate) fn or_conflict(self, what: &str) -> Self {
        if let StorageError::Database(sqlx::Error::Database(db)) = &self
            && db.is_unique_violation()
        {
            return StorageError::Conflict(what.to_string());
        }
        self
    }
}

impl From<rusqlite::Error> for StorageError {
    /// As for sqlx: a column the domain refuses to read is `Corrupt`.
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::FromSqlConversionFailure(i, _, source) => {
                corrupt(format!("{i}: {source}"))
            }
            e => StorageError::Sqlite(e),
        }
    }
}

impl From<sqlx::Error> for StorageError {
    /// A column the domain refuses to read (an unknown stored code, see `codes`) is
    /// `Corrupt`, named by its column; every other error stays a database error.
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::ColumnDecode { index, source } if source.is::<Invalid>() => {
                let column = index.trim_matches('"');
                StorageError::Corrupt(format!("{column}: {source}"))
            }
            e => StorageError::Database(e),
        }
    }
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(e.to_string())
}
