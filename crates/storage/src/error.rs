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
